/* Robustness: the program is killed while the supervisor holds its open.
 * It forks a child that also blocks, writes both pids to PIDFILE (complete
 * when renamed into place), then opens FIFO for reading with no writer,
 * which waits inside the supervisor until the test SIGKILLs us.
 *
 * Usage: rob_fifo_kill PIDFILE FIFO
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    pid_t child = fork();
    if (child == 0) {
        int fd = open(argv[2], O_RDONLY);
        printf("child open returned %d\n", fd);
        return 0;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        printf("cannot write the pid file: %s\n", strerror(errno));
        return 3;
    }
    fprintf(f, "%d %d\n", getpid(), child);
    fclose(f);
    rename(tmp, argv[1]);
    int fd = open(argv[2], O_RDONLY);
    printf("open returned %d (%s)\n", fd, fd < 0 ? strerror(errno) : "no error");
    return 0;
}
