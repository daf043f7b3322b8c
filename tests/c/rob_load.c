/* Load and faults (adversarial_load.rs, adversarial_faults.rs,
 * adversarial_soak.rs): one program, a mode per scenario. Results go to
 * stdout as name=value lines; nothing is written to stderr.
 *
 *   threads N FILE REPS   N threads, released at once by a barrier, each
 *                         opening (and reading) FILE REPS times.
 *   procs N R FILE        R rounds of N processes at once, each an exec of
 *                         this program ("child FILE": one open and read),
 *                         then waited.
 *   child FILE            see procs.
 *   phases FILE           commands on stdin, one a line, each answered by
 *                         one line: "open N" (N opens and closes), "hold"
 *                         (opens FILE without closing until an open fails,
 *                         then closes them all), "limit K" (RLIMIT_NOFILE
 *                         soft limit K). Ends at end-of-file.
 *   hammer FILE           16 threads and 4 child processes (4 threads each)
 *                         opening and stat'ing FILE forever; prints
 *                         "started=1" once all run.
 *   stopcont FILE N       8 threads, each N opens, reads and stats of FILE.
 *   soak DIR WARM TOTAL   mixed requests in DIR from 4 threads (open+read,
 *                         stat, listing, create+unlink, rename there and
 *                         back, and every 16th round a connect to a
 *                         listener of its own on 127.0.0.1) for WARM
 *                         seconds; then the threads idle at a barrier, the
 *                         counts are printed ("checkpoint=1" ... "idle=1")
 *                         and a line on stdin resumes them until TOTAL
 *                         seconds; then the same with "idle=2", and exit.
 *                         At each checkpoint every thread but the
 *                         listener's is idle (the same threads throughout),
 *                         so the supervisor holds only what it keeps.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *file_arg;
static int reps_arg;
static pthread_barrier_t barrier;
static atomic_long ok_count, fail_count;
static atomic_int first_errno;

static void note_fail(int e) {
    int zero = 0;
    atomic_fetch_add(&fail_count, 1);
    atomic_compare_exchange_strong(&first_errno, &zero, e);
}

static const char *ename(int e) {
    const char *n = e ? strerrorname_np(e) : "none";
    return n ? n : "unknown";
}

/* One open and read of FILE: 0 or the errno. */
static int open_read(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    char c;
    int r = read(fd, &c, 1) == 1 ? 0 : (errno ? errno : EIO);
    close(fd);
    return r;
}

static void *thread_opens(void *arg) {
    (void)arg;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < reps_arg; i++) {
        int e = open_read(file_arg);
        if (e)
            note_fail(e);
        else
            atomic_fetch_add(&ok_count, 1);
    }
    return NULL;
}

static pthread_t start_thread(void *(*fn)(void *), void *arg, size_t stack) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    if (stack)
        pthread_attr_setstacksize(&a, stack);
    pthread_t t;
    int e = pthread_create(&t, &a, fn, arg);
    pthread_attr_destroy(&a);
    if (e) {
        printf("pthread_create=%s\n", ename(e));
        fflush(stdout);
        exit(2);
    }
    return t;
}

static int mode_threads(int n, const char *file, int reps) {
    file_arg = file;
    reps_arg = reps;
    pthread_t *t = calloc(n, sizeof *t);
    pthread_barrier_init(&barrier, NULL, n);
    for (int i = 0; i < n; i++)
        t[i] = start_thread(thread_opens, NULL, 64 * 1024);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("threads=%d\nok=%ld\nfail=%ld\nerrno=%s\n", n, atomic_load(&ok_count),
           atomic_load(&fail_count), ename(atomic_load(&first_errno)));
    return atomic_load(&fail_count) ? 1 : 0;
}

/* One round: N processes at once, each an exec of SELF ("child FILE"). */
static void procs_round(int n, pid_t *pids, const char *self, const char *file, int *total,
                        int *ok, int *fail, int *fork_err) {
    int forked = 0;
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) {
            *fork_err = errno;
            break;
        }
        if (p == 0) {
            execl(self, self, "child", file, (char *)NULL);
            _exit(126);
        }
        pids[forked++] = p;
    }
    for (int i = 0; i < forked; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            (*ok)++;
        else
            (*fail)++;
    }
    *total += forked;
}

static int mode_procs(int n, int rounds, const char *self, const char *file) {
    pid_t *pids = calloc(n, sizeof *pids);
    int total = 0, ok = 0, fail = 0, fork_err = 0;
    for (int r = 0; r < rounds && !fork_err; r++)
        procs_round(n, pids, self, file, &total, &ok, &fail, &fork_err);
    printf("procs=%d\nok=%d\nfail=%d\nfork=%s\n", total, ok, fail, ename(fork_err));
    return (fail || total != n * rounds) ? 1 : 0;
}

static int mode_phases(const char *file) {
    char line[128];
    static int held[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        long n;
        if (sscanf(line, "open %ld", &n) == 1) {
            long ok = 0, err = 0;
            int first = 0;
            for (long i = 0; i < n; i++) {
                int e = open_read(file);
                if (e) {
                    err++;
                    if (!first)
                        first = e;
                } else {
                    ok++;
                }
            }
            printf("ok=%ld err=%ld errno=%s\n", ok, err, ename(first));
        } else if (strncmp(line, "hold", 4) == 0) {
            int k = 0, e = 0;
            while (k < (int)(sizeof held / sizeof held[0])) {
                int fd = open(file, O_RDONLY);
                if (fd < 0) {
                    e = errno;
                    break;
                }
                held[k++] = fd;
            }
            for (int i = 0; i < k; i++)
                close(held[i]);
            printf("held=%d errno=%s\n", k, ename(e));
        } else if (sscanf(line, "limit %ld", &n) == 1) {
            struct rlimit r;
            getrlimit(RLIMIT_NOFILE, &r);
            r.rlim_cur = n;
            printf("limit=%s\n", setrlimit(RLIMIT_NOFILE, &r) ? ename(errno) : "set");
        } else {
            printf("unknown=%s", line);
        }
        fflush(stdout);
    }
    return 0;
}

static void *thread_hammer(void *arg) {
    (void)arg;
    struct stat st;
    for (;;) {
        open_read(file_arg);
        stat(file_arg, &st);
    }
    return NULL;
}

static int mode_hammer(const char *file) {
    file_arg = file;
    for (int c = 0; c < 4; c++) {
        pid_t p = fork();
        if (p == 0) {
            for (int i = 0; i < 4; i++)
                start_thread(thread_hammer, NULL, 64 * 1024);
            for (;;)
                pause();
        }
    }
    for (int i = 0; i < 16; i++)
        start_thread(thread_hammer, NULL, 64 * 1024);
    printf("started=1\n");
    fflush(stdout);
    for (;;)
        pause();
    return 0;
}

static void *thread_stopcont(void *arg) {
    (void)arg;
    struct stat st;
    for (int i = 0; i < reps_arg; i++) {
        int e = open_read(file_arg);
        if (!e && stat(file_arg, &st))
            e = errno;
        if (e)
            note_fail(e);
        else
            atomic_fetch_add(&ok_count, 1);
    }
    return NULL;
}

static int mode_stopcont(const char *file, int n) {
    file_arg = file;
    reps_arg = n;
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = start_thread(thread_stopcont, NULL, 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    printf("ok=%ld\nfail=%ld\nerrno=%s\n", atomic_load(&ok_count), atomic_load(&fail_count),
           ename(atomic_load(&first_errno)));
    return atomic_load(&fail_count) ? 1 : 0;
}

/* ---- soak ---- */

static const char *soak_dir;
static atomic_int soak_stop;
static int soak_port;
static atomic_long soak_ops;
static atomic_long soak_fail[8];
static const char *soak_names[8] = {"open", "stat", "list", "create", "unlink", "rename", "connect", "other"};

static void soak_fail_at(int op) { atomic_fetch_add(&soak_fail[op], 1); }

static void *soak_listener(void *arg) {
    int s = *(int *)arg;
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c >= 0)
            close(c);
    }
    return NULL;
}

static pthread_barrier_t soak_idle, soak_go;
static atomic_int soak_quit;

/* One round of the mixed requests; `i` counts rounds. */
static void soak_round(long t, long i, const char *file, const char *a, const char *b) {
    char tmp[4096];
    struct stat st;
    if (open_read(file))
        soak_fail_at(0);
    if (stat(file, &st))
        soak_fail_at(1);
    DIR *d = opendir(soak_dir);
    if (!d) {
        soak_fail_at(2);
    } else {
        while (readdir(d))
            ;
        closedir(d);
    }
    snprintf(tmp, sizeof tmp, "%s/tmp-%ld-%ld", soak_dir, t, i % 8);
    int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        soak_fail_at(3);
    } else {
        close(fd);
        if (unlink(tmp))
            soak_fail_at(4);
    }
    if (rename(a, b) || rename(b, a))
        soak_fail_at(5);
    if (i % 16 == 0) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(soak_port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa))
            soak_fail_at(6);
        if (s >= 0)
            close(s);
    }
    atomic_fetch_add(&soak_ops, 1);
}

/* A worker: rounds while not stopped, then idle at the barrier until the
 * main thread resumes (or ends) the soak. The same threads throughout, so
 * that the supervisor sees the same tasks at both checkpoints. */
static void *soak_worker(void *arg) {
    long t = (long)arg;
    char file[4096], a[4096], b[4096];
    snprintf(file, sizeof file, "%s/file", soak_dir);
    snprintf(a, sizeof a, "%s/a-%ld", soak_dir, t);
    snprintf(b, sizeof b, "%s/b-%ld", soak_dir, t);
    int fd = open(a, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        soak_fail_at(3);
    else
        close(fd);
    long i = 0;
    for (;;) {
        while (!atomic_load(&soak_stop))
            soak_round(t, i++, file, a, b);
        pthread_barrier_wait(&soak_idle);
        pthread_barrier_wait(&soak_go);
        if (atomic_load(&soak_quit))
            return NULL;
    }
}

static void soak_checkpoint(int n) {
    printf("checkpoint=%d\nops=%ld\n", n, atomic_load(&soak_ops));
    for (int i = 0; i < 8; i++)
        printf("fail_%s=%ld\n", soak_names[i], atomic_load(&soak_fail[i]));
    printf("idle=%d\n", n);
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        exit(3);
}

static int mode_soak(const char *dir, int warm, int total) {
    soak_dir = dir;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) || listen(s, 128) ||
        getsockname(s, (struct sockaddr *)&sa, &len)) {
        printf("listener=%s\n", ename(errno));
        return 2;
    }
    soak_port = ntohs(sa.sin_port);
    start_thread(soak_listener, &s, 0);
    pthread_barrier_init(&soak_idle, NULL, 5);
    pthread_barrier_init(&soak_go, NULL, 5);
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        t[i] = start_thread(soak_worker, (void *)i, 0);
    sleep(warm);
    atomic_store(&soak_stop, 1);
    pthread_barrier_wait(&soak_idle);
    soak_checkpoint(1);
    atomic_store(&soak_stop, 0);
    pthread_barrier_wait(&soak_go);
    sleep(total - warm);
    atomic_store(&soak_stop, 1);
    pthread_barrier_wait(&soak_idle);
    soak_checkpoint(2);
    atomic_store(&soak_quit, 1);
    pthread_barrier_wait(&soak_go);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (argc == 5 && !strcmp(argv[1], "threads"))
        return mode_threads(atoi(argv[2]), argv[3], atoi(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "procs"))
        return mode_procs(atoi(argv[2]), atoi(argv[3]), argv[0], argv[4]);
    if (argc == 3 && !strcmp(argv[1], "child"))
        return open_read(argv[2]) ? 3 : 0;
    if (argc == 3 && !strcmp(argv[1], "phases"))
        return mode_phases(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "hammer"))
        return mode_hammer(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "stopcont"))
        return mode_stopcont(argv[2], atoi(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "soak"))
        return mode_soak(argv[2], atoi(argv[3]), atoi(argv[4]));
    printf("usage=bad\n");
    return 2;
}
