/* Sends that fail before anything is copied (a buffer that faults, a
 * datagram too large), to an allowed and to a denied address, run natively
 * and under fdsup by tests/tests/adversarial_net_probe.rs. Each send is
 * made from a fresh UDP socket that is not bound: the kernel binds it to a
 * port of its own (autobind) before it looks at the buffer, so a send that
 * reached the kernel leaves it bound. Prints `name=OK|ERR:<errno name>`
 * and `name_port=0|bound`. With MSG_OOB, the kernel's first answer is
 * EOPNOTSUPP (before it copies anything).
 *
 *   adv_net_probe ALLOWED_PORT DENIED_PORT    (both on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BAD ((void *)1)
/* More than fdsup reads of one datagram (and than UDP takes). */
#define HUGE (64u << 20)

enum how { SENDTO, SENDMSG, SENDMMSG };

static void attempt(const char *name, int port, enum how how, size_t len, int flags) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct iovec v = {BAD, len};
    struct msghdr mh = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &v, .msg_iovlen = 1};
    struct mmsghdr mm = {.msg_hdr = mh};
    long r;
    switch (how) {
    case SENDTO:
        r = sendto(s, BAD, len, flags, (struct sockaddr *)&a, sizeof a);
        break;
    case SENDMSG:
        r = sendmsg(s, &mh, flags);
        break;
    default:
        r = sendmmsg(s, &mm, 1, flags);
        break;
    }
    if (r >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=ERR:%s\n", name, strerrorname_np(errno));
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    printf("%s_port=%s\n", name, got.sin_port ? "bound" : "0");
    fflush(stdout);
    close(s);
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int allowed = atoi(argv[1]), denied = atoi(argv[2]);
    const struct {
        const char *name;
        enum how how;
        size_t len;
        int flags;
    } kinds[] = {
        {"sendto_fault", SENDTO, 16, 0},
        {"sendmsg_fault", SENDMSG, 16, 0},
        {"sendmmsg_fault", SENDMMSG, 16, 0},
        {"sendto_huge", SENDTO, HUGE, 0},
        {"sendmsg_huge", SENDMSG, HUGE, 0},
        /* UDP refuses MSG_OOB before it copies: the kernel's answer. */
        {"sendto_oob_fault", SENDTO, 16, MSG_OOB},
        {"sendmmsg_oob_fault", SENDMMSG, 16, MSG_OOB},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "allowed_%s", kinds[i].name);
        attempt(name, allowed, kinds[i].how, kinds[i].len, kinds[i].flags);
        snprintf(name, sizeof name, "denied_%s", kinds[i].name);
        attempt(name, denied, kinds[i].how, kinds[i].len, kinds[i].flags);
    }
    printf("done\n");
    return 0;
}
