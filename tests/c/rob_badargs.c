/* Robustness: opens with bad arguments get the kernel's own answer, and the
 * program goes on. The test runs this natively and under fdsup and compares
 * the outputs line by line.
 *
 * Usage: rob_badargs ALLOWED_FILE   (run with the working directory writable)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static const char *allowed;

static void report(const char *name, long fd) {
    if (fd >= 0) {
        printf("%s=OK\n", name);
        close((int)fd);
    } else {
        printf("%s=%s\n", name, ename(errno));
    }
    /* The program goes on: the next ordinary open still works. */
    int ok = open(allowed, O_RDONLY);
    if (ok < 0) {
        printf("after %s: allowed open failed: %s\n", name, ename(errno));
    } else {
        close(ok);
    }
}

static long openat2_(int dfd, const char *path, void *how, size_t size) {
    return syscall(SYS_openat2, dfd, path, how, size);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        return 2;
    allowed = argv[1];
    long pg = sysconf(_SC_PAGESIZE);

    report("ptr_one", syscall(SYS_open, (char *)1, O_RDONLY));
    report("ptr_kernel", syscall(SYS_openat, AT_FDCWD, (char *)0xffffffffff600000UL, O_RDONLY));
    report("ptr_noncanonical", syscall(SYS_openat, AT_FDCWD, (char *)0x8000000000000000UL, O_RDONLY));
    char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("ptr_prot_none", syscall(SYS_openat, AT_FDCWD, none, O_RDONLY));
    report("creat_prot_none", syscall(SYS_creat, none, 0644));
    /* A path with no NUL before an unmapped page. */
    char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + pg, pg);
    memset(two, 'a', pg);
    report("no_nul_before_hole", syscall(SYS_openat, AT_FDCWD, two + pg - 100, O_RDONLY));
    report("no_nul_page_before_hole", syscall(SYS_openat, AT_FDCWD, two, O_RDONLY));

    char *big = malloc(70000);
    memset(big, 'a', 69999);
    big[69999] = 0;
    report("huge_path_70000", open(big, O_RDONLY));
    big[4096] = 0;
    report("path_4096", open(big, O_RDONLY));
    big[4095] = 0;
    report("path_4095_one_component", open(big, O_RDONLY));
    for (int i = 1; i < 4095; i += 2)
        big[i] = '/';
    report("path_4095_components", open(big, O_RDONLY));
    report("path_4095_components_creat", open(big, O_RDONLY | O_CREAT, 0644));
    memset(big, 'x', 300);
    big[300] = 0;
    report("component_300", open(big, O_RDONLY));
    report("component_300_creat", open(big, O_WRONLY | O_CREAT, 0644));
    report("empty_path", open("", O_RDONLY));
    report("empty_path_creat", open("", O_WRONLY | O_CREAT, 0644));

    report("openat_bad_dirfd", openat(9999, "x", O_RDONLY));
    report("openat_negative_dirfd", openat(-5, "x", O_RDONLY));
    int f = open(allowed, O_RDONLY);
    report("openat_file_dirfd", openat(f, "x", O_RDONLY));
    report("openat_file_dirfd_abs", openat(f, allowed, O_RDONLY));
    close(f);

    struct open_how how = {.flags = O_RDONLY};
    report("openat2_how_bad_ptr", openat2_(AT_FDCWD, allowed, (void *)1, sizeof how));
    report("openat2_how_prot_none", openat2_(AT_FDCWD, allowed, none, sizeof how));
    report("openat2_size_small", openat2_(AT_FDCWD, allowed, &how, 8));
    report("openat2_size_zero", openat2_(AT_FDCWD, allowed, &how, 0));
    char hbig[8192];
    memset(hbig, 0, sizeof hbig);
    memcpy(hbig, &how, sizeof how);
    report("openat2_size_page_zeroes", openat2_(AT_FDCWD, allowed, hbig, 4096));
    report("openat2_size_too_big", openat2_(AT_FDCWD, allowed, hbig, 8192));
    hbig[100] = 1;
    report("openat2_size_nonzero_tail", openat2_(AT_FDCWD, allowed, hbig, 200));
    struct open_how bad = {.flags = O_RDONLY, .resolve = 1ULL << 40};
    report("openat2_unknown_resolve", openat2_(AT_FDCWD, allowed, &bad, sizeof bad));
    struct open_how badf = {.flags = 1ULL << 40};
    report("openat2_flags_high", openat2_(AT_FDCWD, allowed, &badf, sizeof badf));
    struct open_how badm = {.flags = O_RDONLY, .mode = 0644};
    report("openat2_mode_without_creat", openat2_(AT_FDCWD, allowed, &badm, sizeof badm));
    struct open_how both = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH | RESOLVE_IN_ROOT};
    report("openat2_beneath_and_in_root", openat2_(AT_FDCWD, allowed, &both, sizeof both));
    report("openat2_bad_path_ptr", openat2_(AT_FDCWD, (char *)1, &how, sizeof how));

    int n = 0;
    for (int i = 0; i < 100; i++) {
        int fd = open(allowed, O_RDONLY);
        if (fd >= 0) {
            n++;
            close(fd);
        }
    }
    printf("alive opens=%d\n", n);
    return 0;
}
