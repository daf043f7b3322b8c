/* Adversarial: names that end with " (deleted)", the kernel's mark for an
 * unlinked object in a descriptor's path. A file or directory that is
 * really so named, and linked, must be decided on its path like any other:
 * reached through /proc/self/fd/N or a directory descriptor, it is no
 * unlinked object (which has no path, and is decided on the descriptor).
 *
 * Usage: adv_deleted_names DIR. DIR/ro is read-only to the program, with
 * a file "f (deleted)" and a directory "d (deleted)" in it; the policy
 * gives rw to DIR/ro/d (absent). DIR/rw is read-write, with "g (deleted)"
 * and "e (deleted)" (the positive controls). One line per attempt:
 * name=OK or name=ERR:ERRNO. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EROFS: return "EROFS";
    case ENOTSUP: return "ENOTSUP";
    default: return strerrorname_np(e) ? strerrorname_np(e) : "E?";
    }
}

static void say(const char *name, long r) {
    if (r < 0)
        printf("%s=ERR:%s\n", name, ename(errno));
    else
        printf("%s=OK\n", name);
    fflush(stdout);
}

/* The changes to file `path` through /proc/self/fd/N, names prefixed `pfx`. */
static void file_changes(const char *pfx, const char *path) {
    char k[128], p[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(k, sizeof k, "%s_open", pfx);
    say(k, fd);
    if (fd < 0)
        return;
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    snprintf(k, sizeof k, "%s_chmod", pfx);
    say(k, chmod(p, 0666));
    snprintf(k, sizeof k, "%s_truncate", pfx);
    say(k, truncate(p, 0));
    snprintf(k, sizeof k, "%s_utimens", pfx);
    say(k, utimensat(AT_FDCWD, p, NULL, 0));
    snprintf(k, sizeof k, "%s_chown", pfx);
    say(k, chown(p, getuid(), getgid()));
    snprintf(k, sizeof k, "%s_access_w", pfx);
    say(k, faccessat(AT_FDCWD, p, W_OK, AT_EACCESS));
    close(fd);
}

/* A creation in directory `path`, through a descriptor of it. */
static void dir_changes(const char *pfx, const char *path) {
    char k[128], p[64];
    int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    snprintf(k, sizeof k, "%s_open", pfx);
    say(k, d);
    if (d < 0)
        return;
    snprintf(k, sizeof k, "%s_create", pfx);
    int f = openat(d, "new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    say(k, f);
    if (f >= 0)
        close(f);
    snprintf(k, sizeof k, "%s_mkdir", pfx);
    say(k, mkdirat(d, "newdir", 0755));
    snprintf(p, sizeof p, "/proc/self/fd/%d/new2", d);
    snprintf(k, sizeof k, "%s_create_magic", pfx);
    f = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    say(k, f);
    if (f >= 0)
        close(f);
    close(d);
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    char p[4096];
    snprintf(p, sizeof p, "%s/ro/f (deleted)", argv[1]);
    file_changes("ro_file", p);
    snprintf(p, sizeof p, "%s/rw/g (deleted)", argv[1]);
    file_changes("rw_file", p);
    snprintf(p, sizeof p, "%s/ro/d (deleted)", argv[1]);
    dir_changes("ro_dir", p);
    snprintf(p, sizeof p, "%s/rw/e (deleted)", argv[1]);
    dir_changes("rw_dir", p);
    /* A really unlinked file of the program's own, held for writing: its
     * changes are its own (no path to decide on). */
    snprintf(p, sizeof p, "%s/rw", argv[1]);
    int t = open(p, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    say("tmpfile_open", t);
    if (t >= 0) {
        char m[64];
        snprintf(m, sizeof m, "/proc/self/fd/%d", t);
        say("tmpfile_chmod", chmod(m, 0644));
    }
    return 0;
}
