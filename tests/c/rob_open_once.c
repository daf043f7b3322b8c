/* Robustness: opens each PATH once and prints its outcome on stdout only
 * ("openN=OK" or "openN=ERR:<errno name>", N from 1), then exits 0.
 * Nothing is written to stderr, so the program runs the same whatever
 * stderr is (a closed pipe in adversarial_closed_stderr.rs).
 *
 * Usage: rob_open_once PATH...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            printf("open%d=ERR:%s\n", i, strerrorname_np(errno));
        } else {
            printf("open%d=OK\n", i);
            close(fd);
        }
        fflush(stdout);
    }
    return 0;
}
