/* Robustness: many threads wait at once in opens of one FIFO with no
 * writer (each served by a thread of fdsup's own, all asking the kernel
 * about their requests under one lock), then one writer releases them all.
 * Every reader must get its descriptor: a waiting open ends only when its
 * other end comes or a signal interrupts it, never with an error of
 * fdsup's making.
 *
 * Usage: rob_fifo_crowd FIFO NTHREADS
 * Prints "readers_ok=N of M", one "reader_err=ERRNO" line per failure,
 * and "nofile_soft=N" (its soft limit of descriptors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *fifo;
static int ok, started;

static void *reader(void *arg) {
    (void)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    int fd = open(fifo, O_RDONLY);
    if (fd < 0) {
        printf("reader_err=%s\n", strerror(errno));
        return NULL;
    }
    __atomic_add_fetch(&ok, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3)
        return 2;
    alarm(60);
    fifo = argv[1];
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        printf("nofile_soft=%llu\n", (unsigned long long)rl.rlim_cur);
    int n = atoi(argv[2]);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 * 1024);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&t[i], &at, reader, NULL) != 0) {
            printf("pthread_create failed at %d\n", i);
            return 3;
        }
    }
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n)
        usleep(10000);
    /* Let them all wait a while: each waiting thread of fdsup looks at its
     * request every so often. */
    sleep(3);
    int w = open(fifo, O_WRONLY);
    if (w < 0) {
        printf("writer_err=%s\n", strerror(errno));
        return 4;
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("readers_ok=%d of %d\n", ok, n);
    return 0;
}
