/* Reads paths, one per line, from standard input and tries to open each
 * for reading as a program would read a file or list a directory
 * (O_RDONLY | O_NONBLOCK | O_NOCTTY, never following a final symbolic
 * link); prints "ok PATH" for each that opens. Used to compare what the
 * sandbox serves with what an unprivileged user may read. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    static char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n')
            line[--n] = 0;
        if (!n)
            continue;
        int fd = open(line, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            printf("ok %s\n", line);
            close(fd);
        }
    }
    return 0;
}
