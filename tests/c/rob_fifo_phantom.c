/* Robustness: a reader killed while its FIFO open waits in the supervisor
 * must not leave a reader behind. A child opens FIFO for reading (no
 * writer: it waits), the parent SIGKILLs it, waits a little, then opens the
 * FIFO for writing with O_NONBLOCK, which natively fails with ENXIO (no
 * reader). A supervisor thread still waiting in its place would make the
 * open succeed. A second child then shows the positive case: a waiting
 * reader makes the same open succeed.
 *
 * Usage: rob_fifo_phantom FIFO
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static pid_t reader(const char *fifo) {
    pid_t c = fork();
    if (c == 0) {
        int fd = open(fifo, O_RDONLY);
        _exit(fd < 0 ? 1 : 0);
    }
    return c;
}

static void try_write(const char *name, const char *fifo) {
    int fd = open(fifo, O_WRONLY | O_NONBLOCK);
    if (fd < 0)
        printf("%s=ERR:%s\n", name, errno == ENXIO ? "ENXIO" : strerror(errno));
    else {
        printf("%s=OK\n", name);
        close(fd);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    pid_t c = reader(argv[1]);
    nap(300);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    nap(500);
    try_write("after_killed_reader", argv[1]);
    c = reader(argv[1]);
    nap(300);
    try_write("with_waiting_reader", argv[1]);
    waitpid(c, NULL, 0);
    return 0;
}
