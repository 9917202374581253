/* startup.c - the least a Cortex-M program needs under QEMU (mps2-an385 / mps2-an386):
 * a vector table, a reset handler that clears .bss, and semihosting for stdio (newlib's
 * librdimon) and for the exit status (SYS_EXIT_EXTENDED, so `make firmware` sees failures).
 * Link: -nostartfiles -T mps2.ld --specs=rdimon.specs startup.c test.c */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern char __bss_start__[], __bss_end__[], __stack_top[];
extern void initialise_monitor_handles(void);
int main(void);
void ws_fw_reset(void);
void ws_fw_fault(void);
void ws_fw_exit(int code);

/* SYS_EXIT_EXTENDED (0x20): the status reaches QEMU's own exit code (semihosting v2). */
void ws_fw_exit(int code) {
    uint32_t block[2];
    block[0] = 0x20026u;   /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)code;
    for (;;) {
        register uint32_t r0 __asm__("r0") = 0x20u;
        register uint32_t *r1 __asm__("r1") = block;
        __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    }
}

void ws_fw_fault(void) {   /* any fault: say so and fail (e.g. a stack overflow) */
    static const char msg[] = "FAULT: hard fault or unexpected exception\n";
    register uint32_t r0 __asm__("r0") = 0x04u;   /* SYS_WRITE0 */
    register const char *r1 __asm__("r1") = msg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    ws_fw_exit(3);
}

void ws_fw_reset(void) {
    int rc;
    memset(__bss_start__, 0, (size_t)(__bss_end__ - __bss_start__));
    initialise_monitor_handles();
    rc = main();
    fflush(stdout);
    ws_fw_exit(rc);
}

__attribute__((section(".vectors"), used))
static void (*const ws_fw_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top, ws_fw_reset,
    ws_fw_fault, ws_fw_fault, ws_fw_fault, ws_fw_fault, ws_fw_fault, /* NMI HardFault MemManage BusFault UsageFault */
    0, 0, 0, 0, ws_fw_fault, ws_fw_fault, 0, ws_fw_fault, ws_fw_fault /* SVC DebugMon PendSV SysTick */
};
