/* A blocking datagram send whose receiver's queue is full waits, also
 * when fdsup sends it through a twin (under `isolate`, the first send of
 * an unbound datagram socket to an allowed address outside); run natively
 * and under fdsup by tests/tests/functional_net_twin_wait.rs.
 *
 *   net_twin_wait NAME
 *
 * The test binds the abstract Unix datagram name NAME and reads nothing
 * until the file `go` appears in the working directory, then everything.
 * One socket fills its queue (MSG_DONTWAIT until EAGAIN); then fresh
 * unbound blocking sockets send to it:
 *   timeout_sendto, timeout_sendmmsg   with SO_SNDTIMEO of 200 ms: EAGAIN
 *                                      after the timeout;
 *   blocking_sendto                    without: waits until the test reads
 *                                      (a thread creates `go` after 300 ms)
 *                                      and sends.
 * Prints `name=OK|ERR:<errno name>` and `name_time=OK` when the call took
 * from 150 ms to 4 s (else the milliseconds); an alarm after 5 s ends a
 * call that never returns (EINTR).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void on_alarm(int sig) { (void)sig; }

static void report(const char *name, long r, double t0) {
    int e = errno;
    double ms = now_ms() - t0;
    alarm(0);
    if (r < 0)
        printf("%s=ERR:%s\n", name, strerrorname_np(e));
    else
        printf("%s=OK\n", name);
    if (ms >= 150 && ms < 4000)
        printf("%s_time=OK\n", name);
    else
        printf("%s_time=%.0f\n", name, ms);
    fflush(stdout);
}

static void *go_later(void *arg) {
    (void)arg;
    usleep(300000);
    close(open("go", O_CREAT | O_WRONLY, 0644));
    return NULL;
}

static int fresh(int timeout) {
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (timeout) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART */
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(argv[1]);
    if (n > sizeof a.sun_path - 1)
        return 2;
    memcpy(a.sun_path + 1, argv[1], n);
    socklen_t l = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    char buf[100] = {0};

    int f = socket(AF_UNIX, SOCK_DGRAM, 0), sent = 0;
    long r;
    while ((r = sendto(f, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&a, l)) > 0 &&
           sent < 100000)
        sent++;
    printf("fill=%s\n", sent > 0 && r < 0 && errno == EAGAIN ? "OK" : strerrorname_np(errno));

    int s = fresh(1);
    alarm(5);
    double t0 = now_ms();
    r = sendto(s, buf, sizeof buf, 0, (struct sockaddr *)&a, l);
    report("timeout_sendto", r, t0);

    s = fresh(1);
    struct iovec v = {buf, sizeof buf};
    struct mmsghdr mm = {.msg_hdr = {.msg_name = &a, .msg_namelen = l, .msg_iov = &v, .msg_iovlen = 1}};
    alarm(5);
    t0 = now_ms();
    r = sendmmsg(s, &mm, 1, 0);
    report("timeout_sendmmsg", r, t0);

    s = fresh(0);
    pthread_t t;
    pthread_create(&t, NULL, go_later, NULL);
    alarm(5);
    t0 = now_ms();
    r = sendto(s, buf, sizeof buf, 0, (struct sockaddr *)&a, l);
    report("blocking_sendto", r, t0);
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
