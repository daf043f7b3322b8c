/* Differences the differential fuzzer (fdsup-fuzz) found between the kernel
 * and fdsup: each line is one call whose answer must be the kernel's. The
 * test runs this natively and under fdsup (@allow-all) and compares the
 * outputs line by line.
 *
 * Mostly the order in which the kernel checks a call's arguments: flags
 * before paths, the first path (and its directory) before the second, the
 * directory part of a path before what its last component is, and the last
 * component's existence before the permission to make it.
 *
 * Usage: fuzz_found   (in an empty, writable working directory)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4
#endif

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static void report(const char *name, long r) {
    if (r >= 0)
        printf("%s=%ld\n", name, r);
    else
        printf("%s=%s\n", name, ename(errno));
}

static const char *type_of(mode_t m) {
    switch (m & S_IFMT) {
    case S_IFLNK: return "lnk";
    case S_IFDIR: return "dir";
    case S_IFREG: return "reg";
    default: return "other";
    }
}

#define BAD ((void *)1)

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = open("f", O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || mkdir("d", 0755) != 0 || symlink("f", "l") != 0 || symlink("loop", "loop") != 0)
        return 2;
    close(fd);
    umask(022);

    /* /proc/self is a symbolic link when not followed. */
    struct stat st;
    if (lstat("/proc/self", &st) == 0)
        printf("lstat_proc_self=%s\n", type_of(st.st_mode));
    else
        printf("lstat_proc_self=%s\n", ename(errno));
    if (fstatat(AT_FDCWD, "/proc/self", &st, AT_SYMLINK_NOFOLLOW) == 0)
        printf("fstatat_nofollow_proc_self=%s\n", type_of(st.st_mode));
    else
        printf("fstatat_nofollow_proc_self=%s\n", ename(errno));
    struct statx stx;
    if (statx(AT_FDCWD, "/proc/thread-self", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) == 0)
        printf("statx_nofollow_thread_self=%s\n", type_of(stx.stx_mode));
    else
        printf("statx_nofollow_thread_self=%s\n", ename(errno));
    char buf[64];
    ssize_t n = readlink("/proc/self", buf, sizeof buf);
    printf("readlink_proc_self=%s\n", n > 0 ? "ok" : ename(errno));

    printf("done\n");
    return 0;
}
