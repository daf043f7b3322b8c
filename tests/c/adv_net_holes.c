/* Network holes of issue 14, run under fdsup by
 * tests/tests/adversarial_net_holes.rs. Each attempt prints one
 * `name=value` line: OK, ERR:<errno name>, or a value.
 *
 *   adv_net_holes unix DIR
 *       DIR/work is the working directory (rw), DIR/ro read-only,
 *       DIR/hidden hidden, DIR/denied denied; the test listens on
 *       DIR/hidden/s.sock, DIR/denied/s.sock and DIR/work/outside.sock.
 *       Binds and connects there, and the positive controls in DIR/work.
 *   adv_net_holes cmsg
 *       sendmsg() with control messages whose lengths overflow or point
 *       past the end (each must fail EINVAL at once, alarm(20) guards a
 *       spin), then a good SCM_RIGHTS message whose descriptor arrives.
 *   adv_net_holes mmsg
 *       sendmmsg() of 1024 messages of 4 MiB each (one buffer) on a stream
 *       socketpair nobody reads, from 4 threads, 8 times each; prints
 *       mmsg_done and waits for standard input to close (the test samples
 *       the supervisor's memory meanwhile).
 *   adv_net_holes unspec ALLOWED_PORT DENIED_PORT
 *       sendto() from an IPv4 UDP socket with an address whose family is
 *       AF_UNSPEC (the kernel sends to its IPv4 address all the same), to
 *       127.0.0.1:ALLOWED_PORT and :DENIED_PORT, and bind() of an IPv4
 *       socket to AF_UNSPEC 0.0.0.0:0 (the kernel binds it as AF_INET).
 *   adv_net_holes nonblock DIR
 *       One thread connects blocking sockets to a Unix listener whose
 *       backlog is full (each connect ends by SIGALRM, no SA_RESTART), and
 *       TCP loopback connects, while another reads the socket's file status
 *       flags in a loop: O_NONBLOCK must never show.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static void report(const char *name, int r) {
    if (r >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=ERR:%s\n", name, strerrorname_np(errno));
    fflush(stdout);
}

static socklen_t un(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static int try_bind(const char *path) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t l = un(&a, path);
    int r = bind(s, (struct sockaddr *)&a, l);
    int e = errno;
    close(s);
    errno = e;
    return r;
}

static int try_connect(const char *path, int type) {
    int s = socket(AF_UNIX, type, 0);
    struct sockaddr_un a;
    socklen_t l = un(&a, path);
    int r = connect(s, (struct sockaddr *)&a, l);
    int e = errno;
    close(s);
    errno = e;
    return r;
}

static int try_sendto(const char *path) {
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a;
    socklen_t l = un(&a, path);
    int r = (int)sendto(s, "x", 1, 0, (struct sockaddr *)&a, l);
    int e = errno;
    close(s);
    errno = e;
    return r;
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static int unix_holes(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s/ro/x.sock", dir);
    report("bind_ro", try_bind(p));
    snprintf(p, sizeof p, "%s/hidden/y.sock", dir);
    report("bind_hidden", try_bind(p));
    snprintf(p, sizeof p, "%s/denied/y.sock", dir);
    report("bind_denied", try_bind(p));
    snprintf(p, sizeof p, "%s/hidden/s.sock", dir);
    report("connect_hidden", try_connect(p, SOCK_STREAM));
    report("sendto_hidden", try_sendto(p));
    snprintf(p, sizeof p, "%s/hidden/absent.sock", dir);
    report("connect_hidden_absent", try_connect(p, SOCK_STREAM));
    snprintf(p, sizeof p, "%s/denied/s.sock", dir);
    report("connect_denied", try_connect(p, SOCK_STREAM));
    /* Through a symbolic link in the working directory. */
    snprintf(p, sizeof p, "%s/hidden/s.sock", dir);
    unlink("link.sock");
    report("symlink", symlink(p, "link.sock"));
    report("connect_via_link", try_connect("link.sock", SOCK_STREAM));
    /* The positive controls: our own socket, bound relative, then absolute. */
    unlink("own.sock");
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t l = un(&a, "own.sock");
    report("bind_own", bind(srv, (struct sockaddr *)&a, l));
    report("listen_own", listen(srv, 8));
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    getsockname(srv, (struct sockaddr *)&got, &gl);
    printf("own_name=%s\n", got.sun_path);
    report("connect_own", try_connect("own.sock", SOCK_STREAM));
    snprintf(p, sizeof p, "%s/work/own.sock", dir);
    report("connect_own_abs", try_connect(p, SOCK_STREAM));
    snprintf(p, sizeof p, "%s/work/outside.sock", dir);
    report("connect_outside", try_connect(p, SOCK_STREAM));
    snprintf(p, sizeof p, "%s/ro/x.sock", dir);
    printf("ro_created=%d\n", exists(p));
    printf("unix_done\n");
    return 0;
}

static int send_cmsg(int s, uint64_t cmsg_len, size_t controllen) {
    char buf[256] __attribute__((aligned(8)));
    memset(buf, 0, sizeof buf);
    struct cmsghdr *c = (struct cmsghdr *)buf;
    memcpy(&c->cmsg_len, &cmsg_len, sizeof cmsg_len);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    int fd = 0;
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    struct iovec iov = {.iov_base = "m", .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = controllen};
    return (int)sendmsg(s, &m, MSG_DONTWAIT);
}

static int cmsg(void) {
    alarm(20);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct { const char *name; uint64_t len; size_t controllen; } cases[] = {
        {"cmsg_max", UINT64_MAX, 64},
        {"cmsg_wrap", UINT64_MAX - 7, 64},
        {"cmsg_wrap2", UINT64_MAX - 15, 64},
        {"cmsg_past_end", 200, 64},
        {"cmsg_short", 8, 64},
        {"cmsg_second_bad", 24, 64}, /* the next header (at 24) has length 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        report(cases[i].name, send_cmsg(sv[0], cases[i].len, cases[i].controllen));
    {
        /* A good first header, then one whose length wraps the offset of
         * the next back into the buffer. */
        uint64_t hdr[8] = {16, (uint64_t)SOL_SOCKET | ((uint64_t)99 << 32), UINT64_MAX - 7, 1, 0, 0, 0, 0};
        struct iovec iov = {.iov_base = "m", .iov_len = 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = hdr, .msg_controllen = sizeof hdr};
        report("cmsg_wrap_second", (int)sendmsg(sv[0], &m, MSG_DONTWAIT));
    }
    /* A good one: a pipe's write end passed, and a byte written through it. */
    int p[2];
    pipe(p);
    char buf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8)));
    memset(buf, 0, sizeof buf);
    struct cmsghdr *c = (struct cmsghdr *)buf;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(c), &p[1], sizeof(int));
    struct iovec iov = {.iov_base = "g", .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf};
    /* Drain what the bad cases may have left. */
    char junk[64];
    while (recv(sv[1], junk, sizeof junk, MSG_DONTWAIT) > 0) {
    }
    report("cmsg_good", (int)sendmsg(sv[0], &m, 0));
    char rbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8)));
    char byte;
    struct iovec riov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rbuf, .msg_controllen = sizeof rbuf};
    int got = -1;
    if (recvmsg(sv[1], &rm, 0) == 1) {
        struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
        if (rc && rc->cmsg_type == SCM_RIGHTS)
            memcpy(&got, CMSG_DATA(rc), sizeof(int));
    }
    char z = 0;
    printf("cmsg_fd_works=%d\n", got >= 0 && write(got, "Z", 1) == 1 && read(p[0], &z, 1) == 1 && z == 'Z');
    printf("cmsg_done\n");
    return 0;
}

#define BIG (4u << 20)
static char *big;

static void *mmsg_thread(void *arg) {
    (void)arg;
    static struct mmsghdr msgs[1024];
    static struct iovec iov = {0};
    iov.iov_base = big;
    iov.iov_len = BIG;
    for (int round = 0; round < 8; round++) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        for (int i = 0; i < 1024; i++) {
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov;
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        sendmmsg(sv[0], msgs, 1024, 0);
        close(sv[0]);
        close(sv[1]);
    }
    return NULL;
}

static int mmsg(void) {
    big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(big, 'b', BIG);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, mmsg_thread, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("mmsg_done\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}

static atomic_int nb_stop, nb_seen;
static atomic_int watched = -1;

static void *flags_watcher(void *arg) {
    (void)arg;
    while (!atomic_load(&nb_stop)) {
        int fd = atomic_load(&watched);
        if (fd >= 0) {
            int f = fcntl(fd, F_GETFL);
            if (f >= 0 && (f & O_NONBLOCK))
                atomic_fetch_add(&nb_seen, 1);
        }
    }
    return NULL;
}

static void on_alarm(int sig) { (void)sig; }

static int nonblock(const char *dir) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    char p[4096];
    snprintf(p, sizeof p, "%s/work/full.sock", dir);
    unlink(p);
    int lst = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t l = un(&a, p);
    bind(lst, (struct sockaddr *)&a, l);
    listen(lst, 0);
    /* Fill the backlog. */
    int filler[4];
    for (int i = 0; i < 4; i++) {
        filler[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(filler[i], (struct sockaddr *)&a, l);
    }
    pthread_t w;
    pthread_create(&w, NULL, flags_watcher, NULL);
    int eintr = 0, other = 0;
    for (int i = 0; i < 5; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        atomic_store(&watched, s);
        struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 100000}};
        setitimer(ITIMER_REAL, &it, NULL);
        int r = connect(s, (struct sockaddr *)&a, l);
        if (r < 0 && errno == EINTR)
            eintr++;
        else {
            other++;
            printf("connect_result=%d:%s\n", r, r < 0 ? strerrorname_np(errno) : "OK");
        }
        atomic_store(&watched, -1);
        close(s);
    }
    /* TCP loopback connects, as fast as they come. */
    int tl = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(tl, (struct sockaddr *)&in, sizeof in);
    listen(tl, 4096);
    socklen_t il = sizeof in;
    getsockname(tl, (struct sockaddr *)&in, &il);
    int tcp_ok = 0;
    for (int i = 0; i < 500; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        atomic_store(&watched, s);
        if (connect(s, (struct sockaddr *)&in, sizeof in) == 0)
            tcp_ok++;
        atomic_store(&watched, -1);
        close(s);
        int c = accept4(tl, NULL, NULL, SOCK_NONBLOCK);
        if (c >= 0)
            close(c);
    }
    atomic_store(&nb_stop, 1);
    pthread_join(w, NULL);
    printf("connect_eintr=%d\nconnect_other=%d\ntcp_ok=%d\nnonblock_seen=%d\nnonblock_done\n", eintr, other, tcp_ok,
           atomic_load(&nb_seen));
    return 0;
}

static int unspec(int allowed, int denied) {
    int ports[2] = {allowed, denied};
    const char *names[2] = {"unspec_allowed", "unspec_denied"};
    for (int i = 0; i < 2; i++) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_UNSPEC;
        a.sin_port = htons((unsigned short)ports[i]);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        report(names[i], (int)sendto(s, "unspec", 6, 0, (struct sockaddr *)&a, sizeof a));
        close(s);
    }
    int b = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in ba = {0};
    ba.sin_family = AF_UNSPEC;
    report("unspec_bind", bind(b, (struct sockaddr *)&ba, sizeof ba));
    printf("unspec_done\n");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 4 && strcmp(argv[1], "unspec") == 0)
        return unspec(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 3 && strcmp(argv[1], "unix") == 0)
        return unix_holes(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "cmsg") == 0)
        return cmsg();
    if (argc >= 2 && strcmp(argv[1], "mmsg") == 0)
        return mmsg();
    if (argc >= 3 && strcmp(argv[1], "nonblock") == 0)
        return nonblock(argv[2]);
    fprintf(stderr, "usage: adv_net_holes unix|cmsg|mmsg|nonblock [DIR]\n");
    return 2;
}
