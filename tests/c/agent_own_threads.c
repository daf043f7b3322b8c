/* A container process looks into another thread of its own by that
 * thread's own /proc/<tid> (not /proc/self/task/<tid>), after making
 * itself non-dumpable (as a change of uid does): the kernel lets a task
 * into its own thread group whatever its credentials. Linked statically,
 * to run in a busybox container.
 *
 * Another process of its own (a non-dumpable child) stays refused.
 *
 * usage: agent_own_threads
 * Output: one "KEY=OK" or "KEY=ERR:errno" line per look, then "done=1". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;
static volatile pid_t other;

static void *thread(void *arg) {
    (void)arg;
    other = gettid();
    while (!stop) usleep(1000);
    return NULL;
}

static void say(const char *key, int ok) {
    if (ok) printf("%s=OK\n", key);
    else printf("%s=ERR:%d\n", key, errno);
}

static void look(const char *key, const char *fmt, int flags) {
    char p[128];
    snprintf(p, sizeof p, fmt, other);
    int fd = open(p, flags | O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && (flags & O_DIRECTORY)) {
        DIR *d = fdopendir(fd);
        say(key, d && readdir(d));
        if (d) closedir(d);
        return;
    }
    if (fd >= 0) close(fd);
    say(key, fd >= 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (prctl(PR_SET_DUMPABLE, 0) != 0) {
        perror("prctl");
        return 2;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, thread, NULL) != 0) return 2;
    while (!other) usleep(100);
    char p[128], link[256];
    /* Positive control: its own process's entries, as always. */
    look("self_fd", "/proc/self/fd", O_DIRECTORY);
    look("self_maps", "/proc/self/maps", 0);
    look("fd", "/proc/%d/fd", O_DIRECTORY);
    look("maps", "/proc/%d/maps", 0);
    snprintf(p, sizeof p, "/proc/%d/cwd", other);
    say("cwd", readlink(p, link, sizeof link) >= 0);
    snprintf(p, sizeof p, "/proc/%d/fd", other);
    say("access_fd", access(p, R_OK) == 0);
    stop = 1;
    pthread_join(t, NULL);
    /* Another process, non-dumpable too, is not its own: refused
     * (natively too, for want of CAP_SYS_PTRACE). */
    int pipefd[2];
    if (pipe(pipefd) != 0) return 2;
    pid_t child = fork();
    if (child == 0) {
        close(pipefd[1]);
        char b;
        while (read(pipefd[0], &b, 1) > 0) {
        }
        _exit(0);
    }
    close(pipefd[0]);
    other = child;
    look("child_maps", "/proc/%d/maps", 0);
    snprintf(p, sizeof p, "/proc/%d/cwd", other);
    say("child_cwd", readlink(p, link, sizeof link) >= 0);
    close(pipefd[1]);
    printf("done=1\n");
    return 0;
}
