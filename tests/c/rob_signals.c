/* Robustness: opens under a storm of signals. An ITIMER_REAL fires every
 * 50 µs while the program opens, reads and closes an allowed file ITER times.
 * With SA_RESTART every open must succeed; without, each either succeeds or
 * fails with EINTR. Either way the descriptor count at the end equals the
 * start (no descriptor injected into a request that was interrupted).
 *
 * Usage: rob_signals restart|norestart FILE ITER
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile long signals;

static void on_alarm(int sig) {
    (void)sig;
    signals++;
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 4)
        return 2;
    int restart = !strcmp(argv[1], "restart");
    const char *file = argv[2];
    long iter = atol(argv[3]);

    char expect[64] = {0};
    int fd = open(file, O_RDONLY);
    if (fd < 0 || read(fd, expect, sizeof expect - 1) <= 0) {
        printf("cannot read %s\n", file);
        return 3;
    }
    close(fd);
    int start = count_fds();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);

    long ok = 0, eintr = 0, other = 0, bad = 0;
    int other_errno = 0;
    for (long i = 0; i < iter; i++) {
        fd = open(file, O_RDONLY);
        if (fd < 0) {
            if (errno == EINTR) {
                eintr++;
            } else {
                other++;
                other_errno = errno;
            }
            continue;
        }
        char buf[64] = {0};
        ssize_t n;
        do {
            n = read(fd, buf, sizeof buf - 1);
        } while (n < 0 && errno == EINTR);
        if (n <= 0 || strcmp(buf, expect))
            bad++;
        else
            ok++;
        while (close(fd) < 0 && errno == EINTR) {
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    int end = count_fds();
    const char *oe = other_errno ? strerrorname_np(other_errno) : "none";
    printf("ok=%ld eintr=%ld other=%ld other_errno=%s bad_content=%ld signals=%ld fd_start=%d "
           "fd_end=%d\n",
           ok, eintr, other, oe ? oe : "E?", bad, signals, start, end);
    return 0;
}
