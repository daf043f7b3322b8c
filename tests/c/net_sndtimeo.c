/* Blocking sends and connects on sockets with a send timeout
 * (SO_SNDTIMEO of 200 ms) to a peer that never reads or never accepts,
 * run natively and under fdsup by tests/tests/functional_net_sndtimeo.rs.
 * Each call prints `name=value` (PARTIAL for a send that sent some but not
 * all, OK, or ERR:<errno name>) and `name_time=OK` when it returned within
 * [150 ms, 2 s], else `name_time=<ms>`. An alarm after 5 s ends a call
 * that does not time out (ERR:EINTR), so that a wrong build fails rather
 * than hangs.
 *
 *   net_sndtimeo unix_stream        a Unix stream socketpair
 *   net_sndtimeo unix_dgram         a Unix datagram socketpair, queue full
 *                                   (sendmsg, then sendmmsg)
 *   net_sndtimeo unix_connect       a Unix listener (in the working
 *                                   directory) whose backlog is full
 *   net_sndtimeo tcp PORT           a TCP connection to 127.0.0.1:PORT,
 *                                   where nobody reads
 *   net_sndtimeo tcp_connect PORT   127.0.0.1:PORT listens with a backlog
 *                                   of 0 that is full (SYNs are dropped)
 *   net_sndtimeo abstract_connect NAME
 *                                   the abstract Unix name NAME listens
 *                                   with a backlog of 0 that is full
 *   net_sndtimeo listen tcp|NAME    (run natively, by the test) listens on
 *                                   127.0.0.1 (a port of the kernel's) or
 *                                   the abstract name NAME with a backlog
 *                                   of 0, never accepts, prints `port=N`
 *                                   (0 for a name) and waits for standard
 *                                   input to close
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BIG (8 << 20)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void on_alarm(int sig) { (void)sig; }

static void timeout_200ms(int s) {
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        perror("SO_SNDTIMEO");
        exit(2);
    }
}

/* Prints the outcome of a call that returned `r` (errno set if < 0) after
 * starting at `t0`; `len` is what a send asked to send (0: not a send). */
static void report(const char *name, long r, size_t len, double t0) {
    int e = errno;
    double ms = now_ms() - t0;
    alarm(0);
    if (r < 0)
        printf("%s=ERR:%s\n", name, strerrorname_np(e));
    else if (len && (size_t)r < len)
        printf("%s=PARTIAL\n", name);
    else
        printf("%s=OK\n", name);
    if (ms >= 150 && ms < 2000)
        printf("%s_time=OK\n", name);
    else
        printf("%s_time=%.0f\n", name, ms);
    fflush(stdout);
}

/* A blocking sendmsg of `len` bytes (always trapped under fdsup), timed. */
static void timed_send(const char *name, int s, char *buf, size_t len) {
    struct iovec v = {buf, len};
    struct msghdr mh = {.msg_iov = &v, .msg_iovlen = 1};
    alarm(5);
    double t0 = now_ms();
    long r = sendmsg(s, &mh, MSG_NOSIGNAL);
    report(name, r, len, t0);
}

static void timed_connect(const char *name, int s, const struct sockaddr *a, socklen_t l) {
    alarm(5);
    double t0 = now_ms();
    long r = connect(s, a, l);
    report(name, r, 0, t0);
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static socklen_t abstract(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n > sizeof a->sun_path - 1)
        n = sizeof a->sun_path - 1;
    memcpy(a->sun_path + 1, name, n);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int listen_helper(const char *what) {
    int s, port = 0;
    if (!strcmp(what, "tcp")) {
        struct sockaddr_in a = loopback(0);
        socklen_t l = sizeof a;
        s = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(s, (struct sockaddr *)&a, l) || listen(s, 0) ||
            getsockname(s, (struct sockaddr *)&a, &l))
            return 2;
        port = ntohs(a.sin_port);
    } else {
        struct sockaddr_un a;
        socklen_t l = abstract(&a, what);
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(s, (struct sockaddr *)&a, l) || listen(s, 0))
            return 2;
    }
    printf("port=%d\n", port);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}

int main(int argc, char **argv) {
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART */
    signal(SIGPIPE, SIG_IGN);
    char *buf = calloc(1, BIG);
    if (argc < 2 || !buf)
        return 2;
    const char *mode = argv[1];
    int port = argc > 2 ? atoi(argv[2]) : 0;

    if (!strcmp(mode, "listen") && argc > 2) {
        return listen_helper(argv[2]);
    } else if (!strcmp(mode, "unix_stream")) {
        int p[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, p);
        timeout_200ms(p[0]);
        /* Some fits: the count of what did; then nothing fits: EAGAIN. */
        timed_send("unix_stream_first", p[0], buf, BIG);
        timed_send("unix_stream_full", p[0], buf, BIG);
    } else if (!strcmp(mode, "unix_dgram")) {
        int p[2];
        socketpair(AF_UNIX, SOCK_DGRAM, 0, p);
        timeout_200ms(p[0]);
        int n = 0;
        while (send(p[0], buf, 100, MSG_DONTWAIT) == 100 && n < 100000)
            n++;
        timed_send("unix_dgram_full", p[0], buf, 100);
        /* sendmmsg waits for its first message the same way. */
        struct iovec v = {buf, 100};
        struct mmsghdr mm = {.msg_hdr = {.msg_iov = &v, .msg_iovlen = 1}};
        alarm(5);
        double t0 = now_ms();
        long r = sendmmsg(p[0], &mm, 1, 0);
        report("unix_dgram_mmsg", r, 0, t0);
    } else if (!strcmp(mode, "unix_connect")) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strcpy(a.sun_path, "full.sock");
        socklen_t l = offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1;
        int ls = socket(AF_UNIX, SOCK_STREAM, 0);
        if (bind(ls, (struct sockaddr *)&a, l) || listen(ls, 0)) {
            perror("listen");
            return 2;
        }
        for (int i = 0; i < 8; i++) {
            int f = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (connect(f, (struct sockaddr *)&a, l) != 0 && errno == EAGAIN)
                break;
        }
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        timeout_200ms(c);
        timed_connect("unix_connect_full", c, (struct sockaddr *)&a, l);
    } else if (!strcmp(mode, "tcp")) {
        struct sockaddr_in a = loopback(port);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        int small = 65536;
        setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
            perror("connect");
            return 2;
        }
        timeout_200ms(c);
        timed_send("tcp_first", c, buf, BIG);
        timed_send("tcp_full", c, buf, BIG);
    } else if (!strcmp(mode, "tcp_connect")) {
        struct sockaddr_in a = loopback(port);
        /* The first connection fills the backlog of 0; the next SYNs are
         * dropped, so a connect stays in progress. */
        for (int i = 0; i < 2; i++) {
            int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            connect(f, (struct sockaddr *)&a, sizeof a);
            usleep(50000);
        }
        int c = socket(AF_INET, SOCK_STREAM, 0);
        timeout_200ms(c);
        timed_connect("tcp_connect_full", c, (struct sockaddr *)&a, sizeof a);
        /* Again, while that one is in progress: the kernel waits for it as
         * long, then says EALREADY. */
        timed_connect("tcp_connect_again", c, (struct sockaddr *)&a, sizeof a);
    } else if (!strcmp(mode, "abstract_connect") && argc > 2) {
        struct sockaddr_un a;
        socklen_t l = abstract(&a, argv[2]);
        for (int i = 0; i < 8; i++) {
            int f = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (connect(f, (struct sockaddr *)&a, l) != 0 && errno == EAGAIN)
                break;
        }
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        timeout_200ms(c);
        timed_connect("abstract_connect_full", c, (struct sockaddr *)&a, l);
    } else {
        return 2;
    }
    printf("done\n");
    return 0;
}
