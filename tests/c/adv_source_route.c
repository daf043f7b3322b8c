/* Source routes and borrowed privileges in control messages, run natively
 * and under fdsup by tests/tests/adversarial_source_route.rs. Each attempt
 * prints one `name=value` line: OK, or ERR:<errno name>.
 *
 *   adv_source_route PORT LOW [drop]
 *       UDP to 127.0.0.1:PORT and [::1]:PORT (the test listens there);
 *       LOW is a free port below 1024, bound over TCP and UDP at the end
 *       (fdsup binds for the program: CAP_NET_BIND_SERVICE is asked of it).
 *       With `drop` the program first makes itself uid/gid 65534, as a
 *       build step that drops root would: what the kernel refuses it must
 *       stay refused when fdsup, still root, sends its messages.
 *
 * The tricks: a loose source route as an IP option (`setsockopt
 * IP_OPTIONS`, or an `IP_RETOPTS` control message) or an IPv6 routing
 * header (`setsockopt IPV6_RTHDR`, the RFC 2292 sticky options, an
 * `IPV6_RTHDR` control message) makes the kernel send to the route's first
 * hop instead of the address fdsup decided. The positive controls: a plain
 * send, a record-route option and a free priority still pass.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <linux/in6.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void report(const char *name, int r) {
    if (r >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=ERR:%s\n", name, strerrorname_np(errno));
    fflush(stdout);
}

static struct sockaddr_in v4;
static struct sockaddr_in6 v6;

/* sendmsg() of "abc" with one control message. */
static int with_cmsg(int s, int six, int level, int type, const void *body, size_t len) {
    union {
        char buf[256];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    char data[] = "abc";
    struct iovec io = {data, 3};
    struct msghdr m = {0};
    m.msg_name = six ? (void *)&v6 : (void *)&v4;
    m.msg_namelen = six ? sizeof v6 : sizeof v4;
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = CMSG_SPACE(len);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(c), body, len);
    return (int)sendmsg(s, &m, 0);
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int port = atoi(argv[1]);
    int low = atoi(argv[2]);
    int dropped = argc > 3 && strcmp(argv[3], "drop") == 0;
    if (dropped) {
        if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0) {
            perror("drop");
            return 2;
        }
    }
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    inet_pton(AF_INET6, "::1", &v6.sin6_addr);

    /* The first hop of the routes: an address no rule allows. */
    unsigned char lsrr[8] = {IPOPT_NOP, IPOPT_LSRR, 7, 4, 192, 0, 2, 1};
    unsigned char rr[8] = {IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_END};
    unsigned char sec[4] = {130, 4, 0, 0};
    /* A segment-routing header (type 4) with one segment, 2001:db8::1. */
    unsigned char srh[24] = {0, 2, 4, 0, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                             0, 0,  0, 0, 0, 0, 0, 1};
    unsigned char hop[8] = {0, 0, 1, 4, 0, 0, 0, 0};

    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    report("plain_send", (int)sendto(s, "abc", 3, 0, (void *)&v4, sizeof v4));
    report("plain_send6", (int)sendto(s6, "abc", 3, 0, (void *)&v6, sizeof v6));

    report("cmsg_lsrr", with_cmsg(s, 0, SOL_IP, IP_RETOPTS, lsrr, sizeof lsrr));
    /* The same route in 10 bytes: the kernel pads the options with
     * IPOPT_END to 12 before it reads them (found in review). */
    unsigned char lsrr_pad[10] = {IPOPT_NOP, IPOPT_LSRR, 11, 4, 192, 0, 2, 1, 127, 0};
    report("cmsg_lsrr_pad", with_cmsg(s, 0, SOL_IP, IP_RETOPTS, lsrr_pad, sizeof lsrr_pad));
    report("cmsg_rr", with_cmsg(s, 0, SOL_IP, IP_RETOPTS, rr, sizeof rr));
    report("cmsg_sec", with_cmsg(s, 0, SOL_IP, IP_RETOPTS, sec, sizeof sec));
    int mark = 7, prio7 = 7, prio6 = 6;
    report("cmsg_mark", with_cmsg(s, 0, SOL_SOCKET, SO_MARK, &mark, sizeof mark));
    report("cmsg_prio7", with_cmsg(s, 0, SOL_SOCKET, SO_PRIORITY, &prio7, sizeof prio7));
    report("cmsg_prio6", with_cmsg(s, 0, SOL_SOCKET, SO_PRIORITY, &prio6, sizeof prio6));
    report("cmsg_hopopts", with_cmsg(s6, 1, SOL_IPV6, IPV6_HOPOPTS, hop, sizeof hop));
    report("cmsg_rthdr", with_cmsg(s6, 1, SOL_IPV6, IPV6_RTHDR, srh, sizeof srh));

    int a = socket(AF_INET, SOCK_DGRAM, 0);
    report("ip_options_rr", setsockopt(a, SOL_IP, IP_OPTIONS, rr, sizeof rr));
    int b = socket(AF_INET, SOCK_DGRAM, 0);
    int r = setsockopt(b, SOL_IP, IP_OPTIONS, lsrr, sizeof lsrr);
    report("ip_options_lsrr", r);
    if (r == 0)
        report("ip_options_lsrr_send", (int)sendto(b, "abc", 3, 0, (void *)&v4, sizeof v4));
    int c = socket(AF_INET6, SOCK_DGRAM, 0);
    r = setsockopt(c, SOL_IPV6, IPV6_RTHDR, srh, sizeof srh);
    report("rthdr", r);
    if (r == 0)
        report("rthdr_send", (int)sendto(c, "abc", 3, 0, (void *)&v6, sizeof v6));
    int d = socket(AF_INET6, SOCK_DGRAM, 0);
    /* RFC 2292 sticky options: a buffer of control messages. */
    union {
        char buf[64];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct cmsghdr *cm = (struct cmsghdr *)u.buf;
    cm->cmsg_level = SOL_IPV6;
    cm->cmsg_type = IPV6_RTHDR;
    cm->cmsg_len = CMSG_LEN(sizeof srh);
    memcpy(CMSG_DATA(cm), srh, sizeof srh);
    report("pktoptions", setsockopt(d, SOL_IPV6, IPV6_2292PKTOPTIONS, u.buf, CMSG_SPACE(sizeof srh)));
    report("tclass", setsockopt(d, SOL_IPV6, IPV6_TCLASS, &prio6, sizeof prio6));
    /* A flow label, which may carry a routing header among its options. */
    struct in6_flowlabel_req fl;
    memset(&fl, 0, sizeof fl);
    fl.flr_dst = v6.sin6_addr;
    fl.flr_action = IPV6_FL_A_GET;
    fl.flr_flags = IPV6_FL_F_CREATE;
    fl.flr_share = IPV6_FL_S_EXCL;
    /* A label of its own: a label lingers for seconds after use. */
    fl.flr_label = htonl(((unsigned)getpid() % 0xfff00u) + 0x10u);
    report("flowlabel", setsockopt(d, SOL_IPV6, IPV6_FLOWLABEL_MGR, &fl, sizeof fl));
    struct sockaddr_in lo4 = v4;
    lo4.sin_port = htons(low);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    report("bind_low_tcp", bind(t, (void *)&lo4, sizeof lo4));
    int ud = socket(AF_INET, SOCK_DGRAM, 0);
    report("bind_low_udp", bind(ud, (void *)&lo4, sizeof lo4));
    struct sockaddr_in6 lo6 = v6;
    lo6.sin6_port = htons(low);
    int t6 = socket(AF_INET6, SOCK_STREAM, 0);
    report("bind_low_tcp6", bind(t6, (void *)&lo6, sizeof lo6));
    /* Routing netlink: listening to the link group is anyone's; the
     * multicast-routing reports, sending to a group and connecting to one
     * need CAP_NET_ADMIN, which fdsup, making the call, must not lend. */
    int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct sockaddr_nl link = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
    report("nl_bind_link", bind(nl, (struct sockaddr *)&link, sizeof link));
    int nl2 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct sockaddr_nl mroute = {.nl_family = AF_NETLINK, .nl_groups = 1u << 29};
    report("nl_bind_mroute", bind(nl2, (struct sockaddr *)&mroute, sizeof mroute));
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } nm;
    memset(&nm, 0, sizeof nm);
    nm.h.nlmsg_len = sizeof nm;
    nm.h.nlmsg_type = RTM_NEWLINK;
    nm.h.nlmsg_flags = NLM_F_REQUEST;
    report("nl_send_group", (int)sendto(nl, &nm, sizeof nm, 0, (struct sockaddr *)&link, sizeof link));
    int nl3 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    report("nl_connect_group", connect(nl3, (struct sockaddr *)&link, sizeof link));
    if (dropped) {
        /* An address for lo (198.18.99.77/32), asked of the kernel with an
         * explicit address as iproute2 does: a message so sent is checked
         * against the task that sends it alone, which is fdsup (the test
         * removes the address whatever happens). */
        struct {
            struct nlmsghdr h;
            struct ifaddrmsg a;
            struct rtattr r;
            struct in_addr ad;
        } na;
        memset(&na, 0, sizeof na);
        na.h.nlmsg_len = sizeof na;
        na.h.nlmsg_type = RTM_NEWADDR;
        na.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        na.a.ifa_family = AF_INET;
        na.a.ifa_prefixlen = 32;
        na.a.ifa_index = 1;
        na.r.rta_len = RTA_LENGTH(4);
        na.r.rta_type = IFA_LOCAL;
        inet_pton(AF_INET, "198.18.99.77", &na.ad);
        int nk = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        int r2 = (int)sendto(nk, &na, sizeof na, 0, (struct sockaddr *)&kernel, sizeof kernel);
        char ack[1024];
        int n = r2 < 0 ? -1 : (int)recv(nk, ack, sizeof ack, 0);
        struct nlmsghdr *ah = (struct nlmsghdr *)ack;
        if (n > 0 && ah->nlmsg_type == NLMSG_ERROR) {
            int e = *(int *)NLMSG_DATA(ah);
            printf("nl_newaddr=%s\n", e ? strerrorname_np(-e) : "OK");
        } else {
            printf("nl_newaddr=ERR:%s\n", strerrorname_np(errno));
        }
    }
    printf("done=1\n");
    return 0;
}
