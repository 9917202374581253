/* lwipopts.h - the lwIP configuration of a typical RTOS firmware (NO_SYS=0, lwIP's own socket
 * headers, DNS, IPv6), for compiling ws.h with WS_LWIP for a Cortex-M (make firmware). Every
 * other option keeps lwIP's default. T_COMPAT / T_IO_NAMES pick LWIP_COMPAT_SOCKETS and
 * LWIP_POSIX_SOCKETS_IO_NAMES, so each combination is compiled. */
#ifndef T_LWIPOPTS_H
#define T_LWIPOPTS_H
#define NO_SYS                 0
#define LWIP_SOCKET            1
#define LWIP_NETCONN           1
#ifndef T_LWIP_DEFAULTS      /* -DT_LWIP_DEFAULTS: lwIP's own (no DNS, no IPv6) */
#define LWIP_DNS               1
#define LWIP_IPV6              1
#endif
#define LWIP_ERRNO_STDINCLUDE  1
#define LWIP_TIMEVAL_PRIVATE   0   /* newlib has struct timeval */
#ifdef T_COMPAT
#  define LWIP_COMPAT_SOCKETS  T_COMPAT
#endif
#ifdef T_IO_NAMES
#  define LWIP_POSIX_SOCKETS_IO_NAMES T_IO_NAMES
#endif
#endif
