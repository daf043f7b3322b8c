/* Files made in a directory while a second thread sets and removes its
 * default ACL (one with a named user, so that a file made under it keeps an
 * access ACL of its own). Natively each create sees the directory one way
 * or the other: under the ACL the file gets the ACL and mode 0666, without
 * it the umask (077) and mode 0600, never a mix. Prints how many files were
 * made in each state and how many mixed the two (natively none).
 * argv[1]: seconds to run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
/* version 2; user_obj rwx; user 12345 rwx; group_obj rwx; mask rwx; other rwx */
static const unsigned char acl[] = {
    2, 0, 0, 0,
    1, 0, 7, 0, 255, 255, 255, 255,
    2, 0, 7, 0, 0x39, 0x30, 0, 0,
    4, 0, 7, 0, 255, 255, 255, 255,
    16, 0, 7, 0, 255, 255, 255, 255,
    32, 0, 7, 0, 255, 255, 255, 255,
};

static void *toggle(void *a) {
    (void)a;
    while (!stop) {
        setxattr("d", "system.posix_acl_default", acl, sizeof acl, 0);
        removexattr("d", "system.posix_acl_default");
    }
    return 0;
}

int main(int argc, char **argv) {
    int secs = argc > 1 ? atoi(argv[1]) : 2;
    umask(077);
    if (mkdir("d", 0777) != 0) {
        perror("mkdir");
        return 1;
    }
    if (setxattr("d", "system.posix_acl_default", acl, sizeof acl, 0) != 0) {
        printf("noacl %d\n", errno);
        return 0;
    }
    pthread_t t;
    pthread_create(&t, 0, toggle, 0);
    time_t end = time(0) + secs;
    char name[64];
    int made = 0;
    for (int i = 0; time(0) < end && i < 20000; i++) {
        snprintf(name, sizeof name, "d/f%d", i);
        int fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            made++;
        }
    }
    stop = 1;
    pthread_join(t, 0);
    int with = 0, without = 0, mixed = 0;
    for (int i = 0; i < 20000; i++) {
        struct stat st;
        snprintf(name, sizeof name, "d/f%d", i);
        if (stat(name, &st) != 0)
            continue;
        char buf[256];
        int has = getxattr(name, "system.posix_acl_access", buf, sizeof buf) > 0;
        int wide = (st.st_mode & 066) != 0;
        if (has && wide)
            with++;
        else if (!has && !wide)
            without++;
        else
            mixed++;
    }
    printf("with_acl=%s without_acl=%s mixed=%d\n", with ? "some" : "none",
           without ? "some" : "none", mixed);
    return made ? 0 : 1;
}
