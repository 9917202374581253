/* tinyproxy.h - a real HTTP CONNECT proxy for the proxy tests (test_proxy.c, test_tls.c):
 * tinyproxy (Debian package tinyproxy; $TINYPROXY names another binary) started here on
 * 127.0.0.1 with a config of our own in a fresh temporary directory, optionally with BasicAuth
 * and ConnectPort, and stopped (SIGTERM, then SIGKILL) by tproxy_stop. POSIX only.
 * Not found: tproxy_start prints SKIPPED and fails the test under CI=true. */
#ifndef WS_TINYPROXY_H
#define WS_TINYPROXY_H
#ifndef _WIN32
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

typedef struct tproxy { pid_t pid; uint16_t port; char dir[64], conf[96], log[96]; } tproxy;

static const char *tproxy_bin(void) {
    static const char *const cand[] = { "/usr/bin/tinyproxy", "/usr/sbin/tinyproxy", "/usr/local/bin/tinyproxy" };
    const char *e = getenv("TINYPROXY");
    size_t i;
    if (e && *e) return access(e, X_OK) == 0 ? e : NULL;
    for (i = 0; i < sizeof cand / sizeof cand[0]; i++) if (access(cand[i], X_OK) == 0) return cand[i];
    return NULL;
}

/* A port nobody listens on right now (the kernel's pick for a socket bound to port 0). */
static uint16_t tproxy_free_port(void) {
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    uint16_t port = 0;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &n) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

static int tproxy_accepts(uint16_t port) {   /* 1 once something listens on 127.0.0.1:port */
    struct sockaddr_in a;
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;
    if (s < 0) return 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static void tproxy_stop(tproxy *p) {
    int st, i;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        for (i = 0; i < 500 && waitpid(p->pid, &st, WNOHANG) == 0; i++) poll(NULL, 0, 10);
        if (i == 500) { kill(p->pid, SIGKILL); waitpid(p->pid, &st, 0); }
        p->pid = 0;
    }
    if (p->dir[0]) { unlink(p->conf); unlink(p->log); rmdir(p->dir); p->dir[0] = '\0'; }
}

/* Starts tinyproxy; user/pass (or NULL) = BasicAuth, connect_port (or 0) = the only port
 * CONNECT may reach. 1 = running on p->port; 0 = not started (SKIPPED was said, or the test
 * failed). Waits (polling, capped at 10 s) until the proxy accepts connections. */
static int tproxy_start(tproxy *p, const char *test, const char *user, const char *pass, int connect_port) {
    const char *bin = tproxy_bin();
    FILE *f;
    int attempt;
    memset(p, 0, sizeof *p);
    if (!bin) {
        printf("  ****************************************************************\n"
               "  SKIPPED: %s: tinyproxy not found (apt-get install tinyproxy)\n"
               "  ****************************************************************\n", test);
        CHECK(getenv("CI") == NULL || strcmp(getenv("CI"), "true") != 0);
        t_skip = 1;
        return 0;
    }
    strcpy(p->dir, "/tmp/ws-tinyproxy-XXXXXX");
    if (!mkdtemp(p->dir)) { p->dir[0] = '\0'; CHECK(0); return 0; }
    snprintf(p->conf, sizeof p->conf, "%s/tinyproxy.conf", p->dir);
    snprintf(p->log, sizeof p->log, "%s/tinyproxy.log", p->dir);
    for (attempt = 0; attempt < 3; attempt++) {   /* the free port may be taken meanwhile */
        char *argv[5];
        posix_spawn_file_actions_t fa;
        int64_t end;
        int st;
        p->port = tproxy_free_port();
        f = fopen(p->conf, "w");
        if (!f || !p->port) { if (f) fclose(f); CHECK(0); tproxy_stop(p); return 0; }
        fprintf(f, "Port %u\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nAllow 127.0.0.1\n"
                   "LogLevel Info\nLogFile \"%s\"\n", (unsigned)p->port, p->log);
        if (user) fprintf(f, "BasicAuth %s %s\n", user, pass);
        if (connect_port) fprintf(f, "ConnectPort %d\n", connect_port);
        fclose(f);
        argv[0] = (char *)"tinyproxy"; argv[1] = (char *)"-d"; argv[2] = (char *)"-c"; argv[3] = p->conf;
        argv[4] = NULL;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        if (posix_spawn(&p->pid, bin, &fa, NULL, argv, NULL) != 0) p->pid = 0;
        posix_spawn_file_actions_destroy(&fa);
        if (p->pid <= 0) { printf("  %s: could not start %s\n", test, bin); CHECK(0); tproxy_stop(p); return 0; }
        end = ws__now_ms() + 10000;
        while (ws__now_ms() < end && waitpid(p->pid, &st, WNOHANG) == 0) {
            if (tproxy_accepts(p->port)) return 1;
            poll(NULL, 0, 10);   /* tinyproxy has no readiness signal: ask again shortly */
        }
        if (waitpid(p->pid, &st, WNOHANG) == 0) break;   /* alive but never listening */
        p->pid = 0;   /* exited (port taken?): try another port */
    }
    printf("  %s: tinyproxy did not start listening (config %s)\n", test, p->conf);
    CHECK(0);
    tproxy_stop(p);
    return 0;
}
#endif /* _WIN32 */
#endif
