/* Every mediated path syscall against every kind of policy path: the
 * hidden, the denied, the read-only and the read-write ("allowed"), each
 * holding the same things. One line per attempt, "OP:AREA=RESULT", where
 * RESULT is OK (with a short detail for looks), or the errno name.
 *
 * Usage: adv_fsops setup DIR   (natively: sets the xattrs the test reads)
 *        adv_fsops run DIR     (under fdsup)
 *
 * Each AREA is DIR/AREA, a directory holding:
 *   file       "DATA\n", xattr user.x = "X"
 *   sub/       a directory
 *   link       a symlink to "file"
 * The hidden and denied areas are hidden/denied as a whole; "ro" is ro and
 * "rw" is rw.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

static const char *en(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static char base[4096];

static const char *P(const char *area, const char *rel) {
    static char bufs[4][4200];
    static int i;
    char *b = bufs[i++ % 4];
    if (rel && *rel)
        snprintf(b, 4200, "%s/%s/%s", base, area, rel);
    else
        snprintf(b, 4200, "%s/%s", base, area);
    return b;
}

static void res(const char *op, const char *area, long r, const char *detail) {
    if (r < 0)
        printf("%s:%s=%s\n", op, area, en(errno));
    else if (detail)
        printf("%s:%s=OK:%s\n", op, area, detail);
    else
        printf("%s:%s=OK\n", op, area);
    fflush(stdout);
}

static void looks(const char *a) {
    struct stat st;
    char d[64];
    long r = stat(P(a, "file"), &st);
    snprintf(d, sizeof d, "%ld", (long)st.st_size);
    res("stat", a, r, r == 0 ? d : NULL);
    r = lstat(P(a, "link"), &st);
    res("lstat", a, r, r == 0 ? (S_ISLNK(st.st_mode) ? "lnk" : "notlnk") : NULL);
    struct statx sx;
    r = statx(AT_FDCWD, P(a, "file"), 0, STATX_SIZE, &sx);
    snprintf(d, sizeof d, "%llu", (unsigned long long)sx.stx_size);
    res("statx", a, r, r == 0 ? d : NULL);
    r = fstatat(AT_FDCWD, P(a, "sub"), &st, AT_SYMLINK_NOFOLLOW);
    res("fstatat", a, r, r == 0 ? (S_ISDIR(st.st_mode) ? "dir" : "notdir") : NULL);
    r = stat(P(a, "nonexistent"), &st);
    res("stat_missing", a, r, NULL);
    res("access", a, access(P(a, "file"), R_OK), NULL);
    res("access_dir", a, access(P(a, ""), X_OK), NULL);
    char buf[256];
    ssize_t n = readlink(P(a, "link"), buf, sizeof buf - 1);
    if (n >= 0)
        buf[n] = 0;
    res("readlink", a, n, n >= 0 ? buf : NULL);
    n = getxattr(P(a, "file"), "user.x", buf, sizeof buf - 1);
    if (n >= 0)
        buf[n] = 0;
    res("getxattr", a, n, n >= 0 ? buf : NULL);
    n = listxattr(P(a, "file"), buf, sizeof buf);
    res("listxattr", a, n, n >= 0 ? "list" : NULL);
    struct statfs sf;
    res("statfs", a, statfs(P(a, "file"), &sf), NULL);
    int in = inotify_init1(IN_CLOEXEC);
    res("inotify", a, inotify_add_watch(in, P(a, "file"), IN_MODIFY), NULL);
    close(in);
    /* A listing of the area, and of the base (which must not show the
     * hidden area). */
    DIR *dp = opendir(P(a, ""));
    if (!dp) {
        res("list", a, -1, NULL);
    } else {
        int count = 0;
        struct dirent *e;
        while ((e = readdir(dp)))
            count += e->d_name[0] != '.';
        snprintf(d, sizeof d, "%d", count);
        res("list", a, 0, d);
        closedir(dp);
    }
    char cwd[4096];
    getcwd(cwd, sizeof cwd);
    long c = chdir(P(a, "sub"));
    res("chdir", a, c, NULL);
    if (c == 0) {
        /* From inside, `..` and relative names are decided on what they
         * reach. */
        int fd = open("../file", O_RDONLY);
        if (fd >= 0) {
            n = read(fd, buf, sizeof buf - 1);
            buf[n > 0 ? n : 0] = 0;
            if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = 0;
            close(fd);
        }
        res("open_from_chdir", a, fd, fd >= 0 ? buf : NULL);
    }
    chdir(cwd);
}

static void changes(const char *a) {
    char name[64];
    res("chmod", a, chmod(P(a, "file"), 0600), NULL);
    res("fchmodat", a, fchmodat(AT_FDCWD, P(a, "file"), 0640, 0), NULL);
    res("chown", a, chown(P(a, "file"), getuid(), getgid()), NULL);
    res("lchown", a, lchown(P(a, "link"), getuid(), getgid()), NULL);
    res("utimes", a, utimes(P(a, "file"), NULL), NULL);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    res("utimensat", a, utimensat(AT_FDCWD, P(a, "file"), ts, 0), NULL);
    res("utime", a, utime(P(a, "file"), NULL), NULL);
    res("truncate", a, truncate(P(a, "file"), 1), NULL);
    res("setxattr", a, setxattr(P(a, "file"), "user.y", "Y", 1, 0), NULL);
    res("removexattr", a, removexattr(P(a, "file"), "user.x"), NULL);
    res("mkdir", a, mkdir(P(a, "newdir"), 0755), NULL);
    res("mknod_fifo", a, mknod(P(a, "fifo"), S_IFIFO | 0644, 0), NULL);
    res("mknod_reg", a, mknod(P(a, "regular"), S_IFREG | 0644, 0), NULL);
    res("symlink", a, symlink("file", P(a, "newlink")), NULL);
    res("rename", a, rename(P(a, "link"), P(a, "renamed")), NULL);
    res("unlink", a, unlink(P(a, "link")), NULL);
    res("rmdir", a, rmdir(P(a, "sub")), NULL);
    /* Through a descriptor the program may hold: read-only. */
    int fd = open(P(a, "file"), O_RDONLY);
    snprintf(name, sizeof name, "%s", a);
    if (fd >= 0) {
        res("fchmod", a, fchmod(fd, 0604), NULL);
        res("fchown", a, fchown(fd, getuid(), getgid()), NULL);
        res("futimens", a, futimens(fd, NULL), NULL);
        res("fsetxattr", a, fsetxattr(fd, "user.z", "Z", 1, 0), NULL);
        res("fremovexattr", a, fremovexattr(fd, "user.y"), NULL);
        /* The inode flags (chattr) and the extended ones (xfs_io chattr):
         * set by ioctl on any descriptor, read-only too, by the owner. */
        int flags = 0;
        long r = ioctl(fd, FS_IOC_GETFLAGS, &flags);
        if (r == 0) {
            flags ^= FS_NOATIME_FL;
            r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
        }
        res("setflags", a, r, NULL);
        struct fsxattr fa;
        r = ioctl(fd, FS_IOC_FSGETXATTR, &fa);
        if (r == 0) {
            fa.fsx_xflags ^= FS_XFLAG_NODUMP;
            r = ioctl(fd, FS_IOC_FSSETXATTR, &fa);
        }
        res("fssetxattr", a, r, NULL);
        /* The inode's generation (ext4's; "unsupported" elsewhere). */
        int gen = 0;
        if (ioctl(fd, FS_IOC_GETVERSION, &gen) != 0 && errno == ENOTTY) {
            res("setversion", a, 0, "unsupported");
        } else {
            gen += 1;
            res("setversion", a, ioctl(fd, FS_IOC_SETVERSION, &gen), NULL);
        }
        close(fd);
    } else {
        res("fchmod", a, -1, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    snprintf(base, sizeof base, "%s", argv[2]);
    const char *areas[] = {"hidden", "denied", "ro", "rw"};
    if (!strcmp(argv[1], "setup")) {
        for (int i = 0; i < 4; i++)
            if (setxattr(P(areas[i], "file"), "user.x", "X", 1, 0) != 0) {
                printf("setup: %s\n", en(errno));
                return 1;
            }
        return 0;
    }
    for (int i = 0; i < 4; i++)
        looks(areas[i]);
    DIR *dp = opendir(base);
    int seen_hidden = 0, seen_denied = 0, seen_ro = 0;
    if (dp) {
        struct dirent *e;
        while ((e = readdir(dp))) {
            seen_hidden |= !strcmp(e->d_name, "hidden");
            seen_denied |= !strcmp(e->d_name, "denied");
            seen_ro |= !strcmp(e->d_name, "ro");
        }
        closedir(dp);
    }
    printf("base_lists_hidden=%d\nbase_lists_denied=%d\nbase_lists_ro=%d\n", seen_hidden,
           seen_denied, seen_ro);
    for (int i = 0; i < 4; i++)
        changes(areas[i]);
    printf("done\n");
    return 0;
}
