/* Adversarial: tricks found by review of the foundation, each beside a
 * positive control (the same move on what the policy allows).
 *
 * Usage: adv_holes MODE DIR   (run with DIR/work as the working directory)
 *
 *   dirmove   rename a directory that holds hidden, denied or read-only
 *             entries, so that they would leave their rules' reach; link a
 *             file to a name the policy denies
 *   supproc   chdir into the supervisor's /proc/<pid> (chdir itself is not
 *             mediated) and open relative paths from there
 *   fdrace    reopen /proc/self/fd/10 for writing while another thread swaps
 *             fd 10 between a read-only file and a writable one
 *   deleted   unlink a read-only file held open, then reopen it for writing
 *             or give it a new name through /proc/self/fd
 *   wronly    fd 3 is the hidden secret, inherited open for appending only:
 *             reopen it for reading or as O_PATH
 *
 * Prints one `name=value` line per attempt: READ:<text>| for a read, OK, or
 * ERR:<errno name>.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *dir;

static const char *ename(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EXDEV: return "EXDEV";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case ELOOP: return "ELOOP";
    case ENXIO: return "ENXIO";
    case EROFS: return "EROFS";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static void result(const char *name, int r) {
    if (r < 0)
        printf("%s=ERR:%s\n", name, ename(errno));
    else
        printf("%s=OK\n", name);
    fflush(stdout);
}

/* Prints what reading fd gives (up to 200 bytes), or the error. */
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

static void show_open(const char *name, const char *path, int flags) {
    show_fd(name, open(path, flags));
}

static char *at(const char *rel) {
    static char bufs[8][4096];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 4096, "%s/%s", dir, rel);
    return b;
}

static void dirmove(void) {
    /* data/ holds data/secret (hidden), data/denied (denied), data/ro/
     * (read-only): moving data/ would take them out of their rules. */
    result("rename_data", rename("data", "d2"));
    show_open("after_d2_secret", "d2/secret/key", O_RDONLY);
    show_open("after_d2_denied", "d2/denied", O_RDONLY);
    int w = open("d2/ro/file", O_WRONLY | O_TRUNC);
    result("after_d2_ro_write", w);
    if (w >= 0) {
        write(w, "PWNED\n", 6);
        close(w);
    }
    result("renameat2_data", syscall(SYS_renameat2, AT_FDCWD, "data", AT_FDCWD, "d3", 0));
    result("exchange_data",
           syscall(SYS_renameat2, AT_FDCWD, "movable", AT_FDCWD, "data", 2 /* RENAME_EXCHANGE */));
    /* A directory whose only rule below is read-only. */
    result("rename_rodir", rename("rotree", "rotree2"));
    w = open("rotree2/inner/file", O_WRONLY | O_TRUNC);
    result("after_rotree2_write", w);
    if (w >= 0) {
        write(w, "PWNED\n", 6);
        close(w);
    }
    /* Positive controls: a directory with no rules below moves, and what it
     * holds comes along; so does a plain file. */
    result("rename_movable", rename("movable", "moved"));
    show_open("after_moved", "moved/f.txt", O_RDONLY);
    result("rename_file", rename("plain.txt", "plain2.txt"));
    show_open("after_plain2", "plain2.txt", O_RDONLY);
    /* A hard link to a name the policy denies (its directory is rw). */
    result("link_denied_name", link("plain2.txt", "denied_name"));
    result("link_ok_name", link("plain2.txt", "linked.txt"));
    show_open("after_linked", "linked.txt", O_RDONLY);
    printf("dirmove_done\n");
}

static void supproc(void) {
    char p[64];
    int sup = getppid();
    /* Positive control first: our own /proc/<pid>. */
    int ok = open("allowed.txt", O_RDONLY);
    snprintf(p, sizeof p, "/proc/%d", getpid());
    result("chdir_self", chdir(p));
    snprintf(p, sizeof p, "fd/%d", ok);
    show_open("self_fd", p, O_RDONLY);
    /* Back to a directory with nothing of the supervisor's in it, so that
     * a refused chdir below leaves the relative opens nothing to find. */
    chdir(at("work"));
    snprintf(p, sizeof p, "/proc/%d", sup);
    result("chdir_sup", chdir(p));
    show_open("sup_dot", ".", O_RDONLY | O_DIRECTORY);
    show_open("sup_environ", "environ", O_RDONLY);
    show_open("sup_fd0", "fd/0", O_RDONLY);
    show_open("sup_fd1", "fd/1", O_RDONLY);
    char secret[4200];
    snprintf(secret, sizeof secret, "root%s/secret", dir);
    show_open("sup_root_secret", secret, O_RDONLY);
    snprintf(secret, sizeof secret, "cwd/../secret");
    show_open("sup_cwd_secret", secret, O_RDONLY);
    show_open("sup_openat_fd", "fd", O_RDONLY | O_DIRECTORY);
    snprintf(p, sizeof p, "/proc/%d/fd", sup);
    result("chdir_sup_fd", chdir(p));
    for (int i = 0; i < 12; i++) {
        char name[32], key[32];
        snprintf(name, sizeof name, "%d", i);
        snprintf(key, sizeof key, "supfd_%d", i);
        int fd = open(name, O_RDONLY);
        if (fd >= 0) {
            printf("%s=OPENED\n", key);
            close(fd);
        }
    }
    printf("supproc_done\n");
}

static volatile int stop;
static int fd_ro, fd_rw;

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        dup2(fd_rw, 10);
        dup2(fd_ro, 10);
    }
    return NULL;
}

static void fdrace(void) {
    fd_ro = open(at("ro/file.txt"), O_RDONLY);
    fd_rw = open(at("work/w.txt"), O_RDWR);
    if (fd_ro < 0 || fd_rw < 0) {
        printf("setup=ERR:%s\n", ename(errno));
        return;
    }
    struct stat ro_st;
    fstat(fd_ro, &ro_st);
    /* Positive control: fd 10 is the writable file, no race. */
    dup2(fd_rw, 10);
    result("reopen_rw_plain", open("/proc/self/fd/10", O_RDWR));
    dup2(fd_ro, 10);
    show_open("reopen_ro_plain", "/proc/self/fd/10", O_RDONLY);
    result("reopen_ro_for_write", open("/proc/self/fd/10", O_RDWR));
    pthread_t t;
    pthread_create(&t, NULL, swapper, NULL);
    int wrote_ro = 0, got_rw = 0;
    for (int i = 0; i < 5000; i++) {
        int fd = open("/proc/self/fd/10", O_RDWR);
        if (fd < 0)
            continue;
        struct stat st;
        fstat(fd, &st);
        if (st.st_ino == ro_st.st_ino && st.st_dev == ro_st.st_dev) {
            wrote_ro++;
            pwrite(fd, "PWNED\n", 6, 0);
        } else {
            got_rw++;
        }
        close(fd);
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("race_ro_writable=%d\n", wrote_ro);
    printf("race_rw_reopened=%s\n", got_rw > 0 ? "some" : "none");
    printf("fdrace_done\n");
}

static void deleted(void) {
    int fd = open(at("ro/file.txt"), O_RDONLY);
    if (fd < 0) {
        printf("setup=ERR:%s\n", ename(errno));
        return;
    }
    /* unlink is not mediated yet: it may succeed, or not. */
    int u = unlink(at("ro/file.txt"));
    printf("unlinked=%s\n", u == 0 ? "yes" : "no");
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int w = open(p, O_RDWR);
    result("deleted_reopen_rw", w);
    if (w >= 0) {
        pwrite(w, "PWNED\n", 6, 0);
        close(w);
    }
    show_open("deleted_reopen_ro", p, O_RDONLY);
    result("deleted_link_follow",
           linkat(AT_FDCWD, p, AT_FDCWD, at("work/stolen"), AT_SYMLINK_FOLLOW));
    result("deleted_link_empty", linkat(fd, "", AT_FDCWD, at("work/stolen2"), AT_EMPTY_PATH));
    w = open(at("work/stolen"), O_RDWR);
    if (w >= 0) {
        pwrite(w, "PWNED\n", 6, 0);
        close(w);
    }
    w = open(at("work/stolen2"), O_RDWR);
    if (w >= 0) {
        pwrite(w, "PWNED\n", 6, 0);
        close(w);
    }
    /* Positive controls: a memfd and an O_TMPFILE the program made itself. */
    int m = memfd_create("mine", 0);
    write(m, "MEMFD\n", 6);
    snprintf(p, sizeof p, "/proc/self/fd/%d", m);
    show_open("memfd_reopen_rw", p, O_RDWR);
    int t = open(at("work"), O_TMPFILE | O_RDWR, 0600);
    write(t, "TMPFILE\n", 8);
    snprintf(p, sizeof p, "/proc/self/fd/%d", t);
    result("tmpfile_link_follow",
           linkat(AT_FDCWD, p, AT_FDCWD, at("work/named"), AT_SYMLINK_FOLLOW));
    show_open("tmpfile_named", at("work/named"), O_RDONLY);
    result("tmpfile_link_empty", linkat(t, "", AT_FDCWD, at("work/named2"), AT_EMPTY_PATH));
    show_open("tmpfile_named2", at("work/named2"), O_RDONLY);
    printf("deleted_done\n");
}

static void wronly(void) {
    show_open("wronly_reopen_ro", "/proc/self/fd/3", O_RDONLY);
    show_open("wronly_reopen_path", "/proc/self/fd/3", O_PATH);
    show_open("wronly_reopen_rw", "/proc/self/fd/3", O_RDWR);
    /* Positive control: within what fd 3 holds. */
    int w = open("/proc/self/fd/3", O_WRONLY | O_APPEND);
    result("wronly_reopen_wr", w);
    if (w >= 0) {
        write(w, "APPENDED\n", 9);
        close(w);
    }
    printf("wronly_done\n");
}

/* A path buffer flipped by another thread between an allowed file and
 * the hidden secret while stat, readlink, getxattr and chdir run on it. */
static char racebuf[4200];
static char race_ok[4200], race_bad[4200];

static void *flipper(void *arg) {
    (void)arg;
    while (!stop) {
        strcpy(racebuf, race_bad);
        strcpy(racebuf, race_ok);
    }
    return NULL;
}

static void pathrace(void) {
    /* DIR/work/allowed.txt is 8 bytes; DIR/hdir/ is a hidden directory
     * holding key (the secret) and DIR/secret the hidden secret file. */
    snprintf(race_ok, sizeof race_ok, "%s/work/allowed.txt", dir);
    snprintf(race_bad, sizeof race_bad, "%s/secret", dir);
    strcpy(racebuf, race_ok);
    struct stat sec;
    int leaks = 0, ok = 0;
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    for (int i = 0; i < 3000; i++) {
        struct stat st;
        if (stat(racebuf, &st) == 0) {
            if (st.st_size == 8)
                ok++;
            else
                leaks++;
        }
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("stat_race_leaks=%d\nstat_race_ok=%s\n", leaks, ok ? "some" : "none");
    (void)sec;

    /* chdir into the hidden directory by a race: the kernel runs chdir on
     * what the buffer holds then, so it may succeed; nothing may be read,
     * listed or even stat'ed from there. */
    snprintf(race_ok, sizeof race_ok, "%s/work", dir);
    snprintf(race_bad, sizeof race_bad, "%s/hdir", dir);
    strcpy(racebuf, race_ok);
    stop = 0;
    pthread_create(&t, NULL, flipper, NULL);
    int landed = 0, read_leaks = 0, open_leaks = 0, ok_chdirs = 0;
    char here[4200];
    for (int i = 0; i < 3000; i++) {
        if (chdir(racebuf) != 0)
            continue;
        ok_chdirs++;
        if (!getcwd(here, sizeof here) || strcmp(here, race_bad) != 0)
            continue;
        landed++;
        int fd = open("key", O_RDONLY);
        if (fd >= 0) {
            char b[200];
            ssize_t n = read(fd, b, sizeof b - 1);
            if (n > 0) {
                b[n] = 0;
                printf("LEAK:%s\n", b);
            }
            read_leaks++;
            open_leaks++;
            close(fd);
        }
        /* A look: the kernel's in visible mode, which shows names. */
        struct stat st;
        if (stat("key", &st) == 0)
            read_leaks++;
        fd = open(".", O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
            read_leaks++;
            open_leaks++;
            close(fd);
        }
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("chdir_race_read_leaks=%d\nchdir_race_open_leaks=%d\nchdir_race_landed=%d\n"
           "chdir_race_ok=%s\n",
           read_leaks, open_leaks, landed, ok_chdirs ? "some" : "none");
    printf("pathrace_done\n");
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: adv_holes MODE DIR\n");
        return 2;
    }
    dir = argv[2];
    const char *m = argv[1];
    if (!strcmp(m, "dirmove"))
        dirmove();
    else if (!strcmp(m, "supproc"))
        supproc();
    else if (!strcmp(m, "fdrace"))
        fdrace();
    else if (!strcmp(m, "deleted"))
        deleted();
    else if (!strcmp(m, "wronly"))
        wronly();
    else if (!strcmp(m, "pathrace"))
        pathrace();
    else
        return 2;
    return 0;
}
