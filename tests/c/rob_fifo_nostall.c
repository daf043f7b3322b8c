/* Robustness: opens that wait (FIFOs with no writer) do not stall the
 * others. NFIFO threads each open their own FIFO for reading and block in
 * the supervisor; meanwhile the main thread does NOPEN opens of an ordinary
 * file, then opens each FIFO for writing to release its reader.
 * A watchdog (alarm) ends the program if anything hangs.
 *
 * Usage: rob_fifo_nostall DIR NFIFO NOPEN FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXF 16

static char fifo[MAXF][4096];
static int got[MAXF];
static int done_count;

static void *reader(void *arg) {
    long i = (long)arg;
    int fd = open(fifo[i], O_RDONLY);
    if (fd < 0) {
        printf("reader%ld open=%s\n", i, strerror(errno));
        return NULL;
    }
    char c = 0;
    if (read(fd, &c, 1) == 1 && c == 'x')
        got[i] = 1;
    close(fd);
    __atomic_add_fetch(&done_count, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 5)
        return 2;
    alarm(30);
    int nf = atoi(argv[2]);
    int nopen = atoi(argv[3]);
    if (nf > MAXF)
        nf = MAXF;
    pthread_t t[MAXF];
    for (long i = 0; i < nf; i++) {
        snprintf(fifo[i], sizeof fifo[i], "%s/fifo%ld", argv[1], i);
        unlink(fifo[i]);
        if (mkfifo(fifo[i], 0600) != 0) {
            printf("mkfifo: %s\n", strerror(errno));
            return 3;
        }
        pthread_create(&t[i], NULL, reader, (void *)i);
    }
    usleep(300000); /* let the readers reach the supervisor */
    double t0 = now();
    int ok = 0;
    for (int i = 0; i < nopen; i++) {
        int fd = open(argv[4], O_RDONLY);
        if (fd >= 0) {
            ok++;
            close(fd);
        }
    }
    double t1 = now();
    printf("opens_ok=%d of %d in %.3f s\n", ok, nopen, t1 - t0);
    printf("readers_done_before_release=%d\n", __atomic_load_n(&done_count, __ATOMIC_SEQ_CST));
    for (int i = 0; i < nf; i++) {
        int fd = open(fifo[i], O_WRONLY);
        if (fd < 0) {
            printf("writer%d open=%s\n", i, strerror(errno));
            continue;
        }
        (void)!write(fd, "x", 1);
        close(fd);
    }
    int readers_ok = 0;
    for (int i = 0; i < nf; i++) {
        pthread_join(t[i], NULL);
        readers_ok += got[i];
    }
    printf("readers_ok=%d of %d\n", readers_ok, nf);
    return 0;
}
