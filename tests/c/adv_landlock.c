/* Adversarial: a program that confines itself with Landlock, as a build
 * tool confining its children does. fdsup opens files for the program in
 * its own threads, which do not carry the program's Landlock domain, so a
 * domain the kernel accepted would be silently ignored for every mediated
 * open: the program would believe itself confined and not be. Natively,
 * the program restricts reading to INSIDE_DIR and an open of OUTSIDE_FILE
 * fails with EACCES (the positive control that the check means something);
 * in the sandbox every landlock_* call must fail with ENOSYS, as on a
 * kernel without Landlock, so that the program knows it is not confined.
 * One line per step, "name=OK", "name=ERRNO" or "abi=N"; controls in the
 * same run: an open inside, the program's own seccomp filter.
 *
 * Usage: adv_landlock INSIDE_DIR INSIDE_FILE OUTSIDE_FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static void report(const char *name, long rc) {
    if (rc >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=%s\n", name, ename(errno));
    fflush(stdout);
}

static long open_read(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char c;
    long n = read(fd, &c, 1);
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: adv_landlock INSIDE_DIR INSIDE_FILE OUTSIDE_FILE\n");
        return 2;
    }
    const char *dir = argv[1], *inside = argv[2], *outside = argv[3];

    /* Needed for restrict_self unless root (checked before the
     * descriptor); in the sandbox already set. */
    report("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));

    /* The ABI version query libraries start with. */
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
                       LANDLOCK_CREATE_RULESET_VERSION);
    if (abi >= 0)
        printf("abi=%ld\n", abi);
    else
        printf("abi=%s\n", ename(errno));

    /* add_rule and restrict_self on a bad descriptor: EBADF natively, so
     * an ENOSYS here is the filter's, whatever create_ruleset said. */
    struct landlock_path_beneath_attr none = {0};
    report("add_rule_badfd",
           syscall(SYS_landlock_add_rule, -1, LANDLOCK_RULE_PATH_BENEATH, &none, 0));
    report("restrict_self_badfd", syscall(SYS_landlock_restrict_self, -1, 0));

    struct landlock_ruleset_attr attr = {
        .handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
    };
    long ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    report("create_ruleset", ruleset);
    if (ruleset >= 0) {
        struct landlock_path_beneath_attr beneath = {
            .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
            .parent_fd = open(dir, O_PATH | O_CLOEXEC),
        };
        report("open_dir", beneath.parent_fd);
        report("add_rule", syscall(SYS_landlock_add_rule, (int)ruleset,
                                   LANDLOCK_RULE_PATH_BENEATH, &beneath, 0));
        long r = syscall(SYS_landlock_restrict_self, (int)ruleset, 0);
        report("restrict_self", r);
        printf("confined=%s\n", r == 0 ? "yes" : "no");
    } else {
        printf("confined=no\n");
    }
    fflush(stdout);

    /* Controls: what the domain (if any) allows. */
    report("open_inside", open_read(inside));
    /* The trick: confined, this must fail (EACCES natively). */
    report("open_outside", open_read(outside));

    /* Control: the program's own seccomp filter still goes in. */
    struct sock_filter allow[] = {
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = 1, .filter = allow};
    report("seccomp_own_filter",
           syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
    report("getpid", getpid());
    printf("done\n");
    return 0;
}
