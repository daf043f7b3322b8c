/* Adversarial: every way an open can change a file or a directory, tried on
 * a read-only ("ro") directory and, as the positive control, on a read-write
 * one. A successful open writes "PWNED" through what it got, so any hole
 * also shows in the file system, which the test compares before and after.
 *
 * Layout (made by the test): DIR/ro/file.txt (ro), DIR/rw/file.txt (rw),
 * DIR/rw/link_to_ro -> ../ro/file.txt.
 * Output: "<ro|rw>.<op>=OK" or "<ro|rw>.<op>=<errno name>".
 *
 * Usage: adv_ro DIR
 */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static const char *which;

static void report(const char *op, int fd, int scribble) {
    if (fd < 0) {
        printf("%s.%s=%s\n", which, op, ename(errno));
        return;
    }
    printf("%s.%s=OK\n", which, op);
    if (scribble)
        (void)!write(fd, "PWNED", 5);
    close(fd);
}

static int openat2_(int dfd, const char *path, uint64_t flags, uint64_t mode) {
    struct open_how how = {.flags = flags, .mode = mode};
    return (int)syscall(SYS_openat2, dfd, path, &how, sizeof how);
}

static void run(const char *dir, const char *sub) {
    char d[4096], f[4096], p[4096];
    which = sub;
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    snprintf(f, sizeof f, "%s/file.txt", d);
    int scribble = !strcmp(sub, "ro");

    report("rdonly", open(f, O_RDONLY), 0);
    report("wronly", open(f, O_WRONLY), scribble);
    report("rdwr", open(f, O_RDWR), scribble);
    report("trunc_rdonly", open(f, O_RDONLY | O_TRUNC), 0);
    report("append", open(f, O_WRONLY | O_APPEND), scribble);
    report("creat_existing_wronly", open(f, O_WRONLY | O_CREAT, 0644), scribble);
    snprintf(p, sizeof p, "%s/new_creat", d);
    report("creat_new", open(p, O_WRONLY | O_CREAT, 0644), scribble);
    snprintf(p, sizeof p, "%s/new_excl", d);
    report("creat_excl_new", open(p, O_RDWR | O_CREAT | O_EXCL, 0644), scribble);
    snprintf(p, sizeof p, "%s/new_rdonly", d);
    report("creat_rdonly_new", open(p, O_RDONLY | O_CREAT, 0644), 0);
    int t = open(d, O_TMPFILE | O_RDWR, 0644);
    report("tmpfile", t >= 0 ? dup(t) : -1, scribble);
    if (t >= 0) {
        /* Give the anonymous file a name (linkat is not mediated). */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", t);
        snprintf(p, sizeof p, "%s/tmpfile_linked", d);
        linkat(AT_FDCWD, proc, AT_FDCWD, p, AT_SYMLINK_FOLLOW);
        close(t);
    }
    snprintf(p, sizeof p, "%s/new_creat_call", d);
    report("creat_call_new", creat(p, 0644), scribble);
    report("creat_call_existing", creat(f, 0644), scribble);
    int dfd = open(d, O_RDONLY | O_DIRECTORY);
    report("dirfd", dfd >= 0 ? dup(dfd) : -1, 0);
    report("openat_dirfd_creat", openat(dfd, "new_openat", O_WRONLY | O_CREAT, 0644), scribble);
    report("openat_dirfd_rdwr", openat(dfd, "file.txt", O_RDWR), scribble);
    report("openat_dirfd_tmpfile", openat(dfd, ".", O_TMPFILE | O_WRONLY, 0644), scribble);
    if (dfd >= 0)
        close(dfd);
    snprintf(p, sizeof p, "%s/new_openat2", d);
    report("openat2_creat", openat2_(AT_FDCWD, p, O_WRONLY | O_CREAT, 0644), scribble);
    report("openat2_rdwr_trunc", openat2_(AT_FDCWD, f, O_RDWR | O_TRUNC, 0), scribble);
    report("openat2_tmpfile", openat2_(AT_FDCWD, d, O_TMPFILE | O_RDWR, 0644), scribble);
    snprintf(p, sizeof p, "%s/../%s/file.txt", d, sub);
    report("dotdot_rdwr", open(p, O_RDWR), scribble);
    if (chdir(d) == 0) {
        report("cwd_rel_rdwr", open("file.txt", O_RDWR), scribble);
        report("cwd_rel_creat", open("new_rel", O_WRONLY | O_CREAT, 0644), scribble);
        report("proc_cwd_wronly", open("/proc/self/cwd/file.txt", O_WRONLY), scribble);
        report("proc_cwd_creat", open("/proc/self/cwd/new_proc_cwd", O_WRONLY | O_CREAT, 0644),
               scribble);
        (void)!chdir("/");
    } else {
        printf("%s.chdir=%s\n", which, ename(errno));
    }
    snprintf(p, sizeof p, "/proc/self/root%s", f);
    report("proc_root_rdwr", open(p, O_RDWR), scribble);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: adv_ro DIR\n");
        return 2;
    }
    run(argv[1], "ro");
    run(argv[1], "rw");
    char p[4096];
    which = "ro";
    snprintf(p, sizeof p, "%s/rw/link_to_ro", argv[1]);
    report("via_rw_symlink_wronly", open(p, O_WRONLY), 1);
    report("via_rw_symlink_trunc", open(p, O_RDONLY | O_TRUNC), 0);
    snprintf(p, sizeof p, "%s/rw/../ro/file.txt", argv[1]);
    report("via_rw_dotdot_rdwr", open(p, O_RDWR), 1);
    printf("done\n");
    return 0;
}
