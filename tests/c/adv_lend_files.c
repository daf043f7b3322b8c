/* A program that gives up privileges, then tries what only those would
 * allow: under a root fdsup, each call must be refused as the kernel
 * refuses it natively (fdsup makes the calls for the program, and must not
 * lend its own credentials to them).
 *
 * Usage (as root): adv_lend_files uid|caps|bound DIR
 *   uid    setgroups(0), setresgid(65534), setresuid(65534)
 *   caps   capset: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
 *          CAP_CHOWN from the effective set, staying uid 0
 *   bound  prctl(PR_CAPBSET_DROP) of the same four, then exec itself
 *          (the exec grants no more than the bounding set)
 *   exec   effective and file-system uid 65534, real and saved 0, then
 *          setfsuid(0) (the file capabilities back), asks, then execs
 *          itself (which sets the file-system uid 65534, no capability)
 *   proc   a child drops to 65534 and reads its root parent's /proc/<pid>
 *          links (refused natively), then its own (allowed); renames
 *          from directories it may not search, links by /proc/self/fd
 *   thread_exec  as exec, but a second thread execs while the first asks
 *   name   as uid, then a task name that is not UTF-8 (prctl(PR_SET_NAME)):
 *          fdsup reads the credentials from /proc/<tid>/status, whose
 *          first line is the name, and must not fall back to its own
 * DIR holds (made by the test): p/ (0700, uid 1000) with p/secret (0600);
 * q/ (0755, uid 1000) with q/file (0644) and q/fifo (0600); w/ (0777).
 * Prints key=OK or key=ERR:ENAME per check, then owner=UID (of the file it
 * made in w/), what a Unix peer learns of it (unix_peercred, unix_scm) and
 * done=1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir;

static void report(const char *key, long r) {
    if (r >= 0)
        printf("%s=OK\n", key);
    else
        printf("%s=ERR:%s\n", key, strerrorname_np(errno));
}

static const char *at(const char *rel) {
    static char buf[8][4096];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", dir, rel);
    return b;
}

static long open_close(const char *rel, int flags) {
    int fd = open(at(rel), flags | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    return fd;
}

static long bind_at(const char *rel) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", at(rel));
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    long r = bind(s, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(s);
    errno = e;
    return r;
}

/* A send naming this process's own credentials (SCM_CREDENTIALS), which
 * the kernel accepts from any sender; fdsup sends it, and the kernel
 * checks the pid against fdsup. Prints KEY_own_scm=UID:GID as received. */
static void own_scm(const char *key) {
    int sv[2];
    int on = 1;
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
        printf("%s_own_scm=ERR:%s\n", key, strerrorname_np(errno));
        return;
    }
    struct ucred mine = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {.iov_base = "x", .iov_len = 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_CREDENTIALS;
    h->cmsg_len = CMSG_LEN(sizeof mine);
    memcpy(CMSG_DATA(h), &mine, sizeof mine);
    char body[1];
    struct iovec riov = {.iov_base = body, .iov_len = 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } rctl;
    struct msghdr rh = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rctl.buf,
                        .msg_controllen = sizeof rctl.buf};
    if (sendmsg(sv[0], &mh, 0) != 1 || recvmsg(sv[1], &rh, 0) != 1) {
        printf("%s_own_scm=ERR:%s\n", key, strerrorname_np(errno));
    } else {
        struct cmsghdr *r = CMSG_FIRSTHDR(&rh);
        struct ucred u;
        if (r && r->cmsg_type == SCM_CREDENTIALS) {
            memcpy(&u, CMSG_DATA(r), sizeof u);
            printf("%s_own_scm=%u:%u\n", key, (unsigned)u.uid, (unsigned)u.gid);
        } else {
            printf("%s_own_scm=none\n", key);
        }
    }
    close(sv[0]);
    close(sv[1]);
}

/* What a Unix peer learns of this process: a listener and a receiver
 * that passes credentials, both its own, connected to and sent to (fdsup
 * makes both calls for it). Prints KEY_peercred=UID:GID (the effective
 * ids, SO_PEERCRED) and KEY_scm=UID:GID (the real ids, SCM_CREDENTIALS). */
static void peer_ids(const char *key, const char *rel) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    /* Named after the process: a stand-in runtime runs this program twice
     * at once (agent_socket), and one run's unlink must not take the
     * other's socket. */
    snprintf(a.sun_path, sizeof a.sun_path, "%s.%d.s", at(rel), (int)getpid());
    unlink(a.sun_path);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("%s_peercred=ERR:%s\n", key, strerrorname_np(errno));
    } else {
        int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        struct ucred u;
        socklen_t n = sizeof u;
        if (s >= 0 && getsockopt(s, SOL_SOCKET, SO_PEERCRED, &u, &n) == 0)
            printf("%s_peercred=%u:%u\n", key, (unsigned)u.uid, (unsigned)u.gid);
        else
            printf("%s_peercred=ERR:%s\n", key, strerrorname_np(errno));
        if (s >= 0)
            close(s);
    }
    close(l);
    close(c);
    unlink(a.sun_path);
    snprintf(a.sun_path, sizeof a.sun_path, "%s.%d.d", at(rel), (int)getpid());
    unlink(a.sun_path);
    int r = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int on = 1;
    char body[1];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } ctl;
    struct iovec iov = {.iov_base = body, .iov_len = 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    if (r < 0 || d < 0 || bind(r, (struct sockaddr *)&a, sizeof a) != 0 ||
        setsockopt(r, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0 ||
        sendto(d, "x", 1, 0, (struct sockaddr *)&a, sizeof a) != 1 || recvmsg(r, &mh, 0) != 1) {
        printf("%s_scm=ERR:%s\n", key, strerrorname_np(errno));
    } else {
        struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
        struct ucred u;
        if (h && h->cmsg_type == SCM_CREDENTIALS) {
            memcpy(&u, CMSG_DATA(h), sizeof u);
            printf("%s_scm=%u:%u\n", key, (unsigned)u.uid, (unsigned)u.gid);
        } else {
            printf("%s_scm=none\n", key);
        }
    }
    close(r);
    close(d);
    unlink(a.sun_path);
}

/* A stream send larger than what fdsup sends at once (4 MiB) to a
 * receiver that passes credentials: natively each buffer of the send
 * carries the sender's real ids; the distinct ones seen, in order. */
static void stream_creds(const char *key) {
    int sv[2], on = 1;
    size_t total = 10 << 20;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
        printf("%s=ERR:%s\n", key, strerrorname_np(errno));
        return;
    }
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        static char buf[1 << 16];
        unsigned seen[8][2];
        int ns = 0;
        size_t got = 0;
        close(sv[0]);
        while (got < total) {
            union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(struct ucred))];
            } ctl;
            struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
            struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
                                .msg_controllen = sizeof ctl.b};
            ssize_t n = recvmsg(sv[1], &mh, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
            struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
            struct ucred u = {0, (uid_t)-1, (gid_t)-1};
            if (h && h->cmsg_type == SCM_CREDENTIALS)
                memcpy(&u, CMSG_DATA(h), sizeof u);
            int k = 0;
            while (k < ns && (seen[k][0] != u.uid || seen[k][1] != u.gid))
                k++;
            if (k == ns && ns < 8) {
                seen[ns][0] = u.uid;
                seen[ns][1] = u.gid;
                ns++;
            }
        }
        printf("%s_got=%zu\n", key, got);
        for (int k = 0; k < ns; k++)
            printf("%s_cred%d=%d:%d\n", key, k, (int)seen[k][0], (int)seen[k][1]);
        fflush(stdout);
        _exit(0);
    }
    close(sv[1]);
    char *data = calloc(1, total);
    /* sendmsg: fdsup sends it (a send() without an address is native). */
    struct iovec iov = {.iov_base = data, .iov_len = total};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = data ? sendmsg(sv[0], &mh, 0) : -1;
    int e = errno;
    close(sv[0]);
    waitpid(c, NULL, 0);
    free(data);
    if (n < 0)
        printf("%s_sent=ERR:%s\n", key, strerrorname_np(e));
    else
        printf("%s_sent=%zd\n", key, n);
}

static volatile sig_atomic_t sigxfsz;

static void on_sigxfsz(int sig) {
    (void)sig;
    sigxfsz++;
}

static const int dropped[] = {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN};

static int checks(void) {
    struct stat st;
    /* A FIFO open that waits (a lent permission) ends the run here. */
    alarm(10);
    report("read_secret", open_close("p/secret", O_RDONLY));
    report("stat_secret", stat(at("p/secret"), &st));
    report("write_file", open_close("q/file", O_WRONLY | O_APPEND));
    report("create_in_q", open_close("q/new", O_WRONLY | O_CREAT));
    report("mkdir_in_q", mkdir(at("q/sub"), 0755));
    report("unlink_in_q", unlink(at("q/file")));
    report("rename_in_q", rename(at("q/file"), at("q/file2")));
    report("chmod_file", chmod(at("q/file"), 0666));
    report("chown_file", chown(at("q/file"), 0, 0));
    struct timeval tv[2] = {{1, 0}, {1, 0}};
    report("utimes_file", utimes(at("q/file"), tv));
    /* fdsup binds Unix sockets through a helper process of its own. */
    report("bind_in_q", bind_at("q/sock"));
    /* A FIFO opened for writing waits for a reader: fdsup opens it on a
     * thread of its own, which must carry the program's credentials too. */
    report("fifo_write", open_close("q/fifo", O_WRONLY));
    /* access() checks with the real ids (and, for a real uid of 0, the
     * permitted set): fdsup asks for the program with ids of its own. */
    report("access_secret", access(at("p/secret"), R_OK));
    report("access_write_file", access(at("q/file"), W_OK));
    report("access_read_file", access(at("q/file"), R_OK));
    /* A Unix peer learns the ids of the task that connects or sends,
     * which is fdsup's worker. */
    peer_ids("unix", "w/peer");
    own_scm("unix");
    /* Positive controls: what the program may still do. */
    report("read_public", open_close("q/file", O_RDONLY));
    report("create_in_w", open_close("w/made", O_WRONLY | O_CREAT));
    if (stat(at("w/made"), &st) == 0)
        printf("owner=%u\n", (unsigned)st.st_uid);
    /* A file made longer than RLIMIT_FSIZE: EFBIG and SIGXFSZ, the
     * program's limit (fdsup truncates for it, under its own). */
    signal(SIGXFSZ, on_sigxfsz);
    struct rlimit rl = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &rl) == 0) {
        report("truncate_fsize", truncate(at("w/made"), 1 << 20));
        printf("sigxfsz=%d\n", (int)sigxfsz);
    }
    printf("done=1\n");
    return 0;
}

static long read_link(const char *path) {
    char buf[4096];
    return readlink(path, buf, sizeof buf);
}

static long open_path(const char *path, int flags) {
    int fd = open(path, flags | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd;
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

/* The child drops to 65534 (which makes it non-dumpable) and looks into
 * its parent's /proc/<pid>, still root's: refused natively. It may look
 * into its own whatever its credentials, and fdsup must still read its
 * memory, working directory and descriptors to serve it. */
static int proc_looks(void) {
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0)
        return 3;
    if (child == 0) {
        int q = open(at("q"), O_PATH | O_DIRECTORY | O_CLOEXEC);
        int f = open(at("q/file"), O_RDONLY | O_CLOEXEC);
        /* An O_PATH descriptor of a file only root may read: reopening it
         * through /proc/self/fd is decided on the reopener's credentials. */
        int sec = open(at("p/secret"), O_PATH | O_CLOEXEC);
        /* A file of its own to link by its /proc/self/fd name. */
        int mine = open(at("w/mine"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (q < 0 || f < 0 || sec < 0 || mine < 0 || fchown(mine, 65534, 65534) != 0)
            _exit(3);
        /* A working directory it may not search once it has dropped. */
        if (chdir(at("p")) != 0)
            _exit(3);
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0)
            _exit(3);
        struct stat st;
        report("stat_unsearchable_cwd", stat(".", &st));
        if (chdir("/") != 0)
            _exit(3);
        char p[64];
        const char *links[] = {"cwd", "exe", "root", "fd/0"};
        for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
            snprintf(p, sizeof p, "/proc/%d/%s", (int)parent, links[i]);
            char key[32];
            snprintf(key, sizeof key, "parent_%s", links[i]);
            report(key, read_link(p));
        }
        snprintf(p, sizeof p, "/proc/%d/environ", (int)parent);
        report("parent_environ", open_path(p, O_RDONLY));
        snprintf(p, sizeof p, "/proc/%d/cwd/", (int)parent);
        report("parent_cwd_dir", open_path(p, O_RDONLY | O_DIRECTORY));
        /* Its own. */
        report("self_exe", read_link("/proc/self/exe"));
        report("self_cwd", read_link("/proc/self/cwd"));
        /* (Its environ is refused: a non-dumpable task's /proc files
         * belong to root, and environ is 0400.) */
        report("self_environ", open_path("/proc/self/environ", O_RDONLY));
        report("self_maps", open_path("/proc/self/maps", O_RDONLY));
        snprintf(p, sizeof p, "/proc/self/fd/%d", f);
        report("self_fd_reopen", open_path(p, O_RDONLY));
        snprintf(p, sizeof p, "/proc/self/fd/%d", sec);
        report("self_fd_secret", open_path(p, O_RDONLY));
        snprintf(p, sizeof p, "/proc/self/fdinfo/%d", f);
        report("self_fdinfo", open_path(p, O_RDONLY));
        DIR *d = opendir("/proc/self/fd");
        long listed = d ? 0 : -1;
        for (struct dirent *e; d && (e = readdir(d)) != NULL;)
            listed++;
        report("self_fd_list", listed);
        if (d) {
            printf("self_fd_entries=%s\n", listed > 4 ? "many" : "few");
            closedir(d);
        }
        snprintf(p, sizeof p, "/proc/%d/task/%d/cwd", (int)getpid(), (int)getpid());
        report("own_task_cwd", read_link(p));
        /* Its map_files directory: guarded as its fd directory is. */
        DIR *mf = opendir("/proc/self/map_files");
        report("self_map_files", mf ? 0 : -1);
        if (mf)
            closedir(mf);
        /* A rename from its parent's fd directory, which it may not search,
         * to its own: refused before anything in either is looked at,
         * whether the parent has that descriptor or not. */
        snprintf(p, sizeof p, "/proc/%d/fd/2", (int)parent);
        report("rename_parent_fd", rename(p, "/proc/self/fd/1"));
        snprintf(p, sizeof p, "/proc/%d/fd/999", (int)parent);
        report("rename_parent_nofd", rename(p, "/proc/self/fd/1"));
        /* From a directory it may not search, to another mount: its
         * search comes before the mounts are compared. */
        report("rename_unsearchable", rename(at("p/secret"), "/proc/self/fd/9"));
        /* A link of its own file by its /proc/self/fd name. */
        snprintf(p, sizeof p, "/proc/self/fd/%d", mine);
        report("link_self_fd", linkat(AT_FDCWD, p, AT_FDCWD, at("w/linked"), AT_SYMLINK_FOLLOW));
        /* What fdsup reads of it to serve it: a descriptor, the working
         * directory, memory both ways. */
        int g = openat(q, "file", O_RDONLY | O_CLOEXEC);
        report("openat_dirfd", g);
        report("fstatat_dirfd", fstatat(q, "file", &st, 0));
        report("chdir_q", fchdir(q));
        report("open_relative", open_path("file", O_RDONLY));
        /* A send to a closed peer raises SIGPIPE in the sender: fdsup
         * sends for it, so fdsup raises it, which a task of another uid
         * may only with CAP_KILL. */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            _exit(3);
        close(sv[1]);
        signal(SIGPIPE, on_sigpipe);
        struct iovec iov = {.iov_base = "x", .iov_len = 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        report("send_closed", sendmsg(sv[0], &mh, 0));
        printf("sigpipes=%d\n", (int)sigpipes);
        fflush(stdout);
        _exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 5;
    printf("done=1\n");
    return 0;
}

static void *exec_after(void *args) {
    usleep(2000);
    execv("/proc/self/exe", args);
    _exit(4);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 3)
        return 2;
    dir = argv[2];
    if (strcmp(argv[1], "uid") == 0) {
        /* The child drops and tries; then the parent, still root, must get
         * root's answers again (the supervisor's threads took back their
         * own credentials). */
        pid_t child = fork();
        if (child < 0)
            return 3;
        if (child == 0) {
            if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                setresuid(65534, 65534, 65534) != 0)
                _exit(3);
            checks();
            fflush(stdout);
            _exit(0);
        }
        int status;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return 5;
        struct stat st;
        report("parent_read_secret", open_close("p/secret", O_RDONLY));
        report("parent_create_in_q", open_close("q/parent", O_WRONLY | O_CREAT));
        if (stat(at("q/parent"), &st) == 0)
            printf("parent_owner=%u\n", (unsigned)st.st_uid);
        peer_ids("parent_unix", "w/ppeer");
        printf("parent_done=1\n");
        return 0;
    } else if (strcmp(argv[1], "name") == 0) {
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0)
            return 3;
        if (prctl(PR_SET_NAME, "\xff\xfe", 0, 0, 0) != 0)
            return 3;
    } else if (strcmp(argv[1], "self") == 0) {
        /* Asks as root first, after a credential call that changes
         * nothing that matters to root (its supplementary groups: fdsup
         * then looks at, and may remember, this task's credentials), then
         * drops and asks again: the second answer is nobody's. */
        if (setgroups(0, NULL) != 0)
            return 3;
        report("before_read_secret", open_close("p/secret", O_RDONLY));
        report("before_write_file", open_close("q/file", O_RDONLY));
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0)
            return 3;
    } else if (strcmp(argv[1], "exec") == 0) {
        /* Takes uid 65534 as its effective and file-system ids but keeps
         * root as its real and saved ones, then the file-system uid 0
         * again (which raises the file capabilities), asks as that (each
         * worker may remember it), then execs itself: the exec sets the
         * file-system uid to the effective one and clears the
         * capabilities, with no credential call that fdsup could see. */
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            syscall(SYS_setresuid, 0, 65534, 0) != 0)
            return 3;
        syscall(SYS_setfsuid, 0);
        long r = 0;
        for (int i = 0; i < 40 && r >= 0; i++)
            r = open_close("p/secret", O_RDONLY);
        report("before_read_secret", r);
        fflush(stdout);
        char *args[] = {argv[0], "after", argv[2], NULL};
        execv("/proc/self/exe", args);
        return 4;
    } else if (strcmp(argv[1], "thread_exec") == 0) {
        /* As exec, but a second thread execs while the first keeps
         * asking: the exec makes the second thread the process's leader,
         * with the leader's thread id (and pidfd), and ends the first,
         * which asks until then with the credentials from before. */
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            syscall(SYS_setresuid, 0, 65534, 0) != 0)
            return 3;
        syscall(SYS_setfsuid, 0);
        report("before_read_secret", open_close("p/secret", O_RDONLY));
        fflush(stdout);
        static char *args[4];
        args[0] = argv[0];
        args[1] = "after";
        args[2] = argv[2];
        pthread_t t;
        if (pthread_create(&t, NULL, exec_after, args) != 0)
            return 3;
        for (;;)
            open_close("p/secret", O_RDONLY);
    } else if (strcmp(argv[1], "caps") == 0) {
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        if (syscall(SYS_capget, &h, d) != 0)
            return 3;
        for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++)
            d[dropped[i] / 32].effective &= ~(1u << (dropped[i] % 32));
        if (syscall(SYS_capset, &h, d) != 0)
            return 3;
    } else if (strcmp(argv[1], "bound") == 0) {
        for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++)
            if (prctl(PR_CAPBSET_DROP, dropped[i], 0, 0, 0) != 0)
                return 3;
        char *args[] = {argv[0], "after", argv[2], NULL};
        execv("/proc/self/exe", args);
        return 4;
    } else if (strcmp(argv[1], "proc") == 0) {
        return proc_looks();
    } else if (strcmp(argv[1], "split") == 0) {
        /* Real ids 1000, effective 65534, saved 0: a peer learns the
         * effective ones on connect (SO_PEERCRED), the real ones on a send
         * (SCM_CREDENTIALS; fdsup names them in a message of its own). */
        if (setgroups(0, NULL) != 0 || setresgid(1000, 65534, 0) != 0 ||
            setresuid(1000, 65534, 0) != 0)
            return 3;
        peer_ids("split", "w/split");
        stream_creds("split_stream");
        printf("done=1\n");
        return 0;
    } else if (strcmp(argv[1], "after") != 0) {
        return 2;
    }
    return checks();
}
