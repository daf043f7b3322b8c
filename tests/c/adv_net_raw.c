/* Packets that carry their own addresses, run natively and under fdsup by
 * tests/tests/adversarial_net_raw.rs. Each attempt prints one `name=value`
 * line: OK, ERR:<errno name>, or a value.
 *
 *   adv_net_raw UDP_DENIED UDP_ALLOWED [OUTER_IP]
 *       The test receives UDP on 127.0.0.1:UDP_DENIED and :UDP_ALLOWED;
 *       the policy denies 127.0.0.1:UDP_DENIED and 127.0.0.2 (every port)
 *       and allows everything else. The program is root (CAP_NET_RAW).
 *       A raw socket with IP_HDRINCL (or IPPROTO_RAW, which implies it)
 *       sends the IP header it is given, whatever address the send
 *       names; a raw UDP socket sends the UDP header (the port) it is
 *       given; a packet socket sends whole frames. Each sends a UDP
 *       datagram to the denied port while naming an allowed address.
 *       Controls: a raw ICMP echo (ping) to 127.0.0.1 (allowed) and to
 *       127.0.0.2 (denied), a UDP datagram to the allowed port.
 *       OUTER_IP: an address of this host not on loopback (by default the
 *       first one found, printed as `outer=`), to connect a raw socket to.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

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

/* A UDP header and `msg` to `port` (checksum 0: none). */
static size_t udp_of(unsigned char *buf, int port, const char *msg) {
    size_t n = strlen(msg);
    struct udphdr u;
    memset(&u, 0, sizeof u);
    u.uh_sport = htons(40000);
    u.uh_dport = htons((unsigned short)port);
    u.uh_ulen = htons((unsigned short)(sizeof u + n));
    memcpy(buf, &u, sizeof u);
    memcpy(buf + sizeof u, msg, n);
    return sizeof u + n;
}

static unsigned short csum(const void *p, size_t n) {
    const unsigned char *b = p;
    unsigned long s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (unsigned long)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        s += (unsigned long)(b[n - 1] << 8);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return htons((unsigned short)~s);
}

/* An IPv4 header to 127.0.0.1 and a UDP datagram to `port`. */
static size_t ip_udp_of(unsigned char *buf, int port, const char *msg) {
    struct iphdr h;
    memset(&h, 0, sizeof h);
    size_t n = udp_of(buf + sizeof h, port, msg);
    h.version = 4;
    h.ihl = 5;
    h.ttl = 64;
    h.protocol = IPPROTO_UDP;
    h.tot_len = htons((unsigned short)(sizeof h + n));
    h.saddr = htonl(INADDR_LOOPBACK);
    h.daddr = htonl(INADDR_LOOPBACK);
    h.check = csum(&h, sizeof h);
    memcpy(buf, &h, sizeof h);
    return sizeof h + n;
}

/* A raw ICMP echo request to `ip`. */
static void ping(const char *name, const char *ip) {
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) {
        report(name, -1);
        return;
    }
    struct icmphdr e;
    memset(&e, 0, sizeof e);
    e.type = ICMP_ECHO;
    e.un.echo.id = htons(7);
    e.un.echo.sequence = htons(1);
    e.checksum = csum(&e, sizeof e);
    struct sockaddr_in a = v4(ip, 0);
    report(name, sendto(s, &e, sizeof e, 0, (struct sockaddr *)&a, sizeof a));
    close(s);
}

/* The first IPv4 address of this host not on loopback, or NULL. */
static const char *outer_ip(char *out, size_t len) {
    struct ifaddrs *all;
    if (getifaddrs(&all) != 0)
        return NULL;
    const char *found = NULL;
    for (struct ifaddrs *i = all; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
        if (inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)len))
            found = out;
    }
    freeifaddrs(all);
    return found;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: adv_net_raw UDP_DENIED UDP_ALLOWED [OUTER_IP]\n");
        return 2;
    }
    int ud = atoi(argv[1]), ua = atoi(argv[2]);
    unsigned char buf[256];
    struct sockaddr_in ok = v4("127.0.0.1", ua);

    /* IPPROTO_RAW: the header is the program's. */
    {
        int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        report("ipproto_raw_socket", s);
        if (s >= 0) {
            size_t n = ip_udp_of(buf, ud, "hdrincl-denied");
            report("ipproto_raw_send",
                   sendto(s, buf, n, 0, (struct sockaddr *)&ok, sizeof ok));
            close(s);
        }
    }
    /* IP_HDRINCL set on a raw ICMP socket. */
    {
        int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        int one = 1;
        report("ip_hdrincl", setsockopt(s, IPPROTO_IP, IP_HDRINCL, &one, sizeof one));
        int on = 0;
        socklen_t l = sizeof on;
        getsockopt(s, IPPROTO_IP, IP_HDRINCL, &on, &l);
        if (on) {
            size_t n = ip_udp_of(buf, ud, "sockopt-denied");
            report("ip_hdrincl_send",
                   sendto(s, buf, n, 0, (struct sockaddr *)&ok, sizeof ok));
        }
        close(s);
    }
    /* A raw UDP socket: the kernel writes the IP header, the program the
     * UDP one, with the port. */
    {
        int s = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
        report("raw_udp_socket", s);
        if (s >= 0) {
            size_t n = udp_of(buf, ud, "rawudp-denied");
            report("raw_udp_send",
                   sendto(s, buf, n, 0, (struct sockaddr *)&ok, sizeof ok));
            close(s);
        }
    }
    /* Connected to an allowed address of this host (not loopback: under
     * isolate it is brokered), then the header's own. */
    {
        char ip[64];
        const char *outer = argc == 4 ? argv[3] : outer_ip(ip, sizeof ip);
        if (outer)
            printf("outer=%s\n", outer);
        int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (!outer) {
            printf("connected_raw_socket=SKIP\n");
        } else {
            report("connected_raw_socket", s);
        }
        if (s >= 0 && outer) {
            struct sockaddr_in o = v4(outer, 0);
            report("connected_raw_connect", connect(s, (struct sockaddr *)&o, sizeof o));
            size_t n = ip_udp_of(buf, ud, "connected-denied");
            report("connected_raw_send", send(s, buf, n, 0));
        }
        if (s >= 0)
            close(s);
    }
    /* A packet socket on loopback: a whole IP packet, no address decided. */
    {
        int s = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
        report("packet_socket", s);
        if (s >= 0) {
            struct sockaddr_ll ll;
            memset(&ll, 0, sizeof ll);
            ll.sll_family = AF_PACKET;
            ll.sll_protocol = htons(ETH_P_IP);
            ll.sll_ifindex = (int)if_nametoindex("lo");
            ll.sll_halen = 6;
            size_t n = ip_udp_of(buf, ud, "packet-denied");
            report("packet_send", sendto(s, buf, n, 0, (struct sockaddr *)&ll, sizeof ll));
            close(s);
        }
    }
    /* The obsolete AF_INET SOCK_PACKET, a packet socket too. */
    {
        int s = socket(AF_INET, SOCK_PACKET, htons(ETH_P_ALL));
        report("sock_packet_socket", s);
        if (s >= 0)
            close(s);
    }
    /* IPv6: IPPROTO_RAW and IPV6_HDRINCL. */
    {
        int s = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
        report("ipproto_raw6_socket", s);
        if (s >= 0)
            close(s);
        s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
        int one = 1;
        report("ipv6_hdrincl", setsockopt(s, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one));
        close(s);
    }
    /* Controls. */
    ping("ping_allowed", "127.0.0.1");
    ping("ping_denied", "127.0.0.2");
    {
        int s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
        report("raw_icmp6_socket", s);
        if (s >= 0)
            close(s);
    }
    {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        report("udp_allowed",
               sendto(s, "udp-allowed", 11, 0, (struct sockaddr *)&ok, sizeof ok));
        close(s);
    }
    printf("done=1\n");
    return 0;
}
