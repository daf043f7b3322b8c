/* Reaching a denied address through another spelling of it, run under
 * fdsup by tests/tests/adversarial_net_any.rs. Each attempt prints one
 * `name=value` line: OK, ERR:<errno name>, or a value.
 *
 *   adv_net_any TCP_DENIED TCP_ALLOWED UDP_DENIED UDP_ALLOWED
 *       The test listens (TCP, dual stack) on TCP_DENIED and TCP_ALLOWED
 *       and receives UDP on 127.0.0.1:UDP_DENIED and :UDP_ALLOWED; the
 *       policy denies 127.0.0.1 and [::1] on the *_DENIED ports and allows
 *       everything else. The kernel connects and sends to the unspecified
 *       address (0.0.0.0, ::, ::ffff:0.0.0.0) as to the loopback one (or
 *       the socket's bound address): each must be decided as that.
 *       Also: IPv4-mapped IPv6 (::ffff:127.0.0.1), sendmmsg with an
 *       allowed then a denied destination, a connected UDP socket then
 *       sendto a denied one, TCP Fast Open to a denied one (and to an
 *       allowed one, the control).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void report(const char *name, long r) {
    if (r >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=ERR:%s\n", name, strerrorname_np(errno));
    fflush(stdout);
}

static struct sockaddr_in v4(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, int port) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((unsigned short)port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static void tcp4(const char *name, const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4(ip, port);
    report(name, connect(s, (struct sockaddr *)&a, sizeof a));
    close(s);
}

static void tcp6(const char *name, const char *ip, int port) {
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = v6(ip, port);
    report(name, connect(s, (struct sockaddr *)&a, sizeof a));
    close(s);
}

static void udp4(const char *name, const char *ip, int port, const char *msg) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = v4(ip, port);
    report(name, sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a));
    close(s);
}

static void udp6(const char *name, const char *ip, int port, const char *msg) {
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = v6(ip, port);
    report(name, sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a));
    close(s);
}

int main(int argc, char **argv) {
    if (argc != 5)
        return 2;
    int td = atoi(argv[1]), ta = atoi(argv[2]), ud = atoi(argv[3]), ua = atoi(argv[4]);

    /* The unspecified address, every spelling. */
    tcp4("tcp4_any_allowed", "0.0.0.0", ta);
    tcp4("tcp4_any_denied", "0.0.0.0", td);
    tcp6("tcp6_any_allowed", "::", ta);
    tcp6("tcp6_any_denied", "::", td);
    tcp6("tcp6_mapped_any_denied", "::ffff:0.0.0.0", td);
    udp4("udp4_any_allowed", "0.0.0.0", ua, "any-allowed");
    udp4("udp4_any_denied", "0.0.0.0", ud, "any-denied");
    udp6("udp6_mapped_any_denied", "::ffff:0.0.0.0", ud, "mapped-any-denied");
    /* Bound to 127.0.0.1, the unspecified destination is that address. */
    {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in b = v4("127.0.0.1", 0);
        bind(s, (struct sockaddr *)&b, sizeof b);
        struct sockaddr_in a = v4("0.0.0.0", td);
        report("tcp4_bound_any_denied", connect(s, (struct sockaddr *)&a, sizeof a));
        close(s);
    }
    /* Fast Open to the unspecified address. */
    {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = v4("0.0.0.0", td);
        report("tfo_any_denied",
               sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof a));
        close(s);
    }

    /* IPv4-mapped IPv6. */
    tcp6("tcp6_mapped_denied", "::ffff:127.0.0.1", td);
    tcp6("tcp6_mapped_allowed", "::ffff:127.0.0.1", ta);
    udp6("udp6_mapped_denied", "::ffff:127.0.0.1", ud, "mapped-denied");

    /* sendmmsg: allowed, denied, allowed. */
    {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in ok = v4("127.0.0.1", ua), bad = v4("127.0.0.1", ud);
        struct iovec io[3] = {{"mm-1", 4}, {"mm-denied", 9}, {"mm-3", 4}};
        struct mmsghdr m[3];
        memset(m, 0, sizeof m);
        struct sockaddr_in *to[3] = {&ok, &bad, &ok};
        for (int i = 0; i < 3; i++) {
            m[i].msg_hdr.msg_name = to[i];
            m[i].msg_hdr.msg_namelen = sizeof ok;
            m[i].msg_hdr.msg_iov = &io[i];
            m[i].msg_hdr.msg_iovlen = 1;
        }
        int n = sendmmsg(s, m, 3, 0);
        printf("mmsg_count=%d\n", n);
        n = sendmmsg(s, &m[1], 2, 0);
        report("mmsg_denied_first", n);
        close(s);
    }
    /* Connected UDP, then sendto a denied address. */
    {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in ok = v4("127.0.0.1", ua), bad = v4("127.0.0.1", ud);
        report("udp_connect_allowed", connect(s, (struct sockaddr *)&ok, sizeof ok));
        report("udp_connected_sendto_denied",
               sendto(s, "conn-denied", 11, 0, (struct sockaddr *)&bad, sizeof bad));
        close(s);
    }
    /* TCP Fast Open. */
    {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in bad = v4("127.0.0.1", td);
        report("tfo_denied", sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&bad, sizeof bad));
        close(s);
        /* A listener of the program's own on the denied address: under
         * isolate (only there is the port free) it takes the connection. */
        int l = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(l, (struct sockaddr *)&bad, sizeof bad) == 0 && listen(l, 1) == 0) {
            s = socket(AF_INET, SOCK_STREAM, 0);
            report("tfo_inside", sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&bad, sizeof bad));
            int c = accept(l, NULL, NULL);
            char got = 0;
            printf("tfo_inside_got=%c\n", c >= 0 && read(c, &got, 1) == 1 ? got : '-');
            close(c);
            close(s);
        } else {
            printf("tfo_inside=SKIP\n");
        }
        close(l);
        /* The control: the same to the allowed listener. */
        s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in good = v4("127.0.0.1", ta);
        report("tfo_allowed", sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&good, sizeof good));
        close(s);
        s = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one);
        report("tfo_connect_denied", connect(s, (struct sockaddr *)&bad, sizeof bad));
        close(s);
    }
    printf("done=1\n");
    return 0;
}
