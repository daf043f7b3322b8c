/* Exec attempts against the policy's exec section, one `name=value` line
 * each: `RAN:<status>` when the program ran (42 for exec_marker), else
 * `ERR:<errno>` from the failed exec.
 *
 *   adv_exec attempts DIR   every route below, DIR laid out by the test:
 *       DIR/allowed/m, DIR/denied/m    copies of exec_marker
 *       DIR/allowed/link_denied -> ../denied/m, DIR/allowed/link_ok -> m
 *       DIR/allowed/s.sh   a /bin/sh script; DIR/allowed/bad.sh  #!DIR/denied/m
 *   adv_exec race ALLOWED DENIED N
 *       a thread rewrites the path buffer between ALLOWED and DENIED while
 *       the main thread vforks N children that execve it; prints
 *       `race ran=R eacces=A enoent=E other=O anon=X`.
 *   adv_exec race_anon ALLOWED N
 *       the same race between ALLOWED and a copy of this driver in shared
 *       anonymous memory, by `/proc/self/map_files/START-END` (a shmem file
 *       with no path, which Landlock does not check); the copy, run without
 *       arguments, exits 43, counted as `anon`.
 *
 * Each attempt runs in a forked child; a close-on-exec pipe tells a failed
 * exec (the child writes its errno) from one that ran (end-of-file). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

static const char *ename(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case ELOOP: return "ELOOP";
    case EINVAL: return "EINVAL";
    case ENOEXEC: return "ENOEXEC";
    case ENOSYS: return "ENOSYS";
    case EBADF: return "EBADF";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

typedef void (*exec_fn)(const void *);

/* Runs `fn(arg)` (which execs) in a child and prints the outcome. */
static void attempt(const char *name, exec_fn fn, const void *arg) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        printf("%s=SETUP:pipe\n", name);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        fn(arg);
        int e = errno;
        (void)!write(p[1], &e, sizeof e);
        _exit(99);
    }
    close(p[1]);
    int e = 0;
    ssize_t n = read(p[0], &e, sizeof e);
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (n == (ssize_t)sizeof e)
        printf("%s=ERR:%s\n", name, ename(e));
    else if (WIFEXITED(st))
        printf("%s=RAN:%d\n", name, WEXITSTATUS(st));
    else
        printf("%s=SIGNAL:%d\n", name, WTERMSIG(st));
    fflush(stdout);
}

static char *const ARGV[] = {"m", NULL};

static void by_path(const void *p) { execve(p, ARGV, environ); }

static void by_opath(const void *p) {
    int fd = open(p, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return;
    syscall(SYS_execveat, fd, "", ARGV, environ, AT_EMPTY_PATH);
}

static void by_fd(const void *p) {
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    syscall(SYS_execveat, fd, "", ARGV, environ, AT_EMPTY_PATH);
}

static void by_procfd(const void *p) {
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    execve(proc, ARGV, environ);
}

static void nofollow(const void *p) {
    syscall(SYS_execveat, AT_FDCWD, p, ARGV, environ, AT_SYMLINK_NOFOLLOW);
}

/* A memfd holding a copy of the file at `p`: -1 and errno on failure. */
static int memfd_copy(const char *p, unsigned flags) {
    int src = open(p, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return -1;
    int fd = memfd_create("copy", flags);
    if (fd < 0) {
        int e = errno;
        close(src);
        errno = e;
        return -1;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            return -1;
    close(src);
    return fd;
}

static void memfd_at(const void *p) {
    int fd = memfd_copy(p, 0);
    if (fd < 0)
        return;
    syscall(SYS_execveat, fd, "", ARGV, environ, AT_EMPTY_PATH);
}

static void memfd_proc(const void *p) {
    int fd = memfd_copy(p, 0);
    if (fd < 0)
        return;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    execve(proc, ARGV, environ);
}

/* Makes an executable memfd by name (MFD_EXEC), then runs it. */
static void memfd_mfd_exec(const void *p) {
    int fd = memfd_copy(p, MFD_EXEC);
    if (fd < 0)
        return;
    syscall(SYS_execveat, fd, "", ARGV, environ, AT_EMPTY_PATH);
}

/* Adds the execute bits back to a memfd (as its owner may), then runs it. */
static void memfd_chmod(const void *p) {
    int fd = memfd_copy(p, 0);
    if (fd < 0)
        return;
    if (fchmod(fd, 0755) != 0)
        return;
    syscall(SYS_execveat, fd, "", ARGV, environ, AT_EMPTY_PATH);
}

/* Copies `p` to `p.tmp`, opens it, unlinks it, then runs the open file:
 * by descriptor (AT_EMPTY_PATH) or through /proc/self/fd. */
static int deleted_copy(const char *p) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", p, (int)getpid());
    int src = open(p, O_RDONLY | O_CLOEXEC);
    int dst = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (src < 0 || dst < 0)
        return -1;
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0)
        if (write(dst, buf, (size_t)n) != n)
            return -1;
    close(src);
    close(dst);
    int fd = open(tmp, O_RDONLY);
    if (fd < 0)
        return -1;
    if (unlink(tmp) != 0)
        return -1;
    return fd;
}

static void deleted_at(const void *p) {
    int fd = deleted_copy(p);
    if (fd < 0)
        return;
    syscall(SYS_execveat, fd, "", ARGV, environ, AT_EMPTY_PATH);
}

static void deleted_proc(const void *p) {
    int fd = deleted_copy(p);
    if (fd < 0)
        return;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    execve(proc, ARGV, environ);
}

static int attempts(const char *dir) {
    char ok[4096], denied[4096], link_denied[4096], link_ok[4096], sh[4096], bad[4096];
    snprintf(ok, sizeof ok, "%s/allowed/m", dir);
    snprintf(denied, sizeof denied, "%s/denied/m", dir);
    snprintf(link_denied, sizeof link_denied, "%s/allowed/link_denied", dir);
    snprintf(link_ok, sizeof link_ok, "%s/allowed/link_ok", dir);
    snprintf(sh, sizeof sh, "%s/allowed/s.sh", dir);
    snprintf(bad, sizeof bad, "%s/allowed/bad.sh", dir);

    attempt("direct_ok", by_path, ok);
    attempt("direct_denied", by_path, denied);
    attempt("symlink_ok", by_path, link_ok);
    attempt("symlink_denied", by_path, link_denied);
    attempt("nofollow_link", nofollow, link_ok);
    attempt("opath_ok", by_opath, ok);
    attempt("opath_denied", by_opath, denied);
    attempt("fd_denied", by_fd, denied);
    attempt("procfd_ok", by_procfd, ok);
    attempt("procfd_denied", by_procfd, denied);
    attempt("deleted_ok", deleted_at, ok);
    attempt("deleted_denied", deleted_at, denied);
    attempt("deleted_procfd_denied", deleted_proc, denied);
    attempt("memfd_at", memfd_at, denied);
    attempt("memfd_procfd", memfd_proc, denied);
    attempt("memfd_mfd_exec", memfd_mfd_exec, denied);
    attempt("memfd_chmod", memfd_chmod, denied);
    attempt("script_ok", by_path, sh);
    attempt("script_denied_interpreter", by_path, bad);
    return 0;
}

/* ---- the race ---- */

static char path_buf[4096];
static const char *race_a, *race_b;
static atomic_int stop;

static void *toggler(void *unused) {
    (void)unused;
    size_t la = strlen(race_a) + 1, lb = strlen(race_b) + 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        memcpy(path_buf, race_a, la);
        memcpy(path_buf, race_b, lb);
    }
    return NULL;
}

static int race(const char *a, const char *b, int n) {
    race_a = a;
    race_b = b;
    memcpy(path_buf, a, strlen(a) + 1);
    pthread_t t;
    if (pthread_create(&t, NULL, toggler, NULL) != 0) {
        printf("race=SETUP:thread\n");
        return 1;
    }
    long ran = 0, eacces = 0, enoent = 0, other = 0, anon = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = vfork();
        if (pid == 0) {
            execve(path_buf, ARGV, environ);
            _exit(errno == EACCES ? 13 : errno == ENOENT ? 14 : 15);
        }
        if (pid < 0) {
            other++;
            continue;
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int c = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (c == 42)
            ran++;
        else if (c == 43)
            anon++;
        else if (c == 13)
            eacces++;
        else if (c == 14)
            enoent++;
        else
            other++;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("race ran=%ld eacces=%ld enoent=%ld other=%ld anon=%ld\n", ran, eacces, enoent,
           other, anon);
    return 0;
}

/* A copy of this program in a MAP_SHARED|MAP_ANONYMOUS mapping, raced
 * against `allowed` by its /proc/self/map_files path. */
static int race_anon(const char *allowed, int n) {
    int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (src < 0 || fstat(src, &st) != 0) {
        printf("race=SETUP:self\n");
        return 1;
    }
    size_t size = ((size_t)st.st_size + 4095) & ~(size_t)4095;
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        printf("race=SETUP:mmap\n");
        return 1;
    }
    size_t off = 0;
    ssize_t got;
    while (off < size && (got = read(src, m + off, size - off)) > 0)
        off += (size_t)got;
    close(src);
    static char anon[128];
    snprintf(anon, sizeof anon, "/proc/self/map_files/%lx-%lx", (unsigned long)m,
             (unsigned long)m + size);
    return race(allowed, anon, n);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "attempts") == 0)
        return attempts(argv[2]);
    if (argc == 1)
        return 43; /* the copy run by race_anon */
    if (argc == 4 && strcmp(argv[1], "race_anon") == 0)
        return race_anon(argv[2], atoi(argv[3]));
    if (argc == 5 && strcmp(argv[1], "race") == 0)
        return race(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: adv_exec attempts DIR | race ALLOWED DENIED N\n");
    return 2;
}
