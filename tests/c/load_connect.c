/* Network load for the supervisor (tests/tests/load_network.rs).
 *
 * load_connect PORT CONCURRENT LOOP: talks with the test over stdin and
 * stdout, one line each way per step, so that the test can sample fdsup
 * between the steps:
 *   "ready"            then waits for a line;
 *   "open N"           CONCURRENT threads released at once have each made a
 *                      blocking connect to 127.0.0.1:PORT (N succeeded) and
 *                      hold their connection; then waits for a line;
 *   "loop N NS"        the connections closed, LOOP connects (each a new
 *                      socket, connected, closed) made one after the other:
 *                      N succeeded, in NS nanoseconds; then waits for a line
 *                      and exits 0.
 * A failure prints "ERR what errno" and exits 1.
 *
 * load_connect serve: the server, run natively by the test: listens on
 * 127.0.0.1 with a backlog the loop cannot overflow (a full accept queue
 * drops connections, and a dropped SYN costs its client a second), prints
 * the port, accepts forever and keeps the last 256 connections open (so
 * that the concurrent ones stay connected at both ends).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;
static pthread_barrier_t start;
static int *fds;

static void step(const char *fmt, long a, long b) {
    char line[64];
    printf(fmt, a, b);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) exit(1);
}

static int connect_one(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        close(s);
        return -e;
    }
    return s;
}

static void *worker(void *arg) {
    long i = (long)arg;
    pthread_barrier_wait(&start);
    fds[i] = connect_one();
    return NULL;
}

static int serve(void) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0) {
        printf("ERR serve %d\n", errno);
        return 1;
    }
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    int held[256];
    for (int i = 0; i < 256; i++) held[i] = -1;
    for (unsigned long n = 0;; n++) {
        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        if (held[n % 256] >= 0) close(held[n % 256]);
        held[n % 256] = c;
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
    if (argc != 4) return 2;
    long conc = atol(argv[2]), loop = atol(argv[3]);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fds = calloc((size_t)conc, sizeof *fds);
    pthread_t *th = calloc((size_t)conc, sizeof *th);
    if (!fds || !th) return 1;
    step("ready\n", 0, 0);

    pthread_barrier_init(&start, NULL, (unsigned)conc);
    for (long i = 0; i < conc; i++) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 64 << 10);
        int e = pthread_create(&th[i], &at, worker, (void *)i);
        if (e) {
            printf("ERR pthread_create %d\n", e);
            return 1;
        }
    }
    long ok = 0;
    int first_err = 0;
    for (long i = 0; i < conc; i++) {
        pthread_join(th[i], NULL);
        if (fds[i] >= 0) ok++;
        else if (!first_err) first_err = -fds[i];
    }
    if (ok != conc) {
        printf("ERR concurrent-connect %d\n", first_err);
        return 1;
    }
    step("open %ld\n", ok, 0);
    for (long i = 0; i < conc; i++) close(fds[i]);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ok = 0;
    for (long i = 0; i < loop; i++) {
        int s = connect_one();
        if (s < 0) {
            printf("ERR loop-connect %d\n", -s);
            return 1;
        }
        close(s);
        ok++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    step("loop %ld %ld\n", ok, ns);
    return 0;
}
