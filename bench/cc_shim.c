/* cc_shim.c - LD_PRELOAD for the rawtcp benchmark: every listening socket of the process gets
 * the TCP congestion control named in BENCH_CC (e.g. cubic) before listen(), so the sockets it
 * accepts inherit it. Per-socket only (no sysctl changes); run.sh gives both servers (ws_echo
 * and tcp_echo) the same one. Why: this VM's default, BBR, paces each socket at a rate it
 * estimates in its start-up phase, and that rate differs by up to 30x between connections
 * and runs of the same server (bench/RESULTS.md); CPU per message follows the pacing rate.
 *   LD_PRELOAD=build/cc_shim.so BENCH_CC=cubic build/ws_echo 9001 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int listen(int fd, int backlog) {
    static int (*real)(int, int);
    const char *cc = getenv("BENCH_CC");
    if (!real) real = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
    if (cc && *cc) (void)setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc));
    return real(fd, backlog);
}
