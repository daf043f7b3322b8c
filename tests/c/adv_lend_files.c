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
 *   name   as uid, then a task name that is not UTF-8 (prctl(PR_SET_NAME)):
 *          fdsup reads the credentials from /proc/<tid>/status, whose
 *          first line is the name, and must not fall back to its own
 * DIR holds (made by the test): p/ (0700, uid 1000) with p/secret (0600);
 * q/ (0755, uid 1000) with q/file (0644) and q/fifo (0600); w/ (0777).
 * Prints key=OK or key=ERR:ENAME per check, then owner=UID (of the file it
 * made in w/) and done=1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
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
    /* Positive controls: what the program may still do. */
    report("read_public", open_close("q/file", O_RDONLY));
    report("create_in_w", open_close("w/made", O_WRONLY | O_CREAT));
    if (stat(at("w/made"), &st) == 0)
        printf("owner=%u\n", (unsigned)st.st_uid);
    printf("done=1\n");
    return 0;
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
    } else if (strcmp(argv[1], "after") != 0) {
        return 2;
    }
    return checks();
}
