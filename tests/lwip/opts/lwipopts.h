/* lwipopts.h - Debian's lwIP options (its Unix port, T_SYSTEM_LWIPOPTS), with the socket
 * name options that `make lwip` varies: -DT_COMPAT=0|1|2 -DT_IO_NAMES=0|1. */
#include T_SYSTEM_LWIPOPTS
#ifdef T_COMPAT
#  undef LWIP_COMPAT_SOCKETS
#  define LWIP_COMPAT_SOCKETS T_COMPAT
#endif
#ifdef T_IO_NAMES
#  undef LWIP_POSIX_SOCKETS_IO_NAMES
#  define LWIP_POSIX_SOCKETS_IO_NAMES T_IO_NAMES
#endif
#ifdef T_NETIF_LOOPBACK   /* lwIP's default is 0 (Debian's build: 1) */
#  undef LWIP_NETIF_LOOPBACK
#  define LWIP_NETIF_LOOPBACK T_NETIF_LOOPBACK
#endif
