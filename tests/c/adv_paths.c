/* Adversarial: path tricks against a secret file that the policy hides or
 * denies, each with a positive control reaching an allowed file the same way.
 *
 * Layout (made by the test): DIR/allowed/ (rw) holding ok.txt, sub/,
 * sub2/secret (an allowed file that happens to be called "secret"),
 * link_abs -> DIR/secret, link_rel -> ../secret, link_chain -> link_abs,
 * link_ok -> ok.txt; DIR/ro/file.txt (ro); DIR/secret (hidden or denied).
 *
 * Output: one line per attempt, "name=READ:<content>" (newlines shown as
 * '|') or "name=ERR:<errno name>"; the race modes print counters. The test
 * fails if the secret's token shows up anywhere.
 *
 * Usage: adv_paths MODE DIR
 *   static       every one-shot trick (also run by a grandchild in "grandchild")
 *   race_symlink a thread swaps a symlink between ok.txt and the secret
 *   race_dirswap a thread swaps a directory symlink between sub2 and DIR
 *   race_path    a thread rewrites the path buffer between ok.txt and the secret
 *   race_cwd     a thread moves the working directory between sub2 and DIR
 *   link_rename  give the secret a name in the allowed dir with link/rename
 *   grandchild   "static" from a grandchild whose parent has exited
 *   kill_sup     SIGKILL the supervisor, then try opens
 */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RACE_TRIES 20000

static const char *dir;
static char secret[4096], allowed_dir[4096], ok[4096], ro_file[4096];
static pid_t sup; /* the supervisor: our parent when we started */
static const char *pfx = "";

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Reads what FD holds (up to 200 bytes) into BUF, newlines as '|'. */
static void slurp(int fd, char *buf, size_t cap) {
    ssize_t n = read(fd, buf, cap - 1);
    if (n < 0)
        n = 0;
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n' || buf[i] == 0)
            buf[i] = '|';
}

static void result(const char *name, int fd) {
    if (fd < 0) {
        printf("%s%s=ERR:%s\n", pfx, name, ename(errno));
        return;
    }
    char buf[201];
    slurp(fd, buf, sizeof buf);
    printf("%s%s=READ:%s\n", pfx, name, buf);
    close(fd);
}

static void try_at(const char *name, int dfd, const char *path, int flags) {
    result(name, openat(dfd, path, flags));
}

static void try_open(const char *name, const char *path) { try_at(name, AT_FDCWD, path, O_RDONLY); }

static void try_openat2(const char *name, int dfd, const char *path, uint64_t resolve) {
    struct open_how how = {.flags = O_RDONLY, .resolve = resolve};
    result(name, (int)syscall(SYS_openat2, dfd, path, &how, sizeof how));
}

/* An O_PATH descriptor: only reported, never read. */
static int opath(const char *name, const char *path, int flags) {
    int fd = open(path, O_PATH | flags);
    printf("%s%s=%s\n", pfx, name, fd >= 0 ? "OK" : ename(errno));
    return fd;
}

static void static_checks(int scan_sup_threads) {
    char p[8192];
    try_open("direct", secret);
    opath("direct_opath", secret, 0);
    try_open("ok", ok);

    snprintf(p, sizeof p, "%s/link_abs", allowed_dir);
    try_open("link_abs", p);
    snprintf(p, sizeof p, "%s/link_rel", allowed_dir);
    try_open("link_rel", p);
    snprintf(p, sizeof p, "%s/link_chain", allowed_dir);
    try_open("link_chain", p);
    snprintf(p, sizeof p, "%s/link_ok", allowed_dir);
    try_open("link_ok", p);

    /* Symlinks made by the program itself (symlink(2) is not mediated). */
    char mine[4096], mine_ok[4096];
    snprintf(mine, sizeof mine, "%s/mylink.%d", allowed_dir, getpid());
    snprintf(mine_ok, sizeof mine_ok, "%s/mylink_ok.%d", allowed_dir, getpid());
    unlink(mine);
    unlink(mine_ok);
    printf("%smake_symlink=%s\n", pfx, symlink(secret, mine) == 0 ? "OK" : ename(errno));
    symlink(ok, mine_ok);
    try_open("mylink", mine);
    try_open("mylink_ok", mine_ok);
    try_at("mylink_nofollow_opath_read", AT_FDCWD, mine, O_RDONLY | O_NOFOLLOW);
    unlink(mine);
    unlink(mine_ok);

    snprintf(p, sizeof p, "%s/allowed/../secret", dir);
    try_open("dotdot1", p);
    snprintf(p, sizeof p, "%s/allowed/sub/../../secret", dir);
    try_open("dotdot2", p);
    snprintf(p, sizeof p, "%s/allowed/./sub/./../.././/secret", dir);
    try_open("dotdot3", p);
    snprintf(p, sizeof p, "%s/allowed/sub/../../allowed/../secret", dir);
    try_open("dotdot4", p);
    snprintf(p, sizeof p, "%s/allowed/sub/../ok.txt", dir);
    try_open("dotdot_ok", p);

    int adir = open(allowed_dir, O_RDONLY | O_DIRECTORY);
    printf("%sallowed_dirfd=%s\n", pfx, adir >= 0 ? "OK" : ename(errno));
    try_at("openat_dotdot", adir, "../secret", O_RDONLY);
    try_at("openat_sub_dotdot", adir, "sub/../../secret", O_RDONLY);
    try_at("openat_ok", adir, "ok.txt", O_RDONLY);
    try_openat2("openat2_beneath", adir, "../secret", RESOLVE_BENEATH);
    try_openat2("openat2_in_root", adir, "/../../secret", RESOLVE_IN_ROOT);
    try_openat2("openat2_abs", AT_FDCWD, secret, 0);
    snprintf(p, sizeof p, "%s/link_abs", allowed_dir);
    try_openat2("openat2_link_abs", AT_FDCWD, p, RESOLVE_NO_MAGICLINKS);
    try_openat2("openat2_ok", adir, "ok.txt", RESOLVE_BENEATH);

    /* The working directory: chdir/fchdir are not mediated; opens are. */
    printf("%sfchdir_allowed=%s\n", pfx, fchdir(adir) == 0 ? "OK" : ename(errno));
    try_open("fchdir_dotdot", "../secret");
    try_open("fchdir_ok", "ok.txt");
    try_open("fchdir_proc_cwd_dotdot", "/proc/self/cwd/../secret");
    try_open("fchdir_proc_cwd_ok", "/proc/self/cwd/ok.txt");
    printf("%schdir_secret_dir=%s\n", pfx, chdir(dir) == 0 ? "OK" : ename(errno));
    try_open("chdir_rel", "secret");
    try_open("chdir_dot_rel", "./secret");
    try_at("chdir_openat_cwd", AT_FDCWD, "secret", O_RDONLY);
    try_open("proc_self_cwd", "/proc/self/cwd/secret");
    try_open("proc_thread_self_cwd", "/proc/thread-self/cwd/secret");
    snprintf(p, sizeof p, "/proc/%d/cwd/secret", getpid());
    try_open("proc_pid_cwd", p);
    try_open("chdir_rel_ok", "allowed/ok.txt");
    try_open("proc_self_cwd_ok", "/proc/self/cwd/allowed/ok.txt");

    /* /proc magic links to the root. */
    snprintf(p, sizeof p, "/proc/self/root%s", secret);
    try_open("proc_self_root", p);
    snprintf(p, sizeof p, "/proc/thread-self/root%s", secret);
    try_open("proc_thread_self_root", p);
    snprintf(p, sizeof p, "/proc/%d/root%s", getpid(), secret);
    try_open("proc_pid_root", p);
    snprintf(p, sizeof p, "/proc/%d/task/%d/root%s", getpid(), (int)gettid(), secret);
    try_open("proc_pid_task_root", p);
    snprintf(p, sizeof p, "/proc/self/root/proc/self/root%s", secret);
    try_open("proc_root_root", p);
    snprintf(p, sizeof p, "/proc/self/root%s", ok);
    try_open("proc_self_root_ok", p);

    /* /proc/<pid>/fd/N of the secret's directory, if we can get one. */
    int sdir = opath("secret_dir_opath", dir, O_DIRECTORY);
    if (sdir >= 0) {
        try_at("secret_dir_openat", sdir, "secret", O_RDONLY);
        snprintf(p, sizeof p, "/proc/self/fd/%d/secret", sdir);
        try_open("secret_dir_procfd", p);
        snprintf(p, sizeof p, "/proc/%d/fd/%d/secret", getpid(), sdir);
        try_open("secret_dir_procpidfd", p);
        close(sdir);
    }
    int adir_path = opath("allowed_dir_opath", allowed_dir, O_DIRECTORY);
    snprintf(p, sizeof p, "/proc/self/fd/%d/../secret", adir_path);
    try_open("procfd_dotdot", p);
    snprintf(p, sizeof p, "/proc/%d/fd/%d/../secret", getpid(), adir_path);
    try_open("procpidfd_dotdot", p);
    snprintf(p, sizeof p, "/proc/thread-self/fd/%d/../secret", adir_path);
    try_open("procthreadfd_dotdot", p);
    snprintf(p, sizeof p, "/proc/self/fd/%d/ok.txt", adir_path);
    try_open("procfd_ok", p);
    snprintf(p, sizeof p, "/proc/self/fd/%d/link_abs", adir_path);
    try_open("procfd_link_abs", p);
    try_at("opath_dirfd_dotdot", adir_path, "../secret", O_RDONLY);
    if (adir_path >= 0)
        close(adir_path);
    /* The same through an ordinary (O_RDONLY) descriptor of the allowed dir. */
    snprintf(p, sizeof p, "/proc/self/fd/%d/../secret", adir);
    try_open("procfd_rd_dotdot", p);
    snprintf(p, sizeof p, "/proc/%d/fd/%d/../secret", getpid(), adir);
    try_open("procpidfd_rd_dotdot", p);
    snprintf(p, sizeof p, "/proc/self/fd/%d/link_abs", adir);
    try_open("procfd_rd_link_abs", p);
    snprintf(p, sizeof p, "/proc/self/fd/%d/ok.txt", adir);
    try_open("procfd_rd_ok", p);
    int okp = opath("ok_opath", ok, 0);
    snprintf(p, sizeof p, "/proc/self/fd/%d", okp);
    try_open("ok_opath_reopen", p);
    if (okp >= 0)
        close(okp);
    if (adir >= 0)
        close(adir);

    /* O_PATH of a ro file, reopened for writing through /proc/self/fd. */
    int rop = opath("ro_opath", ro_file, 0);
    snprintf(p, sizeof p, "/proc/self/fd/%d", rop);
    try_at("ro_reopen_rdwr", AT_FDCWD, p, O_RDWR);
    try_at("ro_reopen_wronly", AT_FDCWD, p, O_WRONLY);
    try_at("ro_reopen_trunc", AT_FDCWD, p, O_RDONLY | O_TRUNC);
    try_at("ro_reopen_append", AT_FDCWD, p, O_WRONLY | O_APPEND);
    snprintf(p, sizeof p, "/proc/%d/fd/%d", getpid(), rop);
    try_at("ro_reopen_pid_rdwr", AT_FDCWD, p, O_RDWR);
    snprintf(p, sizeof p, "/proc/self/fd/%d", rop);
    try_at("ro_reopen_rdonly", AT_FDCWD, p, O_RDONLY);
    int ror = open(ro_file, O_RDONLY);
    printf("%sro_open_rdonly=%s\n", pfx, ror >= 0 ? "OK" : ename(errno));
    snprintf(p, sizeof p, "/proc/self/fd/%d", ror);
    try_at("ro_rdfd_reopen_rdwr", AT_FDCWD, p, O_RDWR);
    try_at("ro_rdfd_reopen_wronly", AT_FDCWD, p, O_WRONLY);
    try_at("ro_rdfd_reopen_trunc", AT_FDCWD, p, O_RDONLY | O_TRUNC);
    try_at("ro_rdfd_reopen_append", AT_FDCWD, p, O_WRONLY | O_APPEND);
    try_at("ro_rdfd_reopen_rdonly", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/thread-self/fd/%d", ror);
    try_at("ro_rdfd_reopen_thread_rdwr", AT_FDCWD, p, O_RDWR);
    if (ror >= 0) {
        /* Writing through the read-only descriptor must fail too. */
        printf("%sro_write_via_rdonly_fd=%s\n", pfx, write(ror, "X", 1) == 1 ? "OK" : ename(errno));
        close(ror);
    }
    if (rop >= 0)
        close(rop);

    /* The supervisor's and init's /proc. */
    snprintf(p, sizeof p, "/proc/%d/environ", sup);
    try_open("sup_environ", p);
    snprintf(p, sizeof p, "/proc/%d/cmdline", sup);
    try_open("sup_cmdline", p);
    snprintf(p, sizeof p, "/proc/%d/status", sup);
    try_open("sup_status", p);
    snprintf(p, sizeof p, "/proc/%d/mem", sup);
    try_open("sup_mem", p);
    snprintf(p, sizeof p, "/proc/%d/root%s", sup, secret);
    try_open("sup_root_secret", p);
    snprintf(p, sizeof p, "/proc/%d/task/%d/environ", sup, sup);
    try_open("sup_task_environ", p);
    snprintf(p, sizeof p, "/proc/self/../%d/environ", sup);
    try_open("sup_via_self_dotdot", p);
    snprintf(p, sizeof p, "/proc/%d/fd", sup);
    opath("sup_fd_dir", p, O_DIRECTORY);
    const char *fd_result = "ENOENT";
    static char fd_buf[64];
    for (int n = 0; n < 32; n++) {
        snprintf(p, sizeof p, "/proc/%d/fd/%d", sup, n);
        int fd = open(p, O_RDONLY);
        if (fd >= 0 || errno != ENOENT) {
            snprintf(fd_buf, sizeof fd_buf, "fd%d:%s", n, fd >= 0 ? "OPENED" : ename(errno));
            fd_result = fd_buf;
            if (fd >= 0)
                close(fd);
            break;
        }
    }
    printf("%ssup_fd_n=%s\n", pfx, fd_result);
    try_open("init_environ", "/proc/1/environ");
    snprintf(p, sizeof p, "/proc/1/root%s", secret);
    try_open("init_root_secret", p);
    if (scan_sup_threads) {
        /* fdsup's threads have their own /proc/<tid>, not listed in /proc
         * but reachable by number. Nothing near fdsup's pid but us is in
         * the sandbox, so every one must be hidden. */
        const char *scan = "ENOENT";
        static char scan_buf[64];
        for (pid_t q = sup + 1; q < sup + 200; q++) {
            if (q == getpid())
                continue;
            snprintf(p, sizeof p, "/proc/%d/environ", q);
            int fd = open(p, O_RDONLY);
            if (fd >= 0 || errno != ENOENT) {
                snprintf(scan_buf, sizeof scan_buf, "pid%d:%s", q, fd >= 0 ? "OPENED" : ename(errno));
                scan = scan_buf;
                if (fd >= 0)
                    close(fd);
                break;
            }
        }
        printf("%ssup_thread_scan=%s\n", pfx, scan);
    }
    try_open("own_status", "/proc/self/status");
    snprintf(p, sizeof p, "/proc/%d/status", getpid());
    try_open("own_pid_status", p);
    printf("%sstatic_done\n", pfx);
}

/* ---- races ---- */

static volatile int stop;
static char allowed_content[256];

struct counts {
    long allowed, other, errs[134];
};

static void classify(struct counts *c, int fd, const char *name) {
    if (fd < 0) {
        c->errs[errno < 134 ? errno : 0]++;
        return;
    }
    char buf[201];
    slurp(fd, buf, sizeof buf);
    close(fd);
    if (!strcmp(buf, allowed_content)) {
        c->allowed++;
    } else {
        if (c->other < 3)
            printf("%s_other=READ:%s\n", name, buf);
        c->other++;
    }
}

static void print_counts(const char *name, struct counts *c) {
    printf("%s allowed=%ld other=%ld", name, c->allowed, c->other);
    for (int e = 0; e < 134; e++)
        if (c->errs[e])
            printf(" %s=%ld", ename(e), c->errs[e]);
    printf("\n");
}

static char swap_link[4096], swap_tmp_a[4096], swap_tmp_b[4096];
static char target_a[4096], target_b[4096];

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        unlink(swap_tmp_a);
        symlink(target_a, swap_tmp_a);
        rename(swap_tmp_a, swap_link);
        unlink(swap_tmp_b);
        symlink(target_b, swap_tmp_b);
        rename(swap_tmp_b, swap_link);
    }
    return NULL;
}

static void race_links(const char *name, const char *a, const char *b, const char *open_suffix) {
    snprintf(swap_link, sizeof swap_link, "%s/swap", allowed_dir);
    snprintf(swap_tmp_a, sizeof swap_tmp_a, "%s/swap.a", allowed_dir);
    snprintf(swap_tmp_b, sizeof swap_tmp_b, "%s/swap.b", allowed_dir);
    snprintf(target_a, sizeof target_a, "%s", a);
    snprintf(target_b, sizeof target_b, "%s", b);
    unlink(swap_link);
    symlink(target_a, swap_link);
    char path[8192];
    snprintf(path, sizeof path, "%s%s", swap_link, open_suffix);
    pthread_t t;
    pthread_create(&t, NULL, swapper, NULL);
    struct counts c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < RACE_TRIES; i++)
        classify(&c, open(path, O_RDONLY), name);
    stop = 1;
    pthread_join(t, NULL);
    print_counts(name, &c);
}

static char race_buf[4096];

static void *flipper(void *arg) {
    (void)arg;
    volatile char *b = race_buf;
    size_t ls = strlen(secret) + 1, lo = strlen(ok) + 1;
    while (!stop) {
        for (size_t i = 0; i < ls; i++)
            b[i] = secret[i];
        for (size_t i = 0; i < lo; i++)
            b[i] = ok[i];
    }
    return NULL;
}

static void race_path(void) {
    strcpy(race_buf, ok);
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    struct counts c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < RACE_TRIES; i++)
        classify(&c, open(race_buf, O_RDONLY), "race_path");
    stop = 1;
    pthread_join(t, NULL);
    print_counts("race_path", &c);
}

static char cwd_a[4096];

static void *cwd_flipper(void *arg) {
    (void)arg;
    while (!stop) {
        (void)!chdir(cwd_a);
        (void)!chdir(dir);
    }
    return NULL;
}

/* A thread moves the (shared) working directory between DIR/allowed/sub2,
 * whose "secret" is an allowed file, and DIR, whose "secret" is the secret,
 * while another opens "secret" relative to it. */
static void race_cwd(void) {
    snprintf(cwd_a, sizeof cwd_a, "%s/sub2", allowed_dir);
    pthread_t t;
    pthread_create(&t, NULL, cwd_flipper, NULL);
    struct counts c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < RACE_TRIES; i++)
        classify(&c, open("secret", O_RDONLY), "race_cwd");
    stop = 1;
    pthread_join(t, NULL);
    print_counts("race_cwd", &c);
}

static void read_allowed_content(void) {
    int fd = open(ok, O_RDONLY);
    if (fd < 0) {
        printf("cannot open ok.txt: %s\n", ename(errno));
        exit(3);
    }
    slurp(fd, allowed_content, sizeof allowed_content);
    close(fd);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3) {
        fprintf(stderr, "usage: adv_paths MODE DIR\n");
        return 2;
    }
    const char *mode = argv[1];
    dir = argv[2];
    sup = getppid();
    snprintf(secret, sizeof secret, "%s/secret", dir);
    snprintf(allowed_dir, sizeof allowed_dir, "%s/allowed", dir);
    snprintf(ok, sizeof ok, "%s/allowed/ok.txt", dir);
    snprintf(ro_file, sizeof ro_file, "%s/ro/file.txt", dir);

    if (!strcmp(mode, "static")) {
        static_checks(1);
    } else if (!strcmp(mode, "race_symlink")) {
        read_allowed_content();
        race_links("race_symlink", ok, secret, "");
    } else if (!strcmp(mode, "race_dirswap")) {
        /* DIR/allowed/sub2/secret holds the same text as ok.txt. */
        read_allowed_content();
        char sub2[4096];
        snprintf(sub2, sizeof sub2, "%s/sub2", allowed_dir);
        race_links("race_dirswap", sub2, dir, "/secret");
    } else if (!strcmp(mode, "race_path")) {
        read_allowed_content();
        race_path();
    } else if (!strcmp(mode, "race_cwd")) {
        read_allowed_content();
        race_cwd();
    } else if (!strcmp(mode, "link_rename")) {
        /* link(2) and rename(2) give the secret a second name inside the
         * allowed directory; SPEC.md: a hard link needs rw on the source,
         * a rename rw on both ends. */
        char hl[4096], mv[4096], okhl[4096], okmv[4096];
        snprintf(hl, sizeof hl, "%s/hardlink", allowed_dir);
        snprintf(mv, sizeof mv, "%s/moved", allowed_dir);
        snprintf(okhl, sizeof okhl, "%s/ok_hardlink", allowed_dir);
        snprintf(okmv, sizeof okmv, "%s/ok_moved", allowed_dir);
        printf("link_ok=%s\n", link(ok, okhl) == 0 ? "OK" : ename(errno));
        try_open("open_ok_hardlink", okhl);
        printf("rename_ok=%s\n", rename(okhl, okmv) == 0 ? "OK" : ename(errno));
        try_open("open_ok_moved", okmv);
        printf("link_secret=%s\n", link(secret, hl) == 0 ? "OK" : ename(errno));
        try_open("open_hardlink", hl);
        unlink(hl);
        printf("linkat_secret=%s\n",
               linkat(AT_FDCWD, secret, AT_FDCWD, hl, 0) == 0 ? "OK" : ename(errno));
        try_open("open_hardlink2", hl);
        unlink(hl);
        printf("rename_secret=%s\n", rename(secret, mv) == 0 ? "OK" : ename(errno));
        try_open("open_moved", mv);
        /* Put it back if it moved, so that the test sees the damage once. */
        rename(mv, secret);
        printf("link_rename_done\n");
    } else if (!strcmp(mode, "grandchild")) {
        int pfd[2];
        if (pipe(pfd) != 0)
            return 3;
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            close(pfd[0]);
            pid_t g = fork();
            if (g != 0)
                _exit(0); /* the grandchild is orphaned */
            /* Wait until we are re-parented (to fdsup, a subreaper). */
            for (int i = 0; i < 2000 && getppid() != sup; i++)
                usleep(1000);
            pfx = "gc.";
            printf("gc.ppid_is_sup=%s\n", getppid() == sup ? "yes" : "no");
            static_checks(0);
            fflush(stdout);
            _exit(0);
        }
        close(pfd[1]);
        waitpid(c, NULL, 0);
        char b;
        while (read(pfd[0], &b, 1) > 0) {
        }
        printf("grandchild_done\n");
    } else if (!strcmp(mode, "kill_sup")) {
        read_allowed_content();
        printf("before: ok=READ:%s\n", allowed_content);
        int r = kill(sup, SIGKILL);
        printf("kill_sup=%s\n", r == 0 ? "OK" : ename(errno));
        int i;
        for (i = 0; i < 5000 && getppid() == sup; i++)
            usleep(1000);
        printf("reparented=%s\n", getppid() != sup ? "yes" : "no");
        pfx = "after.";
        try_open("secret", secret);
        try_open("ok", ok);
        try_at("ok_creat", AT_FDCWD, ok, O_RDWR | O_CREAT);
        try_open("etc_hostname", "/etc/hostname");
        try_openat2("openat2_secret", AT_FDCWD, secret, 0);
        result("creat_new", creat(ok, 0644));
        /* The deny filter is the kernel's: it holds without fdsup. */
        printf("after.ptrace_traceme=%s\n", ptrace(PTRACE_TRACEME, 0, 0, 0) == 0 ? "OK" : ename(errno));
        char src[8] = "x", dst[8];
        struct iovec l = {dst, 8}, rm = {src, 8};
        printf("after.process_vm_readv=%s\n",
               syscall(SYS_process_vm_readv, getpid(), &l, 1, &rm, 1, 0) >= 0 ? "OK" : ename(errno));
        printf("kill_sup_done\n");
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
