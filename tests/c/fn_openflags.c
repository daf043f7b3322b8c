/* Every open flag and form, one line per case: "name: ok ..." with what was
 * read, written or observed through the descriptor, or "name: ERRNO". Run
 * natively and under fdsup from identical directory layouts, the outputs
 * must be identical (and so must the files left behind).
 *
 * Expects in the current directory (made by the test):
 *   f.txt "hello\n", trunc.txt "abcdef", trunc2.txt "zzz", trunc3.txt "keep",
 *   app.txt "abc", excl.txt "exists", rw.txt "12345", x.txt "x\n",
 *   sub/inner.txt "inner\n", link.txt -> f.txt, dirlink -> sub,
 *   dangling -> newtarget.txt, fifo (a FIFO).
 *
 * Usage: fn_openflags [cwd-only]
 *   cwd-only: skip the cases that reach outside the current directory
 *   (/proc, /dev).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cwd_only;
static char cwd[4096];

static const char *en(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static long openat2_raw(int dfd, const char *path, const void *how, size_t size)
{
	return syscall(SYS_openat2, dfd, path, how, size);
}

static int o2(int dfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = flags;
	how.mode = mode;
	how.resolve = resolve;
	return (int)openat2_raw(dfd, path, &how, sizeof how);
}

/* Reads at most n-1 bytes from fd at its position; newlines shown as '|'. */
static const char *slurp(int fd)
{
	static char buf[256];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		snprintf(buf, sizeof buf, "<%s>", en(errno));
		return buf;
	}
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	return buf;
}

/* Whole contents of a file, read natively by path. */
static const char *file_contents(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(buf, sizeof buf, "<%s>", en(errno));
		return buf;
	}
	const char *s = slurp(fd);
	close(fd);
	return s;
}

/* The interesting bits of F_GETFL, the same whoever opened the file. */
static unsigned getfl(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return (unsigned)fl & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC | O_DIRECT |
			       O_NOATIME | O_PATH | O_LARGEFILE);
}

static int cloexec(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0;
}

static void fail(const char *name, int e)
{
	printf("%s: %s\n", name, en(e));
}

/* "ok" with the flags, close-on-exec bit and what reading gives. */
static void ok_read(const char *name, int fd)
{
	if (fd < 0) {
		fail(name, errno);
		return;
	}
	unsigned fl = getfl(fd);
	int ce = cloexec(fd);
	printf("%s: ok fl=%#x cloexec=%d read=%s\n", name, fl, ce, slurp(fd));
	close(fd);
}

/* "ok" with the flags and the mode and size after writing `data`. */
static void ok_write(const char *name, int fd, const char *data)
{
	if (fd < 0) {
		fail(name, errno);
		return;
	}
	ssize_t w = write(fd, data, strlen(data));
	struct stat st;
	fstat(fd, &st);
	printf("%s: ok fl=%#x cloexec=%d wrote=%zd%s%s mode=%04o size=%lld nlink=%ld\n", name,
	       getfl(fd), cloexec(fd), w, w < 0 ? "/" : "", w < 0 ? en(errno) : "",
	       (unsigned)st.st_mode & 07777, (long long)st.st_size, (long)st.st_nlink);
	close(fd);
}

static void fds_open(const char *name)
{
	printf("%s:", name);
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			printf(" %d", fd);
	printf("\n");
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names listed through a directory descriptor. */
static void ok_list(const char *name, int fd)
{
	if (fd < 0) {
		fail(name, errno);
		return;
	}
	DIR *d = fdopendir(fd);
	char *names[64];
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) && n < 64)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	qsort(names, n, sizeof names[0], cmpstr);
	printf("%s: ok list=", name);
	for (int i = 0; i < n; i++) {
		printf("%s%s", i ? "," : "", names[i]);
		free(names[i]);
	}
	printf("\n");
	if (d)
		closedir(d);
}

static char *abspath(const char *rel)
{
	static char buf[8192];
	snprintf(buf, sizeof buf, "%s/%s", cwd, rel);
	return buf;
}

static void proc_status(const char *name, const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fail(name, errno);
		return;
	}
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		fail(name, errno);
		return;
	}
	buf[n] = 0;
	char *p = strstr(buf, "\nPid:");
	long pid = p ? strtol(p + 5, NULL, 10) : -1;
	printf("%s: ok %s\n", name, pid == (long)getpid() ? "pid-matches" : "pid-differs");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	cwd_only = argc > 1 && strcmp(argv[1], "cwd-only") == 0;
	if (!getcwd(cwd, sizeof cwd)) {
		perror("getcwd");
		return 2;
	}
	umask(022);
	int fd, dfd;

	/* Nothing but stdin, stdout and stderr at the start: fdsup leaves
	 * nothing of its own in the program's descriptor table. */
	fds_open("initial-fds");

	/* The plain forms. The first open gets the lowest free number. */
	fd = open("f.txt", O_RDONLY);
	printf("lowest-fd: %d\n", fd);
	ok_read("open-rdonly", fd);
	ok_read("openat-rdonly", openat(AT_FDCWD, "f.txt", O_RDONLY));
	ok_read("openat2-rdonly", o2(AT_FDCWD, "f.txt", O_RDONLY, 0, 0));
	ok_read("open-abs", open(abspath("f.txt"), O_RDONLY));
	ok_read("openat2-abs", o2(AT_FDCWD, abspath("f.txt"), O_RDONLY, 0, 0));
	ok_write("creat-new", creat("creat.txt", 0666), "C");
	ok_write("creat-existing", creat("trunc2.txt", 0666), "");
	ok_write("open-rdwr-create", open("rwnew.txt", O_RDWR | O_CREAT, 0640), "R");
	ok_write("openat2-create", o2(AT_FDCWD, "o2new.txt", O_WRONLY | O_CREAT, 0604, 0), "2");

	/* O_PATH: a descriptor that only names the file. */
	fd = open("f.txt", O_PATH);
	if (fd < 0) {
		fail("opath", errno);
	} else {
		struct stat st;
		int r = fstat(fd, &st);
		char b[4];
		ssize_t n = read(fd, b, sizeof b);
		printf("opath: ok fl=%#x fstat=%d size=%lld read=%s\n", getfl(fd), r,
		       (long long)st.st_size, n < 0 ? en(errno) : "read-succeeded");
		close(fd);
	}
	dfd = open("sub", O_PATH | O_DIRECTORY);
	if (dfd < 0) {
		fail("opath-dirfd", errno);
	} else {
		ok_read("opath-dirfd", openat(dfd, "inner.txt", O_RDONLY));
		close(dfd);
	}

	/* `.` names a directory only: after a file's name, or relative to a
	 * file's descriptor, it is ENOTDIR, and nothing is truncated. */
	fd = open("trunc3.txt", O_RDONLY);
	ok_read("dot-on-file-fd", openat(fd, ".", O_RDONLY));
	ok_write("dot-on-file-fd-trunc", openat(fd, ".", O_WRONLY | O_TRUNC), "");
	ok_read("dot-after-file-name", open("trunc3.txt/.", O_RDONLY));
	ok_read("dot-after-file-abs", open(abspath("trunc3.txt/."), O_RDONLY));
	{
		struct stat st;
		printf("dot-on-file-fd-stat: %s\n",
		       fstatat(fd, ".", &st, 0) == 0 ? "ok" : en(errno));
		printf("dot-after-file-stat: %s\n",
		       stat("trunc3.txt/.", &st) == 0 ? "ok" : en(errno));
	}
	if (fd >= 0)
		close(fd);
	printf("dot-on-file-content: %s\n", file_contents("trunc3.txt"));
	ok_read("dot-on-dir-fd", openat(AT_FDCWD, "sub/./inner.txt", O_RDONLY));

	/* O_CREAT, with the program's umask applied to the mode. */
	ok_write("creat-flag", open("new.txt", O_CREAT | O_WRONLY, 0666), "N");
	umask(077);
	ok_write("creat-umask077", open("new2.txt", O_CREAT | O_WRONLY, 0666), "U");
	umask(022);
	ok_write("creat-mode0751", open("new3.txt", O_CREAT | O_RDWR, 0751), "M");
	ok_write("creat-existing-keeps", open("excl.txt", O_CREAT | O_WRONLY, 0600), "");
	printf("creat-existing-keeps-content: %s\n", file_contents("excl.txt"));

	/* O_EXCL. */
	ok_write("excl-existing", open("excl.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), "E");
	ok_write("excl-new", open("excl-new.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), "E");
	ok_write("excl-dangling-symlink", open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644),
		 "E");
	ok_write("excl-symlink", open("link.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), "E");
	ok_write("creat-through-dangling", open("dangling", O_CREAT | O_WRONLY, 0644), "D");
	printf("creat-through-dangling-target: %s\n", file_contents("newtarget.txt"));

	/* O_TRUNC, also with O_RDONLY (Linux truncates then too). */
	ok_write("trunc", open("trunc.txt", O_WRONLY | O_TRUNC), "");
	ok_read("trunc-rdonly", open("trunc3.txt", O_RDONLY | O_TRUNC));
	printf("trunc-rdonly-after: %s\n", file_contents("trunc3.txt"));

	/* O_APPEND. */
	ok_write("append", open("app.txt", O_WRONLY | O_APPEND), "def");
	printf("append-after: %s\n", file_contents("app.txt"));

	/* O_RDWR: read then write at the same offset. */
	fd = open("rw.txt", O_RDWR);
	if (fd < 0) {
		fail("rdwr", errno);
	} else {
		char b[3] = {0};
		ssize_t r = read(fd, b, 2);
		ssize_t w = write(fd, "XY", 2);
		printf("rdwr: ok fl=%#x read=%zd:%s wrote=%zd\n", getfl(fd), r, b, w);
		close(fd);
	}
	printf("rdwr-after: %s\n", file_contents("rw.txt"));

	/* O_DIRECTORY, and directories opened for writing. */
	ok_read("directory-on-file", open("f.txt", O_RDONLY | O_DIRECTORY));
	ok_list("directory-on-dir", open("sub", O_RDONLY | O_DIRECTORY));
	ok_list("directory-dot", open(".", O_RDONLY | O_DIRECTORY));
	ok_write("wronly-on-dir", open("sub", O_WRONLY), "");
	ok_write("creat-on-dir", open("sub", O_CREAT | O_WRONLY, 0644), "");
	ok_write("creat-directory", open("cd.txt", O_CREAT | O_DIRECTORY | O_RDONLY, 0644), "");
	printf("creat-directory-left: %s\n", access("cd.txt", F_OK) == 0 ? "exists" : en(errno));

	/* O_NOFOLLOW. */
	ok_read("nofollow-symlink", open("link.txt", O_RDONLY | O_NOFOLLOW));
	fd = open("link.txt", O_PATH | O_NOFOLLOW);
	if (fd < 0) {
		fail("nofollow-opath", errno);
	} else {
		struct stat st;
		char t[64] = {0};
		fstat(fd, &st);
		ssize_t n = readlinkat(fd, "", t, sizeof t - 1);
		printf("nofollow-opath: ok islnk=%d readlink=%s\n", S_ISLNK(st.st_mode) ? 1 : 0,
		       n < 0 ? en(errno) : t);
		close(fd);
	}
	ok_read("nofollow-not-last", open("dirlink/inner.txt", O_RDONLY | O_NOFOLLOW));
	ok_read("nofollow-plain-file", open("f.txt", O_RDONLY | O_NOFOLLOW));

	/* O_TMPFILE, then given a name through /proc/self/fd. */
	fd = open(".", O_TMPFILE | O_RDWR, 0600);
	if (fd < 0) {
		fail("tmpfile", errno);
	} else {
		struct stat st;
		fstat(fd, &st);
		ssize_t w = write(fd, "tmp", 3);
		char p[64];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		int l = linkat(AT_FDCWD, p, AT_FDCWD, "tmplinked.txt", AT_SYMLINK_FOLLOW);
		printf("tmpfile: ok fl=%#x nlink-before=%ld mode=%04o wrote=%zd link=%s "
		       "contents=%s\n",
		       getfl(fd), (long)st.st_nlink, (unsigned)st.st_mode & 07777, w,
		       l == 0 ? "ok" : en(errno), file_contents("tmplinked.txt"));
		close(fd);
	}
	fd = open("sub", O_TMPFILE | O_WRONLY | O_EXCL, 0600);
	if (fd < 0) {
		fail("tmpfile-excl", errno);
	} else {
		char p[64];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		int l = linkat(AT_FDCWD, p, AT_FDCWD, "sub/never.txt", AT_SYMLINK_FOLLOW);
		printf("tmpfile-excl: ok link=%s\n", l == 0 ? "linked" : en(errno));
		close(fd);
	}
	ok_write("tmpfile-on-file", open("f.txt", O_TMPFILE | O_RDWR, 0600), "");
	ok_write("tmpfile-rdonly", open(".", O_TMPFILE | O_RDONLY, 0600), "");

	/* Status flags the descriptor must carry. */
	ok_read("nonblock", open("f.txt", O_RDONLY | O_NONBLOCK));
	ok_write("sync", open("creat.txt", O_WRONLY | O_SYNC), "S");
	ok_write("dsync", open("creat.txt", O_WRONLY | O_DSYNC), "");
	ok_read("noatime", open("f.txt", O_RDONLY | O_NOATIME));
	ok_read("direct", open("f.txt", O_RDONLY | O_DIRECT));
	ok_read("noctty", open("f.txt", O_RDONLY | O_NOCTTY));
	ok_read("cloexec", open("f.txt", O_RDONLY | O_CLOEXEC));
	ok_read("no-cloexec", open("f.txt", O_RDONLY));
	ok_read("openat-cloexec", openat(AT_FDCWD, "f.txt", O_RDONLY | O_CLOEXEC));
	ok_read("openat2-cloexec", o2(AT_FDCWD, "f.txt", O_RDONLY | O_CLOEXEC, 0, 0));
	ok_read("openat2-no-cloexec", o2(AT_FDCWD, "f.txt", O_RDONLY, 0, 0));
	ok_write("creat-no-cloexec", creat("creat.txt", 0644), "c");

	/* FIFOs: a non-blocking reader opens at once, a non-blocking writer
	 * without a reader gets ENXIO. */
	ok_read("fifo-rd-nonblock", open("fifo", O_RDONLY | O_NONBLOCK));
	ok_write("fifo-wr-nonblock", open("fifo", O_WRONLY | O_NONBLOCK), "");

	/* Relative paths after chdir, and with directory descriptors. */
	if (chdir("sub") != 0) {
		fail("chdir", errno);
	} else {
		ok_read("chdir-relative", open("inner.txt", O_RDONLY));
		ok_read("chdir-dotdot", open("../f.txt", O_RDONLY));
		ok_read("chdir-openat2", o2(AT_FDCWD, "inner.txt", O_RDONLY, 0, 0));
		ok_write("chdir-create", open("created-in-sub.txt", O_CREAT | O_WRONLY, 0644),
			 "s");
		if (chdir("..") != 0)
			return 2;
	}
	dfd = open("sub", O_RDONLY | O_DIRECTORY);
	ok_read("openat-dirfd", openat(dfd, "inner.txt", O_RDONLY));
	ok_read("openat-dirfd-dotdot", openat(dfd, "../f.txt", O_RDONLY));
	ok_read("openat-dirfd-abs", openat(dfd, abspath("f.txt"), O_RDONLY));
	ok_write("openat-dirfd-create", openat(dfd, "dirfd-new.txt", O_CREAT | O_WRONLY, 0644),
		 "d");
	ok_read("openat-dirfd-empty", openat(dfd, "", O_RDONLY));
	ok_read("openat-dirfd-dot", openat(dfd, ".", O_RDONLY));
	ok_read("openat-badfd", openat(9999, "f.txt", O_RDONLY));
	ok_read("openat-negfd", openat(-5, "f.txt", O_RDONLY));
	ok_read("openat-badfd-abs", openat(9999, abspath("f.txt"), O_RDONLY));
	fd = open("f.txt", O_RDONLY);
	ok_read("openat-filefd", openat(fd, "x", O_RDONLY));
	ok_read("openat2-filefd", o2(fd, "x", O_RDONLY, 0, 0));
	close(fd);

	/* "..", symbolic links and trailing slashes. */
	ok_read("dotdot", open("sub/../f.txt", O_RDONLY));
	ok_read("dotdot-many", open("sub/./../sub/../f.txt", O_RDONLY));
	ok_read("dotdot-through-symlink", open("dirlink/../f.txt", O_RDONLY));
	ok_read("dot-slashes", open(".//sub///inner.txt", O_RDONLY));
	ok_read("symlink-file", open("link.txt", O_RDONLY));
	ok_read("symlink-dir", open("dirlink/inner.txt", O_RDONLY));
	ok_write("symlink-write", open("link.txt", O_WRONLY | O_APPEND), "!");
	printf("symlink-write-target: %s\n", file_contents("f.txt"));
	ok_read("trailing-slash-file", open("f.txt/", O_RDONLY));
	ok_read("trailing-slash-dir", open("sub/", O_RDONLY));
	ok_write("trailing-slash-creat", open("newdir/", O_CREAT | O_WRONLY, 0644), "");
	ok_read("trailing-slash-symlink-dir", open("dirlink/", O_RDONLY));
	ok_read("nonexistent", open("nope.txt", O_RDONLY));
	ok_write("creat-in-missing-dir", open("nodir/x", O_CREAT | O_WRONLY, 0644), "");
	ok_read("file-as-dir", open("f.txt/x", O_RDONLY));

	/* openat2 resolve flags. */
	ok_read("beneath-dotdot", o2(dfd, "../x.txt", O_RDONLY, 0, RESOLVE_BENEATH));
	ok_read("beneath-abs", o2(dfd, abspath("x.txt"), O_RDONLY, 0, RESOLVE_BENEATH));
	ok_read("beneath-inside", o2(dfd, "inner.txt", O_RDONLY, 0, RESOLVE_BENEATH));
	ok_read("beneath-inside-dotdot",
		o2(dfd, "../sub/inner.txt", O_RDONLY, 0, RESOLVE_BENEATH));
	ok_read("beneath-cwd-dotdot", o2(AT_FDCWD, "sub/../x.txt", O_RDONLY, 0, RESOLVE_BENEATH));
	ok_read("in-root-abs", o2(dfd, "/inner.txt", O_RDONLY, 0, RESOLVE_IN_ROOT));
	ok_read("in-root-dotdot", o2(dfd, "../../inner.txt", O_RDONLY, 0, RESOLVE_IN_ROOT));
	ok_read("in-root-missing", o2(dfd, "/x.txt", O_RDONLY, 0, RESOLVE_IN_ROOT));
	ok_read("no-symlinks", o2(AT_FDCWD, "link.txt", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
	ok_read("no-symlinks-dir",
		o2(AT_FDCWD, "dirlink/inner.txt", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
	ok_read("no-symlinks-plain", o2(AT_FDCWD, "f.txt", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
	ok_read("no-magiclinks-plain-symlink",
		o2(AT_FDCWD, "link.txt", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
	ok_write("openat2-create-beneath",
		 o2(dfd, "beneath-new.txt", O_CREAT | O_WRONLY, 0644, RESOLVE_BENEATH), "b");
	close(dfd);

	/* openat2's argument checks. */
	{
		struct open_how how = {.flags = O_RDONLY};
		ok_read("openat2-size-small", (int)openat2_raw(AT_FDCWD, "f.txt", &how, 8));
		ok_read("openat2-size-zero", (int)openat2_raw(AT_FDCWD, "f.txt", &how, 0));
		unsigned char big[64];
		memset(big, 0, sizeof big);
		memcpy(big, &how, sizeof how);
		ok_read("openat2-size-big-zeros",
			(int)openat2_raw(AT_FDCWD, "f.txt", big, sizeof big));
		big[40] = 1;
		ok_read("openat2-size-big-trailing",
			(int)openat2_raw(AT_FDCWD, "f.txt", big, sizeof big));
		ok_read("openat2-bad-how", (int)openat2_raw(AT_FDCWD, "f.txt", (void *)8,
							     sizeof how));
	}
	ok_read("openat2-unknown-flag", o2(AT_FDCWD, "f.txt", O_RDONLY | (1ULL << 40), 0, 0));
	ok_read("openat2-unknown-resolve", o2(AT_FDCWD, "f.txt", O_RDONLY, 0, 1ULL << 30));
	ok_read("openat2-mode-without-creat", o2(AT_FDCWD, "f.txt", O_RDONLY, 0644, 0));
	ok_write("openat2-mode-too-big",
		 o2(AT_FDCWD, "never.txt", O_CREAT | O_WRONLY, 010000000, 0), "");
	ok_read("openat2-beneath-and-in-root",
		o2(AT_FDCWD, "f.txt", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
	/* The same checks where the path needs the careful walk (a symbolic
	 * link on the way), and the checks every open call makes. */
	ok_read("openat2-mode-without-creat-walk", o2(AT_FDCWD, "link.txt", O_RDONLY, 0644, 0));
	ok_read("openat2-opath-rdwr-walk", o2(AT_FDCWD, "link.txt", O_PATH | O_RDWR, 0, 0));
	ok_read("openat2-unknown-flag-walk",
		o2(AT_FDCWD, "link.txt", O_RDONLY | (1ULL << 40), 0, 0));
	ok_read("creat-directory", open("f.txt", O_CREAT | O_DIRECTORY | O_RDONLY, 0644));
	ok_read("creat-directory-walk", open("link.txt", O_CREAT | O_DIRECTORY | O_RDONLY, 0644));
	ok_read("tmpfile-rdonly", open("sub", O_TMPFILE | O_RDONLY, 0600));
	ok_read("tmpfile-rdonly-walk", open("dirlink", O_TMPFILE | O_RDONLY, 0600));
	ok_read("tmpfile-bit-alone", open("dirlink", (O_TMPFILE & ~O_DIRECTORY) | O_RDWR, 0600));
	/* openat drops O_RDWR beside O_PATH (served as a read-only descriptor
	 * under fdsup: only whether it opened is compared). */
	fd = openat(AT_FDCWD, "link.txt", O_PATH | O_RDWR);
	printf("openat-opath-rdwr-walk: %s\n", fd >= 0 ? "ok" : en(errno));
	if (fd >= 0)
		close(fd);

	/* Bad paths. */
	ok_read("efault-open", open((const char *)8, O_RDONLY));
	ok_read("efault-openat", openat(AT_FDCWD, (const char *)8, O_RDONLY));
	ok_read("efault-openat2", o2(AT_FDCWD, (const char *)8, O_RDONLY, 0, 0));
	ok_write("efault-creat", creat((const char *)8, 0644), "");
	ok_read("empty-open", open("", O_RDONLY));
	ok_read("empty-openat2", o2(AT_FDCWD, "", O_RDONLY, 0, 0));
	{
		static char longname[300];
		memset(longname, 'a', sizeof longname - 1);
		ok_read("component-too-long", open(longname, O_RDONLY));
		static char longpath[5000];
		for (size_t i = 0; i + 2 < sizeof longpath; i += 2)
			memcpy(longpath + i, "./", 2);
		ok_read("path-too-long", open(longpath, O_RDONLY));
	}

	if (!cwd_only) {
		/* /proc/self is the program's own, and magic links. */
		fd = open("f.txt", O_RDONLY);
		char p[64];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		ok_read("magiclink", open(p, O_RDONLY));
		ok_read("no-magiclinks", o2(AT_FDCWD, p, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
		ok_read("magiclink-no-symlinks",
			o2(AT_FDCWD, p, O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
		close(fd);
		snprintf(p, sizeof p, "/proc/self/cwd/f.txt");
		ok_read("proc-self-cwd", open(p, O_RDONLY));
		proc_status("proc-self-status", "/proc/self/status");
		snprintf(p, sizeof p, "/proc/%d/status", (int)getpid());
		proc_status("proc-pid-status", p);
		proc_status("proc-thread-self-status", "/proc/thread-self/status");
		fd = open("/proc/self/status", O_RDONLY);
		ok_read("proc-self-status-no-xdev",
			o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV));
		close(fd);
		ok_write("devnull-write", open("/dev/null", O_WRONLY), "hello");
		ok_read("devnull-read", open("/dev/null", O_RDONLY));
		ok_write("devnull-creat-trunc", open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644),
			 "x");
	}

	fds_open("final-fds");
	return 0;
}
