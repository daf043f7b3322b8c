/* Adversarial network probes, run under fdsup by tests/tests/adversarial_network.rs.
 *
 *   adv_net race ALLOWED_PORT DENIED_PORT N
 *       A thread flips the port of one sockaddr_in between ALLOWED_PORT and
 *       DENIED_PORT as fast as it can, while the main thread connects a new
 *       blocking TCP socket to that sockaddr N times and reads one byte: the
 *       allowed server sends 'A', the denied one 'D'. Prints
 *       "race allowed=N denied=M refused=K other=J".
 *   adv_net sendmsg PORT
 *       sendmsg() of a UDP datagram to 127.0.0.1:PORT with msg_name;
 *       prints "sendmsg ok" or "sendmsg ERRNO".
 *   adv_net sendmmsg ALLOWED_PORT DENIED_PORT
 *       sendmmsg() of three datagrams: allowed, denied, allowed; prints
 *       "sendmmsg RESULT len0=L" (the kernel's partial count semantics).
 *   adv_net rights PATH
 *       sendmsg() with SCM_RIGHTS of a pipe's write end over a socketpair,
 *       then reads it back from the other end and writes through the
 *       received descriptor; prints "rights ok" if the byte arrives.
 *   adv_net foreign
 *       sendmsg() with SCM_RIGHTS naming numbers the program does not have;
 *       each must fail with EBADF; prints "foreign none".
 *   adv_net creds
 *       sendmsg() with SCM_CREDENTIALS of the program itself, then of
 *       another uid; prints "creds own ok" and "creds other EPERM" as an
 *       unprivileged program natively does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_in shared;
static atomic_int stop;
static unsigned short ports[2];

static void *flipper(void *arg) {
    (void)arg;
    unsigned i = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        /* volatile store so the compiler keeps every write */
        *(volatile unsigned short *)&shared.sin_port = htons(ports[i++ & 1]);
    }
    return NULL;
}

static int race(int allowed, int denied, int n) {
    ports[0] = (unsigned short)allowed;
    ports[1] = (unsigned short)denied;
    shared.sin_family = AF_INET;
    shared.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    shared.sin_port = htons(ports[0]);
    pthread_t t;
    if (pthread_create(&t, NULL, flipper, NULL) != 0) return 2;
    long a = 0, d = 0, refused = 0, other = 0;
    for (int i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) { other++; continue; }
        if (connect(s, (struct sockaddr *)&shared, sizeof shared) != 0) {
            if (errno == ECONNREFUSED) refused++; else other++;
            close(s);
            continue;
        }
        char c = 0;
        if (read(s, &c, 1) == 1) {
            if (c == 'A') a++; else if (c == 'D') d++; else other++;
        } else {
            other++;
        }
        close(s);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("race allowed=%ld denied=%ld refused=%ld other=%ld\n", a, d, refused, other);
    return 0;
}

static struct sockaddr_in lo(int port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)port);
    return sa;
}

static int do_sendmsg(int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = lo(port);
    char data[] = "hello";
    struct iovec iov = {data, 5};
    struct msghdr m = {0};
    m.msg_name = &sa;
    m.msg_namelen = sizeof sa;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (sendmsg(s, &m, 0) == 5) printf("sendmsg ok\n");
    else printf("sendmsg %s\n", strerrorname_np(errno));
    return 0;
}

static int do_sendmmsg(int allowed, int denied) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa[3] = {lo(allowed), lo(denied), lo(allowed)};
    char data[] = "hello";
    struct iovec iov = {data, 5};
    struct mmsghdr mm[3];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_name = &sa[i];
        mm[i].msg_hdr.msg_namelen = sizeof sa[i];
        mm[i].msg_hdr.msg_iov = &iov;
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_len = 999;
    }
    int r = sendmmsg(s, mm, 3, 0);
    if (r < 0) printf("sendmmsg %s\n", strerrorname_np(errno));
    else printf("sendmmsg %d len0=%u len1=%u\n", r, mm[0].msg_len, mm[1].msg_len);
    r = sendmmsg(s, &mm[1], 1, 0);
    if (r < 0) printf("sendmmsg-denied %s\n", strerrorname_np(errno));
    else printf("sendmmsg-denied %d\n", r);
    return 0;
}

static int rights(void) {
    int sp[2], p[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) != 0 || pipe(p) != 0) return 2;
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[1], sizeof(int));
    if (sendmsg(sp[0], &m, 0) != 1) { printf("rights send %s\n", strerrorname_np(errno)); return 1; }
    close(p[1]);
    char got;
    struct iovec riov = {&got, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ru;
    struct msghdr rm = {0};
    rm.msg_iov = &riov;
    rm.msg_iovlen = 1;
    rm.msg_control = ru.buf;
    rm.msg_controllen = sizeof ru.buf;
    if (recvmsg(sp[1], &rm, 0) != 1) { printf("rights recv %s\n", strerrorname_np(errno)); return 1; }
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
    if (!rc || rc->cmsg_type != SCM_RIGHTS) { printf("rights none\n"); return 1; }
    int fd;
    memcpy(&fd, CMSG_DATA(rc), sizeof fd);
    if (write(fd, "!", 1) != 1) { printf("rights write %s\n", strerrorname_np(errno)); return 1; }
    close(fd);
    char b = 0;
    if (read(p[0], &b, 1) == 1 && b == '!') printf("rights ok\n");
    else printf("rights lost\n");
    return 0;
}

/* SCM_RIGHTS naming numbers the program does not have (5..40): the
 * supervisor has descriptors there, and must never send its own. */
static int foreign(void) {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) != 0) return 2;
    for (int n = 5; n <= 40; n++) {
        if (n == sp[0] || n == sp[1]) continue;
        close(n);
        char byte = 'x';
        struct iovec iov = {&byte, 1};
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
        memset(&u, 0, sizeof u);
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &n, sizeof(int));
        if (sendmsg(sp[0], &m, MSG_DONTWAIT) >= 0) {
            printf("foreign %d sent\n", n);
            return 1;
        }
        if (errno != EBADF) {
            printf("foreign %d %s\n", n, strerrorname_np(errno));
            return 1;
        }
    }
    printf("foreign none\n");
    return 0;
}

/* SCM_CREDENTIALS: the program's own pass, another identity fails with
 * EPERM (as natively for an unprivileged program), even though fdsup, who
 * sends, may be root. */
static int creds(void) {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) != 0) return 2;
    struct ucred tries[2] = {
        {getpid(), getuid(), getgid()},
        {getpid(), getuid() + 1, getgid()},
    };
    for (int i = 0; i < 2; i++) {
        char byte = 'x';
        struct iovec iov = {&byte, 1};
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(struct ucred))]; } u;
        memset(&u, 0, sizeof u);
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_CREDENTIALS;
        c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
        memcpy(CMSG_DATA(c), &tries[i], sizeof(struct ucred));
        if (sendmsg(sp[0], &m, MSG_DONTWAIT) >= 0) printf("creds %s ok\n", i ? "other" : "own");
        else printf("creds %s %s\n", i ? "other" : "own", strerrorname_np(errno));
    }
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 5 && !strcmp(argv[1], "race")) return race(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    if (argc >= 3 && !strcmp(argv[1], "sendmsg")) return do_sendmsg(atoi(argv[2]));
    if (argc >= 4 && !strcmp(argv[1], "sendmmsg")) return do_sendmmsg(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 2 && !strcmp(argv[1], "rights")) return rights();
    if (argc >= 2 && !strcmp(argv[1], "foreign")) return foreign();
    if (argc >= 2 && !strcmp(argv[1], "creds")) return creds();
    fprintf(stderr, "usage: adv_net race|sendmsg|sendmmsg|rights ...\n");
    return 2;
}
