/* arch/sys_arch.h - lwIP's OS port types (an RTOS would give its semaphores and queues). */
#ifndef T_ARCH_SYS_ARCH_H
#define T_ARCH_SYS_ARCH_H
typedef struct t_sys_sem   *sys_sem_t;
typedef struct t_sys_mutex *sys_mutex_t;
typedef struct t_sys_mbox  *sys_mbox_t;
typedef struct t_sys_thread *sys_thread_t;
#define sys_sem_valid(s)           (*(s) != NULL)
#define sys_sem_set_invalid(s)     (*(s) = NULL)
#define sys_mutex_valid(m)         (*(m) != NULL)
#define sys_mutex_set_invalid(m)   (*(m) = NULL)
#define sys_mbox_valid(m)          (*(m) != NULL)
#define sys_mbox_set_invalid(m)    (*(m) = NULL)
#define SYS_MBOX_NULL NULL
#define SYS_SEM_NULL  NULL
#endif
