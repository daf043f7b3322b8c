/* Files made through a name a second thread swaps (renameat2 RENAME_EXCHANGE)
 * between a plain directory and a symbolic link to a directory with a
 * default ACL granting all. Natively each file's mode is decided by the
 * directory it is made in: 0600 in the plain one (umask 077), 0666 under the
 * ACL. Prints whether files were made in each and how many in the plain
 * directory escaped the umask (natively none). argv[1]: seconds to run. */
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

static void *flip(void *a) {
    (void)a;
    while (!stop)
        renameat2(AT_FDCWD, "x", AT_FDCWD, "y", RENAME_EXCHANGE);
    return 0;
}

/* Files in DIR: how many, and how many with group or other bits. */
static void count(const char *dir, int *all, int *wide) {
    DIR *d = opendir(dir);
    struct dirent *e;
    *all = *wide = 0;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char p[300];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st))
            continue;
        (*all)++;
        if (st.st_mode & 077)
            (*wide)++;
    }
    closedir(d);
}

int main(int argc, char **argv) {
    static const unsigned char acl[] = {2, 0, 0, 0, 1, 0, 7, 0, 255, 255, 255, 255,
                                        4, 0, 7, 0, 255, 255, 255, 255,
                                        32, 0, 7, 0, 255, 255, 255, 255};
    double secs = argc > 1 ? atof(argv[1]) : 3;
    struct timespec t0, t;
    pthread_t th;
    struct stat xs;
    const char *plain;
    int all, wide, aall, awide;
    if (mkdir("acl", 0777) || mkdir("x", 0777) || symlink("acl", "y")) {
        perror("layout");
        return 2;
    }
    if (setxattr("acl", "system.posix_acl_default", acl, sizeof acl, 0)) {
        printf("noacl %d\n", errno);
        return 0;
    }
    umask(077);
    pthread_create(&th, 0, flip, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 1000000; i++) {
        char name[64];
        int fd;
        snprintf(name, sizeof name, "x/f%d", i);
        fd = open(name, O_CREAT | O_WRONLY | O_EXCL, 0666);
        if (fd >= 0)
            close(fd);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > secs)
            break;
    }
    stop = 1;
    pthread_join(th, 0);
    plain = lstat("x", &xs) == 0 && S_ISDIR(xs.st_mode) ? "x" : "y";
    count(plain, &all, &wide);
    count("acl", &aall, &awide);
    printf("plain_files=%s acl_files=%s acl_all_wide=%s plain_wide=%d\n", all ? "some" : "none",
           aall ? "some" : "none", aall && awide == aall ? "yes" : "no", wide);
    return 0;
}
