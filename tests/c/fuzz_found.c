/* Differences the differential fuzzer (fdsup-fuzz) found between the kernel
 * and fdsup: each line is one call whose answer must be the kernel's. The
 * test runs this natively and under fdsup (@allow-all) and compares the
 * outputs line by line.
 *
 * Mostly the order in which the kernel checks a call's arguments: flags
 * before paths, the first path (and its directory) before the second, the
 * directory part of a path before what its last component is, and the last
 * component's existence before the permission to make it.
 *
 * Usage: fuzz_found   (in an empty, writable working directory)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4
#endif

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static void report(const char *name, long r) {
    if (r >= 0)
        printf("%s=%ld\n", name, r);
    else
        printf("%s=%s\n", name, ename(errno));
}

static const char *type_of(mode_t m) {
    switch (m & S_IFMT) {
    case S_IFLNK: return "lnk";
    case S_IFDIR: return "dir";
    case S_IFREG: return "reg";
    default: return "other";
    }
}

#define BAD ((void *)1)

/* Run (in a directory holding the directories hidden/, denied/, readonly/
 * and a file "file") under a policy that hides ./hidden, denies ./denied
 * and makes ./readonly ro: a hard link's source is refused before the
 * target is looked at; O_CREAT on a read-only directory is EISDIR. */
static int policy_checks(void) {
    report("link_hidden_source_bad_target", syscall(SYS_link, "hidden", "file/x"));
    report("link_denied_source_bad_target", syscall(SYS_link, "denied", "file/x"));
    report("link_hidden_source_bad_pointer", syscall(SYS_link, "hidden/f", BAD));
    report("open_creat_readonly_dir", syscall(SYS_openat, AT_FDCWD, "readonly", O_CREAT | O_RDONLY, 0644));
    char ro_abs[4096];
    if (getcwd(ro_abs, sizeof ro_abs - 16))
        strcat(ro_abs, "/readonly");
    report("open_creat_readonly_dir_abs", syscall(SYS_openat, AT_FDCWD, ro_abs, O_CREAT | O_RDONLY, 0644));
    printf("done\n");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "policy") == 0)
        return policy_checks();
    int fd = open("f", O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || mkdir("d", 0755) != 0 || symlink("f", "l") != 0 || symlink("loop", "loop") != 0)
        return 2;
    close(fd);
    umask(022);

    /* mknod: the type is checked before the path; a device or socket is
     * refused only once the name is known to be free. */
    report("mknod_dir_type_bad_path", syscall(SYS_mknod, BAD, S_IFDIR | 0755, 0));
    report("mknod_bad_type_bad_path", syscall(SYS_mknod, BAD, 0170000 | 0644, 0));
    report("mknodat_dir_type_bad_dirfd", syscall(SYS_mknodat, 999, "x", S_IFDIR | 0755, 0));
    report("mknod_chr_exists", syscall(SYS_mknod, "f", S_IFCHR | 0644, makedev(1, 3)));
    report("mknod_blk_missing_parent", syscall(SYS_mknod, "nope/x", S_IFBLK | 0644, 0));
    report("mknod_sock_bad_path", syscall(SYS_mknod, BAD, S_IFSOCK | 0644, 0));
    report("mknodat_chr_bad_dirfd", syscall(SYS_mknodat, 999, "x", S_IFCHR | 0644, 0));

    /* ".", ".." and "/" as the last component: the directory part first. */
    report("rmdir_dotdot_missing_parent", syscall(SYS_rmdir, "nope/.."));
    report("rmdir_dotdot", syscall(SYS_rmdir, "d/.."));
    report("rmdir_dot", syscall(SYS_rmdir, "d/."));
    report("rmdir_root", syscall(SYS_rmdir, "/"));
    report("unlink_dot_missing_parent", syscall(SYS_unlink, "nope/."));
    report("unlink_dotdot", syscall(SYS_unlink, "d/.."));
    report("unlink_root", syscall(SYS_unlink, "/"));
    report("mkdir_dot_missing_parent", syscall(SYS_mkdir, "nope/.", 0755));
    report("mkdir_dot_file_parent", syscall(SYS_mkdir, "f/.", 0755));
    report("mkdir_root", syscall(SYS_mkdir, "/", 0755));
    report("symlink_dot_missing_parent", syscall(SYS_symlink, "x", "nope/./"));
    report("mknod_dotdot", syscall(SYS_mknod, "d/..", S_IFREG | 0644, 0));

    /* A trailing slash on a name that must be made. */
    report("mkdir_file_slash", syscall(SYS_mkdir, "f/", 0755));
    report("mknod_file_slash", syscall(SYS_mknod, "f/", S_IFREG | 0644, 0));
    report("mknod_missing_slash", syscall(SYS_mknod, "new/", S_IFREG | 0644, 0));
    report("symlink_file_slash", syscall(SYS_symlink, "x", "f/"));
    report("symlink_missing_slash", syscall(SYS_symlink, "x", "new/"));

    /* An empty path is ENOENT before its directory descriptor is looked at. */
    report("unlinkat_empty_bad_dirfd", syscall(SYS_unlinkat, 999, "", 0));
    report("mkdirat_empty_bad_dirfd", syscall(SYS_mkdirat, 999, "", 0755));
    report("renameat_empty_bad_dirfd", syscall(SYS_renameat, 999, "", AT_FDCWD, "y"));

    /* rename: flags, then the first path, then the second. */
    report("rename_old_missing_new_bad", syscall(SYS_rename, "nope/x", BAD));
    report("rename_old_ok_new_bad", syscall(SYS_rename, "f", BAD));
    report("renameat_old_missing_bad_newdirfd",
           syscall(SYS_renameat, AT_FDCWD, "nope/x", 999, "y"));
    report("renameat_old_loop_bad_newdirfd", syscall(SYS_renameat, AT_FDCWD, "loop/x", 999, "y"));
    report("renameat2_flags_bad_path", syscall(SYS_renameat2, AT_FDCWD, BAD, AT_FDCWD, "y", 0x4000));
    report("renameat2_exchange_whiteout",
           syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "d", RENAME_EXCHANGE | RENAME_WHITEOUT));
    report("renameat2_exchange_noreplace_bad_path",
           syscall(SYS_renameat2, AT_FDCWD, BAD, AT_FDCWD, "y", RENAME_EXCHANGE | RENAME_NOREPLACE));
    report("rename_dot_missing_parent", syscall(SYS_rename, "nope/.", "y"));
    report("rename_old_dot", syscall(SYS_rename, "d/.", "y"));
    report("rename_new_dot", syscall(SYS_rename, "f", "d/."));
    report("rename_new_dot_noreplace",
           syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "d/.", RENAME_NOREPLACE));
    report("rename_new_dotdot_missing_parent", syscall(SYS_rename, "f", "nope/.."));
    report("rename_old_file_slash", syscall(SYS_rename, "f/", "y"));

    /* link: the source is looked up whole before the target. */
    report("link_old_missing_new_exists", syscall(SYS_link, "nope", "f"));
    report("link_old_missing_new_bad", syscall(SYS_link, "nope", BAD));
    report("link_old_dir_new_exists", syscall(SYS_link, "d", "f"));
    report("link_old_dot_new_missing_parent", syscall(SYS_link, "d/.", "nope/x"));
    report("link_old_file_dot", syscall(SYS_link, "f/.", "y"));
    report("linkat_flags_bad_path", syscall(SYS_linkat, AT_FDCWD, BAD, AT_FDCWD, "y", 0x8000));
    report("linkat_old_missing_bad_newdirfd", syscall(SYS_linkat, AT_FDCWD, "nope", 999, "y", 0));
    report("link_new_dot", syscall(SYS_link, "f", "d/."));

    /* utimensat: the times are read first; UTIME_OMIT twice does nothing
     * (no path is looked at); the flags, then the path, then the times'
     * values. */
    struct timespec bad_ns[2] = {{0, 1000000000}, {0, 0}};
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    report("utimensat_bad_ns_missing", syscall(SYS_utimensat, AT_FDCWD, "nope", bad_ns, 0));
    report("utimensat_bad_ns_exists", syscall(SYS_utimensat, AT_FDCWD, "f", bad_ns, 0));
    report("utimensat_times_bad_flags_bad",
           syscall(SYS_utimensat, AT_FDCWD, "f", (void *)0x1000, 0x20));
    report("utimensat_omit_missing", syscall(SYS_utimensat, AT_FDCWD, "nope", omit, 0));
    struct timespec omit_one[2] = {{0, UTIME_OMIT}, {5, 0}};
    report("utimensat_omit_one", syscall(SYS_utimensat, AT_FDCWD, "f", omit_one, 0));
    report("utimensat_omit_bad_flags", syscall(SYS_utimensat, AT_FDCWD, "nope", omit, 0x20));
    report("utimensat_bad_flags_missing", syscall(SYS_utimensat, AT_FDCWD, "nope", NULL, 0x20));
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    report("utimensat_null_path_flags", syscall(SYS_utimensat, dfd, NULL, NULL, AT_SYMLINK_NOFOLLOW));
    report("utimensat_null_path_bad_fd_flags", syscall(SYS_utimensat, 999, NULL, NULL, 0x20));
    report("utimensat_null_path_bad_ns", syscall(SYS_utimensat, dfd, NULL, bad_ns, 0));

    /* A size query (no buffer) answers the size (seed 4000000, after
     * the move to rustix, whose empty buffer reads 0). */
    setxattr("f", "user.q", "value", 5, 0);
    report("getxattr_size_query", getxattr("f", "user.q", NULL, 0));
    report("listxattr_size_query", listxattr("f", NULL, 0));
    report("llistxattr_size_query", llistxattr("f", NULL, 0));

    /* setxattr: the flags first, then the name, the size, the value. */
    report("setxattr_flags_bad_name", syscall(SYS_setxattr, "f", BAD, "v", 1, 8));
    report("setxattr_flags_huge_size", syscall(SYS_setxattr, "f", "user.a", NULL, 70000, 8));
    report("lsetxattr_flags_bad_value", syscall(SYS_lsetxattr, "f", "user.a", BAD, 100, -1));
    report("fsetxattr_flags_bad_fd", syscall(SYS_fsetxattr, 999, "user.a", "v", 1, 8));
    report("setxattr_empty_name_missing", syscall(SYS_setxattr, "nope", "", "v", 1, 0));
    report("setxattr_huge_size_missing", syscall(SYS_setxattr, "nope", "user.a", "v", 70000, 0));

    /* openat2: what build_open_flags refuses comes before the directory. */
    struct open_how how = {.flags = O_CREAT | O_WRONLY, .mode = 0644, .resolve = RESOLVE_CACHED};
    report("openat2_cached_creat_bad_dirfd", syscall(SYS_openat2, 999, "x", &how, sizeof how));
    /* O_DIRECTORY is checked before O_NOFOLLOW meets the link. */
    report("open_directory_nofollow_link",
           syscall(SYS_openat, AT_FDCWD, "l", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));

    /* A relative path from a descriptor that is no directory is ENOTDIR,
     * and so is a path through a magic link to one. */
    int mfd = memfd_create("m", 0);
    int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
    char below[64];
    snprintf(below, sizeof below, "/proc/self/fd/%d/x", mfd);
    report("faccessat_memfd_dirfd", syscall(SYS_faccessat, mfd, "x", 0));
    report("access_below_memfd", syscall(SYS_access, below));
    struct stat sst;
    report("fstatat_socket_dirfd", syscall(SYS_newfstatat, sfd, "x", &sst, 0));
    struct open_how beneath = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
    int ffd = open("f", O_RDONLY);
    report("openat2_beneath_file_dirfd", syscall(SYS_openat2, ffd, "../x", &beneath, sizeof beneath));

    /* readlinkat of an empty path is the descriptor: ENOENT unless it is a
     * link; newfstatat takes the AT_STATX_SYNC flags; the fstat forms
     * (AT_EMPTY_PATH with an empty path) look at no flag. */
    char lbuf[256];
    int sdfd = open("d", O_RDONLY | O_DIRECTORY);
    report("readlinkat_cwd_empty", syscall(SYS_readlinkat, AT_FDCWD, "", lbuf, sizeof lbuf));
    report("readlinkat_dir_empty", syscall(SYS_readlinkat, sdfd, "", lbuf, sizeof lbuf));
    report("readlink_dir", syscall(SYS_readlink, "d", lbuf, sizeof lbuf));
    struct stat fst;
    report("newfstatat_sync_flags", syscall(SYS_newfstatat, AT_FDCWD, "f", &fst, 0x6000));
    report("newfstatat_fd_odd_flags", syscall(SYS_newfstatat, sdfd, NULL, &fst, AT_EMPTY_PATH | 0x40000));
    struct statx fsx;
    report("statx_fd_odd_flags", syscall(SYS_statx, sdfd, "", AT_EMPTY_PATH | 0x2000000, STATX_TYPE, &fsx));
    report("statx_path_odd_flags", syscall(SYS_statx, AT_FDCWD, "f", 0x2000000, STATX_TYPE, &fsx));
    report("statx_bad_path_odd_flags", syscall(SYS_statx, AT_FDCWD, BAD, 0x2000000, STATX_TYPE, &fsx));

    /* getdents64: a count past INT_MAX fits no record; a buffer the kernel
     * cannot write does not lose the records. */
    char dbuf[4096];
    int gfd = open(".", O_RDONLY | O_DIRECTORY);
    report("getdents64_count_past_int_max", syscall(SYS_getdents64, gfd, dbuf, 0x80000000u));
    report("getdents64_bad_buffer", syscall(SYS_getdents64, gfd, BAD, sizeof dbuf));
    long got = syscall(SYS_getdents64, gfd, dbuf, sizeof dbuf);
    printf("getdents64_after_bad_buffer=%s\n", got > 0 ? "records" : ename(errno));

    /* inotify_add_watch: the mask, the descriptor (open, an inotify one),
     * IN_MASK_ADD with IN_MASK_CREATE, then the path; any known bit will do. */
    int ino = inotify_init1(IN_CLOEXEC);
    report("inotify_no_bits_bad_fd", syscall(SYS_inotify_add_watch, 999, "f", 0));
    report("inotify_add_create_bad_fd", syscall(SYS_inotify_add_watch, 999, "f", 0x30000000));
    report("inotify_not_inotify_missing", syscall(SYS_inotify_add_watch, gfd, "nope", IN_CREATE));
    report("inotify_add_create_missing", syscall(SYS_inotify_add_watch, ino, "nope", 0x30000000));
    report("inotify_not_inotify_bad_path", syscall(SYS_inotify_add_watch, gfd, BAD, IN_CREATE));
    report("inotify_dont_follow_only", syscall(SYS_inotify_add_watch, ino, "f", IN_DONT_FOLLOW));
    report("inotify_isdir_only", syscall(SYS_inotify_add_watch, ino, "d", IN_ISDIR));

    /* open: O_LARGEFILE (the kernel's 0100000) is an openat2 flag; O_CREAT
     * on a directory is EISDIR, and with a trailing slash EISDIR whatever
     * the last component is, once its directory is found. */
    struct open_how large = {.flags = O_WRONLY | O_CREAT | 0100000, .mode = 0644};
    long lfd = syscall(SYS_openat2, AT_FDCWD, "large", &large, sizeof large);
    report("openat2_o_largefile", lfd >= 0 ? 0 : -1);
    if (lfd >= 0)
        close((int)lfd);
    symlink("nope", "dangling");
    report("creat_file_slash", syscall(SYS_creat, "f/", 0644));
    report("creat_missing_slash", syscall(SYS_creat, "new/", 0644));
    report("creat_dangling_slash", syscall(SYS_creat, "dangling/", 0644));
    report("creat_below_file_slash", syscall(SYS_creat, "f/x/", 0644));
    report("creat_below_missing_slash", syscall(SYS_creat, "nope/x/", 0644));
    report("open_creat_dir", syscall(SYS_openat, AT_FDCWD, "d", O_CREAT | O_RDONLY, 0644) >= 0 ? 0 : -1);
    report("open_creat_excl_dir", syscall(SYS_openat, AT_FDCWD, "d", O_CREAT | O_EXCL | O_RDONLY, 0644));
    report("open_creat_proc_self", syscall(SYS_openat, AT_FDCWD, "/proc/self", O_CREAT | O_RDONLY, 0644) >= 0 ? 0 : -1);
    report("open_creat_nofollow_link", syscall(SYS_openat, AT_FDCWD, "l", O_CREAT | O_NOFOLLOW | O_RDONLY, 0644));

    /* fsetxattr's AT_FDCWD is the working directory (an empty path). */
    report("fsetxattr_at_fdcwd", syscall(SYS_fsetxattr, AT_FDCWD, "user.q", "v", 1, 0));
    report("getxattr_after_fsetxattr_at_fdcwd", syscall(SYS_getxattr, ".", "user.q", lbuf, sizeof lbuf));

    /* Between mounts: EXDEV once both directories are found (rename),
     * or once the target is known free (link; a socket is on no directory's
     * mount). A name too long for the file system is its own error. */
    symlink("d", "ld");
    char longn[300];
    memset(longn, 'n', sizeof longn - 1);
    longn[sizeof longn - 1] = 0;
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    char sockp[64];
    snprintf(sockp, sizeof sockp, "/proc/self/fd/%d", pair[0]);
    report("rename_to_proc", syscall(SYS_rename, "f", "/proc/self/x"));
    report("rename_missing_to_proc", syscall(SYS_rename, "nope", "/proc/self/x"));
    report("rename_dot_to_proc", syscall(SYS_rename, "d/.", "/proc/self/x"));
    report("link_to_proc_exists", syscall(SYS_link, "f", "/proc/self/cwd"));
    report("linkat_socket_to_existing", syscall(SYS_linkat, AT_FDCWD, sockp, AT_FDCWD, "f", AT_SYMLINK_FOLLOW));
    report("linkat_socket_to_new", syscall(SYS_linkat, AT_FDCWD, sockp, AT_FDCWD, "new", AT_SYMLINK_FOLLOW));
    report("link_long_name", syscall(SYS_link, longn, "x"));
    report("mknod_long_name", syscall(SYS_mknod, longn, S_IFREG | 0644, 0));
    report("unlink_long_name", syscall(SYS_unlink, longn));
    report("rename_long_name", syscall(SYS_rename, longn, "x"));
    report("link_dir_link_slash", syscall(SYS_link, "ld/", "x"));
    report("link_file_link_slash", syscall(SYS_link, "l/", "x"));
    report("rename_noreplace_exists_slash", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "l/", RENAME_NOREPLACE));

    /* procfs answers a name it does not have with ENOENT, whatever is
     * asked (EROFS or EXDEV would come later); a symbolic link to an
     * absolute path leaves the mount (RESOLVE_NO_XDEV); inotify masks with
     * unknown bits are EINVAL. */
    report("mkdir_in_proc_fd", syscall(SYS_mkdir, "/proc/self/fd/x", 0755));
    report("symlink_in_proc", syscall(SYS_symlink, "x", "/proc/self/x"));
    report("link_into_proc_fd", syscall(SYS_link, "f", "/proc/self/fd/x"));
    int devfd = open("/dev", O_RDONLY | O_DIRECTORY);
    struct open_how noxdev = {.flags = O_RDONLY, .resolve = RESOLVE_NO_XDEV};
    report("openat2_no_xdev_absolute_link", syscall(SYS_openat2, devfd, "fd/0", &noxdev, sizeof noxdev));
    report("inotify_unknown_bit_12", syscall(SYS_inotify_add_watch, ino, "d", 0x1000 | IN_CREATE));
    report("inotify_unknown_bit_16_bad_fd", syscall(SYS_inotify_add_watch, 999, "d", 0x10000 | IN_CREATE));

    /* getdents64 into a buffer that ends at an unwritable page: the whole
     * records that fit, and the listing goes on after them. */
    mkdir("many", 0755);
    for (int i = 0; i < 40; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "many/file-%02d", i);
        close(open(nm, O_CREAT | O_WRONLY, 0644));
    }
    char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(pg + 4096, 4096, PROT_NONE);
    int mfd2 = open("many", O_RDONLY | O_DIRECTORY);
    report("getdents64_partial", syscall(SYS_getdents64, mfd2, pg + 4096 - 100, 4096));
    report("getdents64_none_fits", syscall(SYS_getdents64, mfd2, pg + 4096 - 10, 4096));
    long rest = 0, chunk;
    while ((chunk = syscall(SYS_getdents64, mfd2, dbuf, sizeof dbuf)) > 0)
        rest += chunk;
    report("getdents64_rest", rest);

    /* O_CREAT through a link whose target ends with a slash: EISDIR too. */
    symlink("f/", "link_file_slash");
    symlink("nope/", "link_missing_slash");
    report("creat_link_to_file_slash", syscall(SYS_creat, "link_file_slash", 0644));
    report("creat_link_to_missing_slash", syscall(SYS_creat, "link_missing_slash", 0644));
    report("open_link_to_file_slash", syscall(SYS_openat, AT_FDCWD, "link_file_slash", O_RDONLY));
    /* A link to a magic link to a file, with a trailing slash: ENOTDIR. */
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", ffd);
    symlink(magic, "link_magic");
    report("open_link_magic_file_slash", syscall(SYS_openat, AT_FDCWD, "link_magic/", O_RDONLY));
    report("stat_magic_file_slash", syscall(SYS_newfstatat, AT_FDCWD, "link_magic/", &sst, 0));

    /* RESOLVE_CACHED: what the starting point alone decides comes first. */
    struct open_how cached = {.flags = O_RDONLY, .resolve = RESOLVE_CACHED};
    report("openat2_cached_socket_dirfd", syscall(SYS_openat2, sfd, "x", &cached, sizeof cached));
    report("openat2_cached_bad_dirfd", syscall(SYS_openat2, 999, "x", &cached, sizeof cached));

    /* /proc/self is a symbolic link when not followed. */
    struct stat st;
    if (lstat("/proc/self", &st) == 0)
        printf("lstat_proc_self=%s\n", type_of(st.st_mode));
    else
        printf("lstat_proc_self=%s\n", ename(errno));
    if (fstatat(AT_FDCWD, "/proc/self", &st, AT_SYMLINK_NOFOLLOW) == 0)
        printf("fstatat_nofollow_proc_self=%s\n", type_of(st.st_mode));
    else
        printf("fstatat_nofollow_proc_self=%s\n", ename(errno));
    struct statx stx;
    if (statx(AT_FDCWD, "/proc/thread-self", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) == 0)
        printf("statx_nofollow_thread_self=%s\n", type_of(stx.stx_mode));
    else
        printf("statx_nofollow_thread_self=%s\n", ename(errno));
    char buf[64];
    ssize_t n = readlink("/proc/self", buf, sizeof buf);
    printf("readlink_proc_self=%s\n", n > 0 ? "ok" : ename(errno));

    /* Without privileges: a directory must be searchable for `..` and for
     * `.` (the working directory) to be looked up, before anything else;
     * truncate checks write permission before the mount. */
    if (geteuid() != 0) {
        char here[4096];
        struct stat ust;
        mkdir("noexec", 0755);
        mkdir("noexec/in", 0755);
        chmod("noexec", 0600);
        report("unpriv_stat_unsearchable_dotdot", stat("noexec/..", &ust));
        struct open_how ub = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
        int nfd = open("noexec", O_RDONLY | O_DIRECTORY);
        report("unpriv_openat2_beneath_unsearchable_dotdot", syscall(SYS_openat2, nfd, "..", &ub, sizeof ub));
        report("unpriv_stat_file_dotdot", stat("f/..", &ust));
        report("unpriv_rename_root_into_unsearchable", syscall(SYS_rename, "/", "noexec/x"));
        report("unpriv_mkdir_in_unsearchable_dot", syscall(SYS_mkdir, "noexec/.", 0755));
        close(open("nowrite", O_CREAT | O_WRONLY, 0444));
        report("unpriv_truncate_no_write_permission", truncate("nowrite", 0));
        int keep = open(".", O_RDONLY | O_DIRECTORY);
        mkdir("cwd_unsearchable", 0755);
        if (getcwd(here, sizeof here - 32) && chdir("cwd_unsearchable") == 0) {
            strcat(here, "/cwd_unsearchable");
            chmod(here, 0600);
            report("unpriv_stat_dot_unsearchable_cwd", stat(".", &ust));
            report("unpriv_open_dot_unsearchable_cwd", open(".", O_RDONLY) >= 0 ? 0 : -1);
            chmod(here, 0755);
            fchdir(keep);
        }
        chmod("noexec", 0755);
    }

    /* A msghdr whose name has length 0 is one without a name: the send
     * goes to the connected peer (seed 4000059). */
    {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        report("udp_connect_port_0", connect(u, (struct sockaddr *)&lo, sizeof lo));
        char junk[40], data[16] = "0123456789abcdef";
        memset(junk, 'A', sizeof junk);
        junk[0] = AF_INET6;
        struct iovec v = {data, sizeof data};
        struct msghdr mh = {.msg_name = junk, .msg_namelen = 0, .msg_iov = &v, .msg_iovlen = 1,
                            .msg_flags = (int)0xd1d5a63c};
        report("sendmsg_name_of_length_0", sendmsg(u, &mh, MSG_MORE));
        close(u);
    }

    /* A Unix socket that passes credentials is autobound before the
     * kernel looks for the peer, even when there is none (seed 4000012):
     * a connect or a datagram send to an absent path leaves it named. */
    {
        struct sockaddr_un none = {.sun_family = AF_UNIX};
        strcpy(none.sun_path, "no-such-socket");
        int types[2] = {SOCK_STREAM, SOCK_DGRAM};
        for (int t = 0; t < 2; t++) {
            int us = socket(AF_UNIX, types[t], 0), one = 1;
            setsockopt(us, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
            char key[64];
            snprintf(key, sizeof key, "passcred_%s_connect_absent", t ? "dgram" : "stream");
            report(key, connect(us, (struct sockaddr *)&none, sizeof none));
            struct sockaddr_un got;
            socklen_t gl = sizeof got;
            getsockname(us, (struct sockaddr *)&got, &gl);
            snprintf(key, sizeof key, "passcred_%s_autobound", t ? "dgram" : "stream");
            report(key, gl > sizeof(sa_family_t));
            if (!t) report("passcred_stream_listen_after", listen(us, 1));
            close(us);
        }
        int ud = socket(AF_UNIX, SOCK_DGRAM, 0), one = 1;
        setsockopt(ud, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
        report("passcred_dgram_sendto_absent",
               sendto(ud, "x", 1, 0, (struct sockaddr *)&none, sizeof none));
        struct sockaddr_un got;
        socklen_t gl = sizeof got;
        getsockname(ud, (struct sockaddr *)&got, &gl);
        report("passcred_dgram_sendto_autobound", gl > sizeof(sa_family_t));
        close(ud);
        /* MSG_OOB on a datagram: refused before the address is looked at
         * (no lookup, no autobind; seed 6000004). */
        int uo = socket(AF_UNIX, SOCK_DGRAM, 0);
        setsockopt(uo, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
        report("dgram_oob_sendto_absent",
               sendto(uo, "x", 1, MSG_OOB | MSG_EOR, (struct sockaddr *)&none, sizeof none));
        gl = sizeof got;
        getsockname(uo, (struct sockaddr *)&got, &gl);
        report("dgram_oob_not_autobound", gl > sizeof(sa_family_t));
        close(uo);
        /* A Unix datagram's data is copied before its address is looked
         * up: a buffer that faults is EFAULT whatever the path, absent or
         * hidden (and the socket autobinds first with SO_PASSCRED). */
        int uf = socket(AF_UNIX, SOCK_DGRAM, 0);
        setsockopt(uf, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
        report("dgram_fault_sendto_absent",
               sendto(uf, (void *)1, 8, 0, (struct sockaddr *)&none, sizeof none));
        gl = sizeof got;
        getsockname(uf, (struct sockaddr *)&got, &gl);
        report("dgram_fault_autobound", gl > sizeof(sa_family_t));
        close(uf);
        /* Without SO_PASSCRED: no name. */
        int plain = socket(AF_UNIX, SOCK_STREAM, 0);
        report("plain_connect_absent", connect(plain, (struct sockaddr *)&none, sizeof none));
        gl = sizeof got;
        getsockname(plain, (struct sockaddr *)&got, &gl);
        report("plain_not_autobound", gl > sizeof(sa_family_t));
        close(plain);
    }

    /* O_CREAT through a symbolic link to an object that exists, in a
     * world-writable sticky directory: the kernel refuses it (EACCES) when
     * the object is neither the opener's nor the directory's owner's, and
     * for anything but a regular file or a FIFO whatever fs.protected_*
     * say. fdsup opens what its walk found without O_CREAT, and answered
     * the socket's ENXIO. (As root, the socket is given to uid 3; without
     * privileges it stays the opener's, and both sides open it.) */
    if (mkdir("sticky", 0755) == 0 && chmod("sticky", 01777) == 0) {
        int us = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        strcpy(sun.sun_path, "sticky/sock");
        if (us >= 0 && bind(us, (struct sockaddr *)&sun, sizeof sun) == 0) {
            if (geteuid() == 0 && chown("sticky/sock", 3, 3) != 0)
                return 3;
            symlink("sock", "sticky/to-sock");
            symlink("sticky/sock", "to-sticky-sock");
            report("creat_link_sticky_socket", creat("sticky/to-sock", 0644));
            report("creat_outer_link_sticky_socket", creat("to-sticky-sock", 0644));
            report("open_creat_link_sticky_socket",
                   syscall(SYS_openat, AT_FDCWD, "to-sticky-sock", O_CREAT | O_RDONLY, 0644));
        }
    }

    /* In a working directory that was removed, `.` and `..` are still
     * there (and nothing else is). Last: it moves the working directory. */
    mkdir("gone", 0755);
    if (chdir("gone") == 0 && rmdir("../gone") == 0) {
        struct stat gst;
        report("deleted_cwd_stat_dot", stat(".", &gst));
        report("deleted_cwd_stat_dotdot", stat("..", &gst));
        report("deleted_cwd_stat_name", stat("y", &gst));
        report("deleted_cwd_proc_dotdot", stat("/proc/self/cwd/..", &gst));
        long dd = open("..", O_RDONLY | O_DIRECTORY);
        report("deleted_cwd_open_dotdot", dd >= 0 ? 0 : -1);
        report("deleted_cwd_mkdir", mkdir("z", 0755));
        report("deleted_cwd_creat", creat("z", 0644) >= 0 ? 0 : -1);
    }

    printf("done\n");
    return 0;
}
