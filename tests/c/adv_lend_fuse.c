/* A program that drops from root to uid 65534, then reads a FUSE mount
 * root made without allow_other (tests/c/fuse_serve.c): natively the
 * kernel refuses every task whose real, effective and saved ids are not
 * all the mount owner's (fuse_allow_current_process, EACCES), whatever
 * the file's mode; under a root fdsup, whose worker keeps fdsup's real and
 * effective ids, it must be refused the same.
 *
 * Usage (as root): adv_lend_fuse MNT
 * Prints before (root reads MNT/f), nobody_read, nobody_stat (a child that
 * dropped to 65534: setgroups(0), setresgid, setresuid), nobody_send (a
 * Unix datagram it sends), nobody_read_after_send, root_after (the
 * parent, still root, reads again: served as root), each OK or ERR:ENAME,
 * then done=1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *mnt;

static void report(const char *key, long r) {
    if (r >= 0)
        printf("%s=OK\n", key);
    else
        printf("%s=ERR:%s\n", key, strerrorname_np(errno));
    fflush(stdout);
}

static long read_f(void) {
    char path[4096], buf[16];
    snprintf(path, sizeof path, "%s/f", mnt);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    errno = e;
    if (n < 0)
        return -1;
    if (n != 5 || memcmp(buf, "fuse\n", 5)) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: adv_lend_fuse MNT\n");
        return 2;
    }
    mnt = argv[1];
    report("before", read_f());
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
            setresuid(65534, 65534, 65534)) {
            perror("drop");
            _exit(1);
        }
        report("nobody_read", read_f());
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/f", mnt);
        report("nobody_stat", stat(path, &st));
        /* A send fdsup makes with the program's ids for a Unix peer, then
         * the mount again: what the send took must be put back. */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0) {
            struct iovec v = {.iov_base = "x", .iov_len = 1};
            struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
            report("nobody_send", sendmsg(sv[0], &m, 0));
            /* Each read may go to another of fdsup's workers: a few. */
            long r = -1;
            for (int i = 0; i < 32 && r < 0; i++) {
                char sink[4];
                sendmsg(sv[0], &m, 0);
                recv(sv[1], sink, sizeof sink, MSG_DONTWAIT);
                r = read_f();
            }
            report("nobody_read_after_send", r);
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    report("root_after", read_f());
    printf("done=1\n");
    return 0;
}
