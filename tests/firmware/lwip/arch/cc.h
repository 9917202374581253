/* arch/cc.h - lwIP's compiler/platform port for a newlib Cortex-M (see lwipopts.h). */
#ifndef T_ARCH_CC_H
#define T_ARCH_CC_H
#include <sys/time.h>
#ifndef BYTE_ORDER   /* newlib's <sys/time.h> may have it */
#  define BYTE_ORDER LITTLE_ENDIAN
#endif
#define LWIP_PLATFORM_DIAG(x)   do { } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { } while (0)
#define LWIP_RAND() ((u32_t)0x12345678u)   /* lwIP's port numbers only; ws.h uses WS_RANDOM */
typedef unsigned int sys_prot_t;
#endif
