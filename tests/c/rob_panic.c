/* Robustness: the supervisor's handler panics on one path (the debug build's
 * FDSUP_TEST_PANIC_PATH hook). That open must fail (EACCES), and the program
 * must go on with every other open served, then exit with its own status.
 *
 * Usage: rob_panic PANIC_PATH ALLOWED_FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static const char *boom, *ok;
static int thread_ok;

static void *opener(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        int fd = open(ok, O_RDONLY);
        if (fd >= 0) {
            __atomic_add_fetch(&thread_ok, 1, __ATOMIC_RELAXED);
            close(fd);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3)
        return 2;
    boom = argv[1];
    ok = argv[2];
    /* More panics than the supervisor has workers, with ordinary opens
     * from other threads at the same time. */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, opener, NULL);
    for (int i = 0; i < 20; i++) {
        int fd = open(boom, O_RDONLY);
        printf("boom%d=%s\n", i, fd >= 0 ? "OK" : ename(errno));
        if (fd >= 0)
            close(fd);
        fd = open(ok, O_RDONLY);
        char buf[64] = {0};
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        printf("after%d=%s\n", i, n > 0 ? "READ" : ename(errno));
        if (fd >= 0)
            close(fd);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("thread_opens=%d\n", thread_ok);
    return 7;
}
