/* A stand-in for an OCI runtime's last steps, for the fdsup agent tests:
 * installs a seccomp filter with a listener (openat, execve and execveat
 * notified), hands the listener to the agent at SOCKET as runc does (the
 * state JSON plus SCM_RIGHTS, the connection kept open), then, as the
 * runtime, opens PATH; forks a helper; and execs PROGRAM ARGS. The helper
 * waits until the exec happened (its copy of a close-on-exec pipe ends),
 * opens PATH again, then execs PROGRAM ARGS itself.
 *
 * usage: agent_fake_runtime SOCKET MODE ID METADATA PATH PROGRAM [ARG...]
 * MODE: "whole" sends the message in one write; "split" sends it in two,
 * 200 ms apart; both keep the connection open until the exec. "wrongfd"
 * passes standard output instead of the listener.
 *
 * Output lines: "runtime open: ok" / "runtime open: errno N", then
 * "helper open: ..." from the helper. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    dprintf(2, "agent_fake_runtime: %s: %s\n", what, strerror(errno));
    _exit(100);
}

static void say_open(const char *who, const char *path) {
    /* A raw openat: notified, answered by the agent. */
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        dprintf(1, "%s open: ok\n", who);
        close((int)fd);
    } else {
        dprintf(1, "%s open: errno %d\n", who, errno);
    }
}

int main(int argc, char **argv) {
    if (argc < 7) {
        dprintf(2, "usage: agent_fake_runtime SOCKET MODE ID METADATA PATH PROGRAM [ARG...]\n");
        return 2;
    }
    const char *sock = argv[1], *mode = argv[2], *id = argv[3], *meta = argv[4];
    const char *path = argv[5];
    char **prog = &argv[6];

    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog fp = {.len = sizeof f / sizeof f[0], .filter = f};

    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, sock, sizeof sa.sun_path - 1);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
    long l = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
    if (l < 0) die("seccomp");
    int listener = (int)l;

    char msg[4096];
    int n = snprintf(msg, sizeof msg,
                     "{\"ociVersion\":\"1.0.2\",\"fds\":[\"seccompFd\"],\"pid\":%d,"
                     "\"metadata\":\"%s\",\"state\":{\"ociVersion\":\"1.0.2\",\"id\":\"%s\","
                     "\"status\":\"creating\",\"pid\":%d,\"bundle\":\"/nowhere\"}}",
                     getpid(), meta, id, getpid());
    int first = strcmp(mode, "split") == 0 ? n / 2 : n;
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {.iov_base = msg, .iov_len = (size_t)first};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int passed = strcmp(mode, "wrongfd") == 0 ? 1 : listener;
    memcpy(CMSG_DATA(c), &passed, sizeof(int));
    /* An agent that refuses this peer may close the connection before the
     * message is sent (EPIPE, ECONNRESET): the listener is then never
     * handed over, and the runtime carries on as runc would not (its
     * requests fail closed, which is what the tests look at). */
    ssize_t sent = sendmsg(s, &mh, MSG_NOSIGNAL);
    int refused = sent < 0 && (errno == EPIPE || errno == ECONNRESET);
    if (!refused && sent != first) die("sendmsg");
    if (!refused && first < n) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        sent = send(s, msg + first, (size_t)(n - first), MSG_NOSIGNAL);
        refused = sent < 0 && (errno == EPIPE || errno == ECONNRESET);
        if (!refused && sent != n - first) die("write");
    }
    close(listener);
    /* The connection stays open (as runc's and crun's do), closed by the
     * exec (SOCK_CLOEXEC). */

    say_open("runtime", path);

    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0) die("pipe");
    pid_t helper = fork();
    if (helper < 0) die("fork");
    if (helper == 0) {
        close(sync[1]);
        char b;
        while (read(sync[0], &b, 1) > 0) {
        }
        /* The runtime has exec'd: this process is still the runtime's. */
        say_open("helper", path);
        execv(prog[0], prog);
        dprintf(1, "helper exec: errno %d\n", errno);
        _exit(127);
    }
    close(sync[0]);
    execv(prog[0], prog);
    dprintf(1, "runtime exec: errno %d\n", errno);
    return 127;
}
