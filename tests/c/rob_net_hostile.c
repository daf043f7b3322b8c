/* Hostile lengths and counts in the sends and connects fdsup carries out
 * (msg_iovlen, msg_namelen, msg_controllen, cmsg_len of a first and a
 * truncated second header, SCM_CREDENTIALS of the wrong size, sendmmsg's
 * vlen, addrlen, flags with high bits), run natively and under fdsup by
 * tests/tests/robust_net_hostile.rs and compared line by line: each must
 * get the kernel's answer, and the supervisor must live through them.
 * Sends go to 127.0.0.1:9 (the discard port; nothing needs to listen).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static void rep(const char *n, long r) {
    if (r >= 0) printf("%s=%ld\n", n, r);
    else printf("%s=ERR:%s\n", n, strerrorname_np(errno));
    fflush(stdout);
}
static struct sockaddr_in lo9;
static long smsg(int s, void *name, long namelen, struct iovec *iov, size_t iovlen, void *ctl, size_t ctllen, long flags) {
    struct msghdr m; memset(&m, 0, sizeof m);
    m.msg_name = name; m.msg_namelen = (socklen_t)namelen; m.msg_iov = iov; m.msg_iovlen = iovlen;
    m.msg_control = ctl; m.msg_controllen = ctllen;
    return syscall(SYS_sendmsg, s, &m, flags);
}
int main(void) {
    memset(&lo9, 0, sizeof lo9); lo9.sin_family = AF_INET; lo9.sin_port = htons(9); lo9.sin_addr.s_addr = htonl(0x7f000001);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    int sp[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
    static struct iovec many[2048];
    char d[4] = "abc";
    for (int i = 0; i < 2048; i++) { many[i].iov_base = d; many[i].iov_len = i == 0 ? 3 : 0; }
    rep("iov1024", smsg(u, &lo9, 16, many, 1024, 0, 0, 0));
    rep("iov1025", smsg(u, &lo9, 16, many, 1025, 0, 0, 0));
    rep("iovmax", smsg(u, &lo9, 16, many, SIZE_MAX, 0, 0, 0));
    rep("iovhuge_null", smsg(u, &lo9, 16, NULL, 1000, 0, 0, 0));
    rep("namelen_big", smsg(u, &lo9, 0x7fffffff, many, 1, 0, 0, 0));
    rep("namelen_neg", smsg(u, &lo9, -1, many, 1, 0, 0, 0));
    rep("name_fault", smsg(u, (void *)8, 16, many, 1, 0, 0, 0));
    rep("namelen_1", smsg(u, &lo9, 1, many, 1, 0, 0, 0));
    rep("namelen_3", smsg(u, &lo9, 3, many, 1, 0, 0, 0));
    char ctl[4096] __attribute__((aligned(8)));
    memset(ctl, 0, sizeof ctl);
    size_t cls[] = {1ul << 40, SIZE_MAX, 20481, 7, 17, 24, 0x80000000ul, 0x7fffffff};
    for (unsigned i = 0; i < sizeof cls / sizeof *cls; i++) {
        char n[64]; snprintf(n, sizeof n, "ctllen_%zx_udp", cls[i]);
        rep(n, smsg(u, &lo9, 16, many, 1, ctl, cls[i], 0));
        snprintf(n, sizeof n, "ctllen_%zx_unix", cls[i]);
        rep(n, smsg(sp[0], NULL, 0, many, 1, ctl, cls[i], 0));
    }
    uint64_t lens[] = {0, 1, 15, 16, 17, 20, 21, 24, 25, 0xffffffff, 1ul << 32, 1ul << 63, UINT64_MAX};
    for (unsigned i = 0; i < sizeof lens / sizeof *lens; i++) {
        struct { uint64_t len; int lvl, ty; int fds[6]; } c = {lens[i], SOL_SOCKET, SCM_RIGHTS, {0, 1, 2, 0, 1, 2}};
        char n[64];
        snprintf(n, sizeof n, "cmsglen_%lx_unix", (unsigned long)lens[i]);
        rep(n, smsg(sp[0], NULL, 0, many, 1, &c, sizeof c, 0));
        snprintf(n, sizeof n, "cmsglen_%lx_unix_ctl20", (unsigned long)lens[i]);
        rep(n, smsg(sp[0], NULL, 0, many, 1, &c, 20, 0));
        snprintf(n, sizeof n, "cmsglen_%lx_udp", (unsigned long)lens[i]);
        rep(n, smsg(u, &lo9, 16, many, 1, &c, sizeof c, 0));
        struct { uint64_t len; int lvl, ty; uint64_t len2; int l2, t2; } c2 = {16, SOL_SOCKET, SCM_RIGHTS, lens[i], SOL_SOCKET, SCM_RIGHTS};
        snprintf(n, sizeof n, "cmsg2nd_%lx_unix", (unsigned long)lens[i]);
        rep(n, smsg(sp[0], NULL, 0, many, 1, &c2, sizeof c2, 0));
        snprintf(n, sizeof n, "cmsg2nd_%lx_unix_trunc", (unsigned long)lens[i]);
        rep(n, smsg(sp[0], NULL, 0, many, 1, &c2, sizeof c2 - 4, 0));
    }
    /* Credentials: wrong size body. */
    {
        struct { uint64_t len; int lvl, ty; int b[4]; } c = {16 + 8, SOL_SOCKET, SCM_CREDENTIALS, {getpid(), getuid(), getgid(), 0}};
        rep("cred_short", smsg(sp[0], NULL, 0, many, 1, &c, sizeof c, 0));
        c.len = 16 + 16;
        rep("cred_long", smsg(sp[0], NULL, 0, many, 1, &c, sizeof c, 0));
        c.len = 16 + 12;
        rep("cred_ok", smsg(sp[0], NULL, 0, many, 1, &c, sizeof c, 0));
    }
    /* sendmmsg vlen. */
    struct mmsghdr mm[4]; memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) { mm[i].msg_hdr.msg_name = &lo9; mm[i].msg_hdr.msg_namelen = 16; mm[i].msg_hdr.msg_iov = many; mm[i].msg_hdr.msg_iovlen = 1; }
    uint64_t vl[] = {0, 1, 4, 5, 0xffffffff, (1ul << 32) | 2, UINT64_MAX};
    for (unsigned i = 0; i < sizeof vl / sizeof *vl; i++) {
        char n[64]; snprintf(n, sizeof n, "vlen_%lx", (unsigned long)vl[i]);
        rep(n, syscall(SYS_sendmmsg, u, mm, vl[i], 0));
    }
    rep("mmsg_null", syscall(SYS_sendmmsg, u, NULL, 2, 0));
    rep("mmsg_fault_second", syscall(SYS_sendmmsg, u, (char *)mm + 0, 2, 0));
    /* addrlen. */
    uint64_t al[] = {0, 1, 2, 15, 16, 17, 128, 129, 0x80000000ul, (1ul << 32) | 16, UINT64_MAX};
    for (unsigned i = 0; i < sizeof al / sizeof *al; i++) {
        char n[64]; snprintf(n, sizeof n, "sendto_addrlen_%lx", (unsigned long)al[i]);
        static char big[256]; memcpy(big, &lo9, 16);
        rep(n, syscall(SYS_sendto, u, d, 3, 0, big, al[i]));
        snprintf(n, sizeof n, "connect_addrlen_%lx", (unsigned long)al[i]);
        int t = socket(AF_INET, SOCK_DGRAM, 0);
        rep(n, syscall(SYS_connect, t, big, al[i]));
        close(t);
    }
    /* (A length past MAX_RW_COUNT depends on where the stack is: not here.) */
    rep("sendto_len_70000", syscall(SYS_sendto, u, malloc(70000), 70000, 0, &lo9, 16));
    rep("sendto_flags_high", syscall(SYS_sendto, u, d, 3, (1ul << 40), &lo9, 16));
    rep("sendmsg_flags_compat", smsg(u, &lo9, 16, many, 1, 0, 0, 0x80000000l));
    rep("sendmsg_flags_highbits", smsg(u, &lo9, 16, many, 1, 0, 0, (1l << 40)));
    {   /* iovec with a negative length; iov pointing into kernel space. */
        struct iovec bad[2] = {{d, 3}, {d, (size_t)-1}};
        rep("iov_neg", smsg(u, &lo9, 16, bad, 2, 0, 0, 0));
        struct iovec k[1] = {{(void *)0xffff888000000000ul, 3}};
        rep("iov_kernel", smsg(u, &lo9, 16, k, 1, 0, 0, 0));
        struct iovec z[1] = {{(void *)0xffff888000000000ul, 0}};
        rep("iov_kernel_empty", smsg(u, &lo9, 16, z, 1, 0, 0, 0));
    }
    printf("done=1\n");
    return 0;
}
