/* fchdir races, run under fdsup by tests/tests/adversarial_fchdir.rs.
 *
 *   adv_fchdir ALLOWED_DIR
 *       Descriptor 3 is inherited, open on a hidden directory holding
 *       `key` (the secret). fchdir(3) must fail; then one thread swaps
 *       descriptor 10 between ALLOWED_DIR and the hidden directory (dup2)
 *       while the main thread calls fchdir(10) and, whenever it lands,
 *       opens `key` relative to where it is. Prints `fchdir3=...`,
 *       `landed_hidden=N` (the residue: the working directory may land in
 *       a directory the program holds a descriptor of), `read_secret=N`
 *       (must be 0), `read_allowed=N` (the positive control: the allowed
 *       directory's `key` read), `fchdir_done`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int allowed;
static atomic_int stop;

static void *swapper(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        dup2(allowed, 10);
        dup2(3, 10);
    }
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        return 2;
    allowed = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (allowed < 0) {
        printf("open_allowed=ERR:%s\n", strerrorname_np(errno));
        return 1;
    }
    int r = fchdir(3);
    printf("fchdir3=%s\n", r == 0 ? "OK" : strerrorname_np(errno));
    pthread_t t;
    pthread_create(&t, NULL, swapper, NULL);
    int landed_hidden = 0, read_secret = 0, read_allowed = 0;
    char cwd[4096], buf[256];
    for (int i = 0; i < 3000; i++) {
        if (fchdir(10) != 0)
            continue;
        if (getcwd(cwd, sizeof cwd) && strstr(cwd, "/hidden"))
            landed_hidden++;
        int fd = open("key", O_RDONLY);
        if (fd >= 0) {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (n > 0) {
                buf[n] = 0;
                if (strstr(buf, "SECRET"))
                    read_secret++;
                else
                    read_allowed++;
            }
        }
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("landed_hidden=%d\nread_secret=%d\nread_allowed=%d\nfchdir_done\n", landed_hidden, read_secret,
           read_allowed);
    return 0;
}
