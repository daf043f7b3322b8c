/* The program the exec tests run: it leaves `<its own path>.ran` behind (so
 * a test can tell which copy ran, even when the run's output is lost) and
 * exits 42. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 8);
    if (n > 0) {
        memcpy(exe + n, ".ran", 5);
        int fd = open(exe, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            (void)!write(fd, "x", 1);
            close(fd);
        }
    }
    return 42;
}
