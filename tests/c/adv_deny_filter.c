/* Adversarial: every system call of SPEC.md "What is always enforced", tried
 * from inside the sandbox. One line per attempt, "name=OK" or "name=ERRNO",
 * so the test can hold each to its expected answer. Each forbidden call is
 * chosen so that, run natively as root, it would give something else than
 * the sandbox's errno (success, ENOENT, EBADF, ENOTTY...): an EPERM seen
 * here comes from the filter. Positive controls (fork, threads, an AF_UNIX
 * socketpair, unshare(CLONE_FILES), an ordinary ioctl, an allowed open) are
 * in the same run.
 *
 * Usage: adv_deny_filter all ALLOWED_FILE SECRET_FILE
 *        adv_deny_filter x32|int80 
 *        adv_deny_filter x32_open|int80_open SECRET_FILE
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* Prints "name=OK" for rc >= 0, else "name=<errno name>". */
static void report(const char *name, long rc) {
    if (rc >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=%s\n", name, ename(errno));
    fflush(stdout);
}

static void check_fds(void) {
    /* The seccomp listener or the hand-off socket must not be inherited:
     * with the listener the program could answer its own requests. */
    DIR *d = opendir("/proc/self/fd");
    int leak = 0;
    if (!d) {
        printf("fd_scan=%s\n", ename(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[300], t[256];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(p, t, sizeof t - 1);
        if (n < 0)
            continue;
        t[n] = 0;
        printf("fd %s -> %s\n", e->d_name, t);
        if (strstr(t, "seccomp"))
            leak = 1;
    }
    closedir(d);
    printf("listener_inherited=%s\n", leak ? "YES" : "no");
}

static volatile int thread_ran;
static void *thread_fn(void *arg) {
    (void)arg;
    thread_ran = 1;
    return NULL;
}

/* A raw clone(2) with FLAGS; a child, if one is made, exits at once. */
static long raw_clone(unsigned long flags) {
    long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (r == 0)
        _exit(0);
    if (r > 0)
        waitpid((pid_t)r, NULL, 0);
    return r;
}

static long raw_clone3(uint64_t flags) {
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = flags;
    a.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &a, sizeof a);
    if (r == 0)
        _exit(0);
    if (r > 0)
        waitpid((pid_t)r, NULL, 0);
    return r;
}

static void all(const char *allowed, const char *secret) {
    check_fds();

    /* Positive control: the sandbox serves allowed opens. */
    int fd = open(allowed, O_RDONLY);
    report("open_allowed", fd);
    if (fd >= 0)
        close(fd);

    unsigned char params[256];
    memset(params, 0, sizeof params);
    report("io_uring_setup", syscall(SYS_io_uring_setup, 4, params));
    report("io_uring_enter", syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0));
    report("io_uring_register", syscall(SYS_io_uring_register, 0, 0, NULL, 0));

    pid_t parent = getppid();
    report("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, 0, 0));
    report("ptrace_attach_parent", ptrace(PTRACE_ATTACH, parent, 0, 0));
    report("ptrace_seize_parent", ptrace(PTRACE_SEIZE, parent, 0, 0));
    /* A child of our own: natively, attaching to it works. */
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    report("ptrace_attach_child", ptrace(PTRACE_ATTACH, child, 0, 0));
    report("ptrace_seize_child", ptrace(PTRACE_SEIZE, child, 0, 0));

    char src[64] = "process memory", dst[64];
    struct iovec local = {dst, sizeof dst}, remote = {src, sizeof src};
    report("process_vm_readv_self", syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0));
    report("process_vm_readv_parent",
           syscall(SYS_process_vm_readv, parent, &local, 1, &remote, 1, 0));
    report("process_vm_readv_child", syscall(SYS_process_vm_readv, child, &local, 1, &remote, 1, 0));
    report("process_vm_writev_self",
           syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1, 0));
    report("process_vm_writev_parent",
           syscall(SYS_process_vm_writev, parent, &local, 1, &remote, 1, 0));

    int self_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    report("pidfd_open_self", self_pidfd);
    report("pidfd_getfd_self", syscall(SYS_pidfd_getfd, self_pidfd, 1, 0));
    int parent_pidfd = (int)syscall(SYS_pidfd_open, parent, 0);
    printf("pidfd_open_parent_info=%s\n", parent_pidfd >= 0 ? "OK" : ename(errno));
    /* Whatever pidfd_open said, every number the supervisor may hold. */
    int got_parent_fd = 0;
    for (int n = 0; n < 64 && parent_pidfd >= 0; n++) {
        long r = syscall(SYS_pidfd_getfd, parent_pidfd, n, 0);
        if (r >= 0 || errno != EPERM) {
            printf("pidfd_getfd_parent_%d=%s\n", n, r >= 0 ? "OK" : ename(errno));
            got_parent_fd = 1;
        }
    }
    printf("pidfd_getfd_parent=%s\n", got_parent_fd ? "NOT-EPERM" : "EPERM");

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    struct {
        struct file_handle fh;
        unsigned char bytes[128];
    } h;
    memset(&h, 0, sizeof h);
    h.fh.handle_bytes = 128;
    int mount_id;
    report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, allowed, &h.fh, &mount_id, 0));
    /* A handle for the secret's inode (generation unknown): the filter must
     * refuse before the kernel looks at it. */
    struct stat st;
    memset(&h, 0, sizeof h);
    h.fh.handle_bytes = 8;
    h.fh.handle_type = 1; /* FILEID_INO32_GEN */
    if (stat(secret, &st) == 0) {
        uint32_t ino = (uint32_t)st.st_ino;
        memcpy(h.fh.f_handle, &ino, 4);
    }
    int dirfd = open("/", O_PATH | O_DIRECTORY);
    printf("open_root_info=%s\n", dirfd >= 0 ? "OK" : ename(errno));
    long r = syscall(SYS_open_by_handle_at, dirfd >= 0 ? dirfd : AT_FDCWD, &h.fh, O_RDONLY);
    report("open_by_handle_at", r);
    if (r >= 0) {
        char buf[256];
        ssize_t n = read((int)r, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = 0;
            printf("open_by_handle_at_read=%s\n", buf);
        }
    }

    report("unshare_newuser", unshare(CLONE_NEWUSER));
    report("unshare_newns", unshare(CLONE_NEWNS));
    report("unshare_newnet", unshare(CLONE_NEWNET));
    report("unshare_newpid", unshare(CLONE_NEWPID));
    report("unshare_newuts", unshare(CLONE_NEWUTS));
    report("unshare_newipc", unshare(CLONE_NEWIPC));
    report("unshare_newcgroup", unshare(CLONE_NEWCGROUP));
    report("unshare_newtime", unshare(CLONE_NEWTIME));
    report("unshare_newuser_newns", unshare(CLONE_NEWUSER | CLONE_NEWNS));
    report("unshare_files", unshare(CLONE_FILES));
    report("unshare_fs", unshare(CLONE_FS));

    report("clone_newuser", raw_clone(CLONE_NEWUSER));
    report("clone_newns", raw_clone(CLONE_NEWNS));
    report("clone_newnet", raw_clone(CLONE_NEWNET));
    report("clone_newpid", raw_clone(CLONE_NEWPID));
    report("clone_plain", raw_clone(0));
    report("clone3_plain", raw_clone3(0));
    report("clone3_newuser", raw_clone3(CLONE_NEWUSER));

    pid_t p = fork();
    if (p == 0)
        _exit(42);
    int status = 0;
    if (p > 0)
        waitpid(p, &status, 0);
    printf("fork=%s\n", p > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 42 ? "OK" : "FAILED");
    pthread_t t;
    int pr = pthread_create(&t, NULL, thread_fn, NULL);
    if (pr == 0)
        pthread_join(t, NULL);
    printf("pthread_create=%s\n", pr == 0 && thread_ran ? "OK" : "FAILED");

    const char *nx = "/nonexistent-fdsup-adv";
    report("mount", mount("none", nx, "tmpfs", 0, NULL));
    report("umount2", umount2(nx, 0));
    report("chroot", chroot(nx));
    report("pivot_root", syscall(SYS_pivot_root, nx, nx));
    report("setns", setns(0, 0));
    report("open_tree", syscall(SYS_open_tree, AT_FDCWD, nx, 0));
    report("move_mount", syscall(SYS_move_mount, -1, "", -1, "", 0));
    report("fsopen", syscall(SYS_fsopen, "tmpfs", 0));
    report("fsconfig", syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0));
    report("fsmount", syscall(SYS_fsmount, -1, 0, 0));
    report("fspick", syscall(SYS_fspick, AT_FDCWD, nx, 0));
    report("mount_setattr", syscall(SYS_mount_setattr, -1, "", 0, NULL, 0));

    unsigned char attr[128];
    memset(attr, 0, sizeof attr);
    report("bpf", syscall(SYS_bpf, 0, attr, sizeof attr));
    report("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC));
    report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
    report("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0xdead0000UL));
    report("init_module", syscall(SYS_init_module, NULL, 0, ""));
    report("finit_module", syscall(SYS_finit_module, -1, "", 0));
    report("delete_module", syscall(SYS_delete_module, "fdsup_no_such_module", O_NONBLOCK));

    char c = 'x';
    report("ioctl_tiocsti", ioctl(0, TIOCSTI, &c));
    char sub = 6; /* TIOCL_GETSHIFTSTATE-like subcode: any */
    report("ioctl_tioclinux", ioctl(0, TIOCLINUX, &sub));
    /* The kernel keeps only the low 32 bits of the request. */
    report("ioctl_tiocsti_high_bits", syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c));
    report("ioctl_tioclinux_high_bits", syscall(SYS_ioctl, 0, (1UL << 32) | TIOCLINUX, &sub));
    /* The file-system-wide and lasting ones, on /dev/null (devtmpfs: the
     * kernel answers ENOTTY or EOPNOTSUPP, so a test run cannot freeze or
     * shut down a real file system even where the denial is missing). */
    {
        static char arg[256];
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        report("ioctl_fifreeze", ioctl(nul, 0xc0045877UL, arg));
        report("ioctl_fithaw", ioctl(nul, 0xc0045878UL, arg));
        report("ioctl_fs_shutdown", ioctl(nul, 0x8004587dUL, arg));
        report("ioctl_fs_setfslabel", ioctl(nul, 0x41009432UL, arg));
        report("ioctl_fs_enable_verity", ioctl(nul, 0x40806685UL, arg));
        report("ioctl_fs_set_encryption_policy", ioctl(nul, 0x800c6613UL, arg));
        report("ioctl_fifreeze_high_bits", syscall(SYS_ioctl, nul, (1UL << 32) | 0xc0045877UL, arg));
        if (nul >= 0)
            close(nul);
    }
    struct termios tio;
    report("ioctl_tcgets_devnull", ioctl(0, TCGETS, &tio));
    int pfd[2];
    if (pipe(pfd) == 0) {
        int avail = -1;
        (void)!write(pfd[1], "abc", 3);
        long ir = ioctl(pfd[0], FIONREAD, &avail);
        printf("ioctl_fionread=%s\n", ir == 0 && avail == 3 ? "OK" : ename(errno));
    }

    report("socket_inet", socket(AF_INET, SOCK_STREAM, 0));
    report("socket_inet_dgram", socket(AF_INET, SOCK_DGRAM, 0));
    report("socket_inet6", socket(AF_INET6, SOCK_STREAM, 0));
    report("socket_packet", socket(AF_PACKET, SOCK_RAW, 0));
    report("socket_netlink_audit", socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */));
    report("socket_inet_high_bits", syscall(SYS_socket, (1UL << 32) | AF_INET, SOCK_STREAM, 0));
    int sp[2];
    report("socketpair_inet", socketpair(AF_INET, SOCK_STREAM, 0, sp));
    report("socket_unix", socket(AF_UNIX, SOCK_STREAM, 0));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0) {
        char b[8] = {0};
        int ok = write(sp[0], "ping", 4) == 4 && read(sp[1], b, sizeof b) == 4 && !memcmp(b, "ping", 4);
        printf("socketpair_unix=%s\n", ok ? "OK" : "FAILED");
    } else {
        printf("socketpair_unix=%s\n", ename(errno));
    }
    printf("done\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "all";
    if (!strcmp(mode, "all") && argc > 3) {
        all(argv[2], argv[3]);
        return 0;
    }
    if (!strcmp(mode, "x32")) {
        printf("before\n");
        long r = syscall(0x40000000L | SYS_getpid);
        printf("survived r=%ld errno=%s\n", r, ename(errno));
        return 0;
    }
    if (!strcmp(mode, "x32_open") && argc > 2) {
        printf("before\n");
        long fd = syscall(0x40000000L | SYS_openat, AT_FDCWD, argv[2], O_RDONLY);
        printf("survived fd=%ld\n", fd);
        char buf[256];
        ssize_t n = fd >= 0 ? read((int)fd, buf, sizeof buf - 1) : -1;
        if (n > 0) {
            buf[n] = 0;
            printf("read=%s\n", buf);
        }
        return 0;
    }
    if (!strcmp(mode, "int80")) {
        printf("before\n");
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L /* i386 getpid */) : "memory");
        printf("survived r=%ld\n", r);
        return 0;
    }
    if (!strcmp(mode, "int80_open") && argc > 2) {
        /* The i386 ABI takes 32-bit pointers: put the path below 4 GiB. */
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap=%s\n", ename(errno));
            return 2;
        }
        snprintf(p, 4096, "%s", argv[2]);
        printf("before\n");
        long fd;
        __asm__ volatile("int $0x80"
                         : "=a"(fd)
                         : "a"(5L /* i386 open */), "b"((long)(uintptr_t)p), "c"(0L), "d"(0L)
                         : "memory");
        printf("survived fd=%ld\n", fd);
        char buf[256];
        ssize_t n = fd >= 0 ? read((int)fd, buf, sizeof buf - 1) : -1;
        if (n > 0) {
            buf[n] = 0;
            printf("read=%s\n", buf);
        }
        return 0;
    }
    fprintf(stderr, "usage: adv_deny_filter all ALLOWED SECRET | x32 | int80 | x32_open F | int80_open F\n");
    return 2;
}
