/* Adversarial, for "metadata": "visible": the looks (stat, access, readlink,
 * statfs, chdir, listings) run in the kernel, so the program sees names and
 * metadata of hidden and denied paths; nothing else may follow from that.
 * Each group tries to open, list or change what the policy hides or denies
 * by one class of trick, beside a positive control that reaches an allowed
 * thing the same way.
 *
 * Layout (made by the test), DIR:
 *   secret          hide (a random token)
 *   denied          deny (the token)
 *   hdir/           hide: key (the token), sub/, lnk -> key
 *   ddir/           deny: key (the token)
 *   work/           rw, the working directory:
 *     ok.txt        "ALLOWED-OK\n"
 *     data/pub/     key "PUBLIC\n"
 *     data/vault/   hide: key (the token)
 *     link_secret -> DIR/secret   link_hdir -> DIR/hdir
 *     link_rel -> ../hdir/key     link_ok -> ok.txt   link_pub -> data/pub
 *
 * Output: one line per attempt, "name=VALUE": READ:<content> ('|' for a
 * newline), LIST:<names> (sorted, comma-separated, without . and ..), OK
 * (a look or change that succeeded), or ERR:<errno name>.
 *
 * Usage: adv_visible MODE DIR
 *   looks     what the kernel answers (differs by mode: the test's pair)
 *   symlink   symbolic links, the program's own included
 *   dotdot    `..` and a working directory inside hidden and denied trees
 *   proc      /proc magic links: self/fd, self/cwd, self/root, <pid>/root,
 *             <pid>/cwd of the program, the supervisor and init
 *   rename    a thread renames hidden directories into and out of the
 *             working directory (and, the control, an allowed one) while
 *             another opens, lists and chdirs into them
 *   inherited fd 3 is a descriptor of hdir opened by fdsup's caller
 */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *dir;

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* DIR/REL in one of a few rotating buffers. */
static const char *at(const char *rel) {
    static char bufs[8][4200];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 4200, "%s/%s", dir, rel);
    return b;
}

static void err(const char *name) { printf("%s=ERR:%s\n", name, ename(errno)); }

/* A look or a change: OK or the errno. */
static void rc(const char *name, long r) {
    if (r < 0)
        err(name);
    else
        printf("%s=OK\n", name);
}

/* Opens, reads up to 200 bytes, closes. */
static void open_read(const char *name, int dfd, const char *path, int flags) {
    int fd = openat(dfd, path, flags);
    if (fd < 0) {
        err(name);
        return;
    }
    char buf[201];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) {
        printf("%s=ERR:%s\n", name, ename(errno));
        close(fd);
        return;
    }
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n' || buf[i] == 0)
            buf[i] = '|';
    printf("%s=READ:%s\n", name, buf);
    close(fd);
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of an open directory, sorted, into OUT. */
static void names(int fd, char *out, size_t cap) {
    DIR *d = fdopendir(fd);
    out[0] = 0;
    if (!d)
        return;
    char *v[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            v[n++] = strdup(e->d_name);
    closedir(d);
    qsort(v, n, sizeof v[0], cmp);
    for (int i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, v[i], cap - strlen(out) - 1);
        free(v[i]);
    }
}

/* Opens a directory (O_DIRECTORY) and lists it: the only way to a listing,
 * since getdents needs a descriptor. */
static void list(const char *name, int dfd, const char *path) {
    int fd = openat(dfd, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        err(name);
        return;
    }
    char out[4096];
    names(fd, out, sizeof out);
    printf("%s=LIST:%s\n", name, out);
}

/* O_PATH opens: only reported. */
static void opath(const char *name, int dfd, const char *path, int flags) {
    int fd = openat(dfd, path, O_PATH | flags);
    if (fd < 0) {
        err(name);
        return;
    }
    printf("%s=OK\n", name);
    close(fd);
}

/* Every change tried inside directory D (absolute or relative). */
static void changes(const char *pfx, const char *d) {
    char n[256], p[8400], q[8400];
    snprintf(p, sizeof p, "%s/key", d);
    snprintf(n, sizeof n, "%s_unlink", pfx);
    rc(n, unlink(p));
    snprintf(n, sizeof n, "%s_chmod", pfx);
    rc(n, chmod(p, 0666));
    snprintf(n, sizeof n, "%s_truncate", pfx);
    rc(n, truncate(p, 0));
    snprintf(q, sizeof q, "%s/stolen", at("work"));
    snprintf(n, sizeof n, "%s_rename_out", pfx);
    rc(n, rename(p, q));
    snprintf(n, sizeof n, "%s_link_out", pfx);
    rc(n, link(p, q));
    snprintf(q, sizeof q, "%s/new", d);
    snprintf(n, sizeof n, "%s_creat", pfx);
    rc(n, open(q, O_WRONLY | O_CREAT | O_EXCL, 0644));
    snprintf(n, sizeof n, "%s_mkdir", pfx);
    rc(n, mkdir(q, 0755));
    snprintf(n, sizeof n, "%s_symlink", pfx);
    rc(n, symlink("x", q));
    snprintf(n, sizeof n, "%s_open_append", pfx);
    rc(n, open(p, O_WRONLY | O_APPEND));
}

static void looks(void) {
    struct stat st;
    struct statfs sf;
    char buf[256];
    long r = stat(at("secret"), &st);
    if (r == 0)
        printf("stat_secret=OK:%lld\n", (long long)st.st_size);
    else
        err("stat_secret");
    rc("stat_denied", stat(at("denied"), &st));
    rc("lstat_hdir_lnk", lstat(at("hdir/lnk"), &st));
    ssize_t n = readlink(at("hdir/lnk"), buf, sizeof buf - 1);
    if (n >= 0) {
        buf[n] = 0;
        printf("readlink_hdir_lnk=OK:%s\n", buf);
    } else {
        err("readlink_hdir_lnk");
    }
    rc("access_hdir_key", access(at("hdir/key"), R_OK));
    rc("access_ddir_key", access(at("ddir/key"), R_OK));
    rc("statfs_hdir", statfs(at("hdir"), &sf));
    rc("stat_vault_key", stat(at("work/data/vault/key"), &st));
    rc("stat_proc_1", stat("/proc/1", &st));
    /* The positive control: an allowed file, in both modes. */
    r = stat(at("work/ok.txt"), &st);
    if (r == 0)
        printf("stat_ok=OK:%lld\n", (long long)st.st_size);
    else
        err("stat_ok");
    /* An allowed directory's listing: its hidden entry's name shows in
     * visible mode, not in policy mode. */
    list("list_data", AT_FDCWD, at("work/data"));
    /* The hidden tree itself can be neither opened nor so listed. */
    list("list_hdir", AT_FDCWD, at("hdir"));
    list("list_vault", AT_FDCWD, at("work/data/vault"));
    open_read("open_secret", AT_FDCWD, at("secret"), O_RDONLY);
    printf("looks_done\n");
}

static void symlinks(void) {
    char mine[4200], mine_ok[4200];
    open_read("link_secret", AT_FDCWD, "link_secret", O_RDONLY);
    open_read("link_rel", AT_FDCWD, "link_rel", O_RDONLY);
    open_read("link_hdir_key", AT_FDCWD, "link_hdir/key", O_RDONLY);
    open_read("link_hdir_lnk", AT_FDCWD, "link_hdir/lnk", O_RDONLY);
    list("link_hdir_list", AT_FDCWD, "link_hdir");
    opath("link_hdir_opath", AT_FDCWD, "link_hdir", O_DIRECTORY);
    opath("link_secret_opath", AT_FDCWD, "link_secret", 0);
    changes("link_hdir", "link_hdir");
    /* A symlink the program makes itself (symlink(2) in rw is allowed). */
    snprintf(mine, sizeof mine, "%s/mine", at("work"));
    snprintf(mine_ok, sizeof mine_ok, "%s/mine_ok", at("work"));
    rc("make_symlink", symlink(at("hdir"), mine));
    symlink(at("work/data/pub"), mine_ok);
    open_read("mine_key", AT_FDCWD, "mine/key", O_RDONLY);
    list("mine_list", AT_FDCWD, "mine");
    /* Positive controls: the same tricks to allowed things. */
    open_read("link_ok", AT_FDCWD, "link_ok", O_RDONLY);
    open_read("link_pub_key", AT_FDCWD, "link_pub/key", O_RDONLY);
    list("link_pub_list", AT_FDCWD, "link_pub");
    open_read("mine_ok_key", AT_FDCWD, "mine_ok/key", O_RDONLY);
    rc("link_pub_creat", open("link_pub/new", O_WRONLY | O_CREAT | O_EXCL, 0644));
    printf("symlink_done\n");
}

/* From a working directory the kernel let the program into (visible mode),
 * everything relative is still decided on the path it reaches. */
static void from_inside(const char *pfx, const char *target) {
    char n[256];
    char home[4200];
    getcwd(home, sizeof home);
    snprintf(n, sizeof n, "%s_chdir", pfx);
    long c = chdir(target);
    rc(n, c);
    if (c == 0) {
        snprintf(n, sizeof n, "%s_key", pfx);
        open_read(n, AT_FDCWD, "key", O_RDONLY);
        snprintf(n, sizeof n, "%s_sub_dotdot_key", pfx);
        open_read(n, AT_FDCWD, "sub/../key", O_RDONLY);
        snprintf(n, sizeof n, "%s_dot_list", pfx);
        list(n, AT_FDCWD, ".");
        snprintf(n, sizeof n, "%s_dot_opath", pfx);
        opath(n, AT_FDCWD, ".", O_DIRECTORY);
        snprintf(n, sizeof n, "%s_proc_cwd_key", pfx);
        open_read(n, AT_FDCWD, "/proc/self/cwd/key", O_RDONLY);
        snprintf(n, sizeof n, "%s_proc_cwd_list", pfx);
        list(n, AT_FDCWD, "/proc/self/cwd");
        char p[256];
        snprintf(p, sizeof p, "/proc/%d/cwd/key", getpid());
        snprintf(n, sizeof n, "%s_proc_pid_cwd_key", pfx);
        open_read(n, AT_FDCWD, p, O_RDONLY);
        snprintf(n, sizeof n, "%s", pfx);
        changes(n, ".");
        /* Out of it by `..`: refused from a hidden directory (the walk
         * never leaves one by `..`), allowed from a denied one. */
        snprintf(n, sizeof n, "%s_back_ok", pfx);
        open_read(n, AT_FDCWD, "../work/ok.txt", O_RDONLY);
        /* The positive control: an allowed file by its absolute path. */
        snprintf(n, sizeof n, "%s_abs_ok", pfx);
        open_read(n, AT_FDCWD, at("work/ok.txt"), O_RDONLY);
    }
    chdir(home);
}

static void dotdot(void) {
    open_read("abs_dotdot_key", AT_FDCWD, at("work/../hdir/key"), O_RDONLY);
    open_read("rel_dotdot_key", AT_FDCWD, "../hdir/key", O_RDONLY);
    open_read("rel_dotdot_secret", AT_FDCWD, "../secret", O_RDONLY);
    open_read("pub_dotdot_vault_key", AT_FDCWD, "data/pub/../vault/key", O_RDONLY);
    list("pub_dotdot_vault_list", AT_FDCWD, "data/pub/../vault");
    list("dotdot_hdir_list", AT_FDCWD, "../hdir");
    changes("dotdot_hdir", "../hdir");
    from_inside("in_hdir", "../hdir");
    from_inside("in_hdir_sub", "../hdir/sub");
    from_inside("in_ddir", "../ddir");
    from_inside("in_vault", "data/vault");
    /* Positive control: the same from an allowed directory. */
    open_read("rel_dotdot_ok", AT_FDCWD, "data/../ok.txt", O_RDONLY);
    char home[4200];
    getcwd(home, sizeof home);
    rc("in_pub_chdir", chdir("data/pub"));
    open_read("in_pub_key", AT_FDCWD, "key", O_RDONLY);
    list("in_pub_dot_list", AT_FDCWD, ".");
    open_read("in_pub_proc_cwd_key", AT_FDCWD, "/proc/self/cwd/key", O_RDONLY);
    rc("in_pub_creat", open("new", O_WRONLY | O_CREAT | O_EXCL, 0644));
    chdir(home);
    printf("dotdot_done\n");
}

static void proc(void) {
    char p[8400];
    int work = open(at("work"), O_PATH | O_DIRECTORY);
    snprintf(p, sizeof p, "/proc/self/fd/%d/../hdir/key", work);
    open_read("fd_dotdot_key", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/fd/%d/../hdir", work);
    list("fd_dotdot_hdir_list", AT_FDCWD, p);
    snprintf(p, sizeof p, "/proc/self/fd/%d/data/vault/key", work);
    open_read("fd_vault_key", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/root%s", at("secret"));
    open_read("self_root_secret", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/%d/root%s", getpid(), at("hdir/key"));
    open_read("pid_root_key", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/root%s", at("hdir"));
    list("self_root_hdir_list", AT_FDCWD, p);
    /* The supervisor (our parent) and init: their entries are visible in
     * this mode, their contents and links never. */
    pid_t pids[2] = {getppid(), 1};
    const char *who[2] = {"sup", "init"};
    for (int i = 0; i < 2; i++) {
        char n[64];
        struct stat st;
        snprintf(p, sizeof p, "/proc/%d", pids[i]);
        snprintf(n, sizeof n, "%s_stat", who[i]);
        rc(n, stat(p, &st));
        snprintf(p, sizeof p, "/proc/%d/environ", pids[i]);
        snprintf(n, sizeof n, "%s_environ", who[i]);
        open_read(n, AT_FDCWD, p, O_RDONLY);
        snprintf(p, sizeof p, "/proc/%d/root%s", pids[i], at("secret"));
        snprintf(n, sizeof n, "%s_root_secret", who[i]);
        open_read(n, AT_FDCWD, p, O_RDONLY);
        snprintf(p, sizeof p, "/proc/%d/cwd/ok.txt", pids[i]);
        snprintf(n, sizeof n, "%s_cwd_ok", who[i]);
        open_read(n, AT_FDCWD, p, O_RDONLY);
        snprintf(p, sizeof p, "/proc/%d/fd", pids[i]);
        snprintf(n, sizeof n, "%s_fd_list", who[i]);
        list(n, AT_FDCWD, p);
        snprintf(p, sizeof p, "/proc/%d/fd/0", pids[i]);
        snprintf(n, sizeof n, "%s_fd0", who[i]);
        opath(n, AT_FDCWD, p, 0);
        /* chdir through its root link: the kernel may let us in (it asks
         * only for ptrace read access); from there the secret is still
         * decided on its own path. */
        snprintf(p, sizeof p, "/proc/%d/root", pids[i]);
        char home[4200];
        getcwd(home, sizeof home);
        if (chdir(p) == 0) {
            snprintf(n, sizeof n, "%s_chdir_root_secret", who[i]);
            open_read(n, AT_FDCWD, at("secret") + 1, O_RDONLY);
            snprintf(n, sizeof n, "%s_chdir_root_hdir_list", who[i]);
            list(n, AT_FDCWD, at("hdir") + 1);
            chdir(home);
        }
    }
    /* /proc itself lists every process in this mode. */
    DIR *d = opendir("/proc");
    int init = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            init |= !strcmp(e->d_name, "1");
        closedir(d);
    }
    printf("proc_lists_init=%d\n", init);
    /* Positive controls: the program's own links to allowed things. */
    snprintf(p, sizeof p, "/proc/self/fd/%d/ok.txt", work);
    open_read("fd_ok", AT_FDCWD, p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/self/root%s", at("work/ok.txt"));
    open_read("self_root_ok", AT_FDCWD, p, O_RDONLY);
    open_read("self_cwd_ok", AT_FDCWD, "/proc/self/cwd/ok.txt", O_RDONLY);
    close(work);
    printf("proc_done\n");
}

/* ---- the rename race ---- */

#define ROUNDS 3000
static volatile int stop;
static int hidden_renames, pub_renames;
/* Made before the threads start: at()'s buffers are not shared safely. */
static char r_hdir[4200], r_moved[4200], r_vault[4200], r_vault_moved[4200], r_pub[4200],
    r_pub2[4200], r_pub_in_vault[4200], r_moved_key[4200], r_vault_moved_key[4200],
    r_hdir_key[4200], r_vault_key[4200], r_pub_in_vault_key[4200], r_pub_key[4200],
    r_pub2_key[4200];

static void *renamer(void *arg) {
    (void)arg;
    while (!stop) {
        /* Out of the hidden places and back: every one refused. */
        if (rename(r_hdir, r_moved) == 0) {
            hidden_renames++;
            rename(r_moved, r_hdir);
        }
        if (rename(r_vault, r_vault_moved) == 0) {
            hidden_renames++;
            rename(r_vault_moved, r_vault);
        }
        /* Into a hidden place and out again: refused too. */
        if (rename(r_pub, r_pub_in_vault) == 0) {
            hidden_renames++;
            rename(r_pub_in_vault, r_pub);
        }
        /* The control: an allowed directory moves. */
        if (rename(r_pub, r_pub2) == 0) {
            pub_renames++;
            rename(r_pub2, r_pub);
        }
    }
    return NULL;
}

/* -1: the open failed; 0: it read WANT; 1: it read something else. */
static int reads(const char *path, const char *want) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    char buf[201];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    if (n > 0 && strcmp(buf, want) != 0) {
        printf("LEAK:%s\n", buf);
        return 1;
    }
    return 0;
}

static void race(void) {
    snprintf(r_hdir, sizeof r_hdir, "%s/hdir", dir);
    snprintf(r_moved, sizeof r_moved, "%s/work/moved", dir);
    snprintf(r_vault, sizeof r_vault, "%s/work/data/vault", dir);
    snprintf(r_vault_moved, sizeof r_vault_moved, "%s/work/data/moved", dir);
    snprintf(r_pub, sizeof r_pub, "%s/work/data/pub", dir);
    snprintf(r_pub2, sizeof r_pub2, "%s/work/data/pub2", dir);
    snprintf(r_pub_in_vault, sizeof r_pub_in_vault, "%s/work/data/vault/pub", dir);
    snprintf(r_moved_key, sizeof r_moved_key, "%s/key", r_moved);
    snprintf(r_vault_moved_key, sizeof r_vault_moved_key, "%s/key", r_vault_moved);
    snprintf(r_hdir_key, sizeof r_hdir_key, "%s/key", r_hdir);
    snprintf(r_vault_key, sizeof r_vault_key, "%s/key", r_vault);
    snprintf(r_pub_in_vault_key, sizeof r_pub_in_vault_key, "%s/key", r_pub_in_vault);
    snprintf(r_pub_key, sizeof r_pub_key, "%s/key", r_pub);
    snprintf(r_pub2_key, sizeof r_pub2_key, "%s/key", r_pub2);
    const char *keys[] = {r_moved_key, r_vault_moved_key, r_hdir_key, r_vault_key,
                          r_pub_in_vault_key};
    const char *dirs[] = {r_moved, r_vault_moved, r_hdir, r_vault};
    char home[4200];
    getcwd(home, sizeof home);
    pthread_t t;
    pthread_create(&t, NULL, renamer, NULL);
    int leaks = 0, allowed = 0;
    for (int i = 0; i < ROUNDS; i++) {
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            if (reads(keys[k], "PUBLIC\n") >= 0)
                leaks++;
        for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
            int fd = open(dirs[k], O_RDONLY | O_DIRECTORY);
            if (fd >= 0) {
                leaks++;
                close(fd);
            }
            /* A native chdir in visible mode: it lands wherever the
             * directory is; what follows is still decided. */
            if (chdir(dirs[k]) == 0) {
                if (reads("key", "PUBLIC\n") >= 0)
                    leaks++;
                int d = open(".", O_RDONLY | O_DIRECTORY);
                if (d >= 0) {
                    leaks++;
                    close(d);
                }
                chdir(home);
            }
        }
        /* The control: the allowed directory, wherever it is now, also
         * from inside it. */
        if (reads(r_pub_key, "PUBLIC\n") == 0 || reads(r_pub2_key, "PUBLIC\n") == 0)
            allowed++;
        if (chdir(r_pub) == 0) {
            if (reads("key", "PUBLIC\n") == 0)
                allowed++;
            chdir(home);
        }
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("race_leaks=%d\nrace_hidden_renames=%d\nrace_allowed=%s\nrace_pub_renames=%s\n", leaks,
           hidden_renames, allowed ? "some" : "none", pub_renames ? "some" : "none");
    printf("rename_done\n");
}

/* fd 3: hdir, opened by whoever started fdsup. A listing of it runs in the
 * kernel in visible mode (names are visible there anyway); nothing in it
 * opens. */
static void inherited(void) {
    char out[4096];
    int d = dup(3);
    if (d < 0) {
        err("inherited_dup");
    } else {
        names(d, out, sizeof out);
        printf("inherited_list=LIST:%s\n", out);
    }
    open_read("inherited_key", 3, "key", O_RDONLY);
    opath("inherited_opath_key", 3, "key", 0);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/3/key");
    open_read("inherited_proc_key", AT_FDCWD, p, O_RDONLY);
    list("inherited_reopen_list", AT_FDCWD, "/proc/self/fd/3");
    rc("inherited_unlinkat", unlinkat(3, "key", 0));
    rc("inherited_mkdirat", mkdirat(3, "new", 0755));
    char home[4200];
    getcwd(home, sizeof home);
    long c = fchdir(3);
    rc("inherited_fchdir", c);
    if (c == 0) {
        open_read("inherited_fchdir_key", AT_FDCWD, "key", O_RDONLY);
        chdir(home);
    }
    open_read("inherited_ok", AT_FDCWD, "ok.txt", O_RDONLY);
    printf("inherited_done\n");
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    dir = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argv[1];
    if (!strcmp(m, "looks"))
        looks();
    else if (!strcmp(m, "symlink"))
        symlinks();
    else if (!strcmp(m, "dotdot"))
        dotdot();
    else if (!strcmp(m, "proc"))
        proc();
    else if (!strcmp(m, "rename"))
        race();
    else if (!strcmp(m, "inherited"))
        inherited();
    else
        return 2;
    return 0;
}
