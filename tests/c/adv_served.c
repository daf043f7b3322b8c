/* Adversarial: paths served from elsewhere (a private directory, a content
 * memfd, a redirect, /dev/tty), each beside a positive control.
 *
 * Usage: adv_served MODE ARGS...
 *
 *   shmhost WORK NAME   the private /dev/shm with a later rule for
 *                       /dev/shm/NAME: reach the host's /dev/shm/NAME by a
 *                       symbolic link in WORK (rw) or /proc/self/cwd after
 *                       chdir("/dev/shm") (which lands in the host's)
 *   content PATH WORK   write to the sealed memfd a content rule serves
 *   redirect PATH WORK  change a read-only redirect's target
 *   ctty                /dev/tty is the asking process's controlling
 *                       terminal, never fdsup's: after setsid(), none
 *                       (ENXIO); after TIOCSCTTY on a pseudo-terminal of
 *                       its own, that one (its master reads what is written)
 *
 * Prints one `name=value` line per attempt: READ:<text>| for a read, OK, or
 * ERR:<errno name>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EXDEV: return "EXDEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ENXIO: return "ENXIO";
    case EROFS: return "EROFS";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static void result(const char *name, long r) {
    if (r < 0)
        printf("%s=ERR:%s\n", name, ename(errno));
    else
        printf("%s=OK\n", name);
    fflush(stdout);
}

/* Prints what reading fd gives (up to 200 bytes), or the error; closes it. */
static void show_fd(const char *name, int fd) {
    if (fd < 0) {
        printf("%s=ERR:%s\n", name, ename(errno));
        fflush(stdout);
        return;
    }
    char buf[201];
    ssize_t n = pread(fd, buf, 200, 0);
    if (n < 0) {
        printf("%s=READERR:%s\n", name, ename(errno));
    } else {
        buf[n] = 0;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n')
                buf[i] = '|';
        printf("%s=READ:%s\n", name, buf);
    }
    fflush(stdout);
    close(fd);
}

/* Opens path for writing (appending) and writes PWNED: the line says whether
 * the open worked. */
static void try_write(const char *name, const char *path, int flags) {
    int fd = open(path, flags, 0644);
    result(name, fd);
    if (fd >= 0) {
        if (write(fd, "PWNED\n", 6) < 0)
            perror("write");
        close(fd);
    }
}

static char *join(const char *a, const char *b) {
    static char bufs[8][4096];
    static int i;
    char *p = bufs[i++ % 8];
    snprintf(p, 4096, "%s/%s", a, b);
    return p;
}

static void shmhost(const char *work, const char *name) {
    /* Positive control: the private one, by its name. */
    char *priv = join("/dev/shm", name);
    try_write("private_write", priv, O_WRONLY | O_CREAT | O_TRUNC);
    show_fd("private_read", open(priv, O_RDONLY));
    /* The host's, by a symbolic link to /dev/shm. */
    char *link = join(work, "shm");
    result("symlink", symlink("/dev/shm", link));
    char rel[4096];
    snprintf(rel, sizeof rel, "shm/%s", name);
    show_fd("link_read", open(join(work, rel), O_RDONLY));
    try_write("link_write", join(work, rel), O_WRONLY | O_APPEND);
    /* Positive control: the link to something allowed works. */
    result("symlink_work", symlink(work, join(work, "self")));
    show_fd("link_control", open(join(work, "self/control"), O_RDONLY));
    /* The host's, by the working directory the kernel's chdir gives. */
    result("chdir", chdir("/dev/shm"));
    char *cwd = join("/proc/self/cwd", name);
    show_fd("cwd_read", open(cwd, O_RDONLY));
    try_write("cwd_write", cwd, O_WRONLY | O_APPEND);
    int d = open("/proc/self/cwd", O_RDONLY | O_DIRECTORY);
    result("cwd_dir", d);
    if (d >= 0)
        show_fd("cwd_dir_read", openat(d, name, O_RDONLY));
    /* Positive control: a relative name from there is the private one. */
    show_fd("relative_read", open(name, O_RDONLY));
}

static void content(const char *path, const char *work) {
    int fd = open(path, O_RDONLY);
    show_fd("read", dup(fd));
    result("add_seals", fcntl(fd, F_ADD_SEALS, 0));
    void *w = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    result("mmap_write", w == MAP_FAILED ? -1 : 0);
    void *r = mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
    result("mmap_read", r == MAP_FAILED ? -1 : 0);
    if (r != MAP_FAILED)
        result("mprotect_write", mprotect(r, 4096, PROT_READ | PROT_WRITE));
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    try_write("reopen_rdwr", self, O_RDWR);
    try_write("reopen_trunc", self, O_WRONLY | O_TRUNC);
    result("ftruncate", ftruncate(fd, 0));
    result("fallocate", fallocate(fd, 0, 0, 65536));
    result("write", write(fd, "PWNED\n", 6));
    result("fchmod", fchmod(fd, 0777));
    char *lnk = join(work, "content-link");
    result("linkat", linkat(fd, "", AT_FDCWD, lnk, AT_EMPTY_PATH));
    result("linkat_proc", linkat(AT_FDCWD, self, AT_FDCWD, lnk, AT_SYMLINK_FOLLOW));
    try_write("link_write", lnk, O_WRONLY);
    try_write("open_rdwr", path, O_RDWR);
    try_write("open_trunc", path, O_RDONLY | O_TRUNC);
    show_fd("after", fd);
}

static void redirect(const char *path, const char *work) {
    int fd = open(path, O_RDONLY);
    show_fd("read", dup(fd));
    try_write("open_rdwr", path, O_RDWR);
    try_write("open_trunc", path, O_RDONLY | O_TRUNC);
    try_write("open_creat", path, O_WRONLY | O_CREAT);
    result("chmod", chmod(path, 0666));
    result("fchmod", fchmod(fd, 0666));
    result("truncate", truncate(path, 0));
    result("unlink", unlink(path));
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    try_write("reopen_rdwr", self, O_RDWR);
    result("chmod_proc", chmod(self, 0666));
    result("truncate_proc", truncate(self, 0));
    char *lnk = join(work, "redirect-link");
    result("linkat", linkat(fd, "", AT_FDCWD, lnk, AT_EMPTY_PATH));
    result("linkat_proc", linkat(AT_FDCWD, self, AT_FDCWD, lnk, AT_SYMLINK_FOLLOW));
    try_write("link_write", lnk, O_WRONLY);
    result("rename_proc", rename(self, lnk));
    result("ftruncate", ftruncate(fd, 0));
    result("futimens", futimens(fd, NULL));
    show_fd("after", fd);
}

static void ctty(void) {
    /* Positive control: the terminal fdsup was started on. */
    int t = open("/dev/tty", O_RDWR);
    result("tty_before", t);
    close(t);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return;
    }
    if (pid > 0) {
        int status;
        waitpid(pid, &status, 0);
        return;
    }
    result("setsid", setsid());
    result("tty_no_ctty", open("/dev/tty", O_RDWR));
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    result("ptmx", m);
    if (m < 0 || grantpt(m) || unlockpt(m))
        _exit(0);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    result("slave", s);
    result("sctty", ioctl(s, TIOCSCTTY, 0));
    t = open("/dev/tty", O_RDWR | O_NOCTTY);
    result("tty_own", t);
    if (t >= 0 && write(t, "VIA-DEV-TTY", 11) != 11)
        perror("write");
    usleep(100000);
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    char buf[64] = {0};
    ssize_t n = read(m, buf, sizeof buf - 1);
    printf("master=%s\n", n > 0 ? buf : "NOTHING");
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "shmhost"))
        shmhost(argv[2], argv[3]);
    else if (argc == 4 && !strcmp(argv[1], "content"))
        content(argv[2], argv[3]);
    else if (argc == 4 && !strcmp(argv[1], "redirect"))
        redirect(argv[2], argv[3]);
    else if (argc == 2 && !strcmp(argv[1], "ctty"))
        ctty();
    else {
        fprintf(stderr, "usage: adv_served MODE ARGS...\n");
        return 2;
    }
    printf("done=1\n");
    return 0;
}
