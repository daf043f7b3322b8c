/* Tries one open per OP PATH pair and prints "OP PATH: ok ..." or
 * "OP PATH: ERRNO", so a test can hold each attempt to its expected answer.
 *
 * Usage: fn_probe OP PATH [OP PATH ...]
 *   r      O_RDONLY, then read (prints what was read, newlines as '|')
 *   rc     O_RDONLY|O_CREAT (0644), then read
 *   w      O_WRONLY, then write "W"
 *   rw     O_RDWR, then write "W"
 *   c      O_WRONLY|O_CREAT (0644), then write "C"
 *   cx     O_WRONLY|O_CREAT|O_EXCL (0644), then write "X"
 *   t      O_WRONLY|O_TRUNC
 *   rt     O_RDONLY|O_TRUNC (Linux truncates then too)
 *   a      O_WRONLY|O_APPEND, then write "A"
 *   creat  creat(0644), then write "K"
 *   tmp    O_TMPFILE|O_RDWR in the directory PATH
 *   p      O_PATH
 *   d      O_RDONLY|O_DIRECTORY
 *   o2     openat2 O_RDONLY, then read
 *   o2w    openat2 O_WRONLY|O_CREAT (0644), then write "2"
 *   size   O_RDONLY, then fstat: prints the size
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *en(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3 || argc % 2 != 1) {
		fprintf(stderr, "usage: fn_probe OP PATH [OP PATH ...]\n");
		return 2;
	}
	int failures = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *op = argv[i], *path = argv[i + 1];
		const char *data = NULL;
		int fd, reads = 0, sizes = 0;
		if (!strcmp(op, "r")) {
			fd = open(path, O_RDONLY);
			reads = 1;
		} else if (!strcmp(op, "rc")) {
			fd = open(path, O_RDONLY | O_CREAT, 0644);
			reads = 1;
		} else if (!strcmp(op, "w")) {
			fd = open(path, O_WRONLY);
			data = "W";
		} else if (!strcmp(op, "rw")) {
			fd = open(path, O_RDWR);
			data = "W";
		} else if (!strcmp(op, "c")) {
			fd = open(path, O_WRONLY | O_CREAT, 0644);
			data = "C";
		} else if (!strcmp(op, "cx")) {
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			data = "X";
		} else if (!strcmp(op, "t")) {
			fd = open(path, O_WRONLY | O_TRUNC);
		} else if (!strcmp(op, "rt")) {
			fd = open(path, O_RDONLY | O_TRUNC);
		} else if (!strcmp(op, "a")) {
			fd = open(path, O_WRONLY | O_APPEND);
			data = "A";
		} else if (!strcmp(op, "creat")) {
			fd = creat(path, 0644);
			data = "K";
		} else if (!strcmp(op, "tmp")) {
			fd = open(path, O_TMPFILE | O_RDWR, 0600);
		} else if (!strcmp(op, "p")) {
			fd = open(path, O_PATH);
		} else if (!strcmp(op, "d")) {
			fd = open(path, O_RDONLY | O_DIRECTORY);
		} else if (!strcmp(op, "o2") || !strcmp(op, "o2w")) {
			struct open_how how;
			memset(&how, 0, sizeof how);
			if (!strcmp(op, "o2")) {
				how.flags = O_RDONLY;
				reads = 1;
			} else {
				how.flags = O_WRONLY | O_CREAT;
				how.mode = 0644;
				data = "2";
			}
			fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
		} else if (!strcmp(op, "size")) {
			fd = open(path, O_RDONLY);
			sizes = 1;
		} else {
			fprintf(stderr, "fn_probe: unknown op %s\n", op);
			return 2;
		}
		if (fd < 0) {
			printf("%s %s: %s\n", op, path, en(errno));
			failures++;
			continue;
		}
		printf("%s %s: ok", op, path);
		if (reads) {
			char buf[256];
			ssize_t n = read(fd, buf, sizeof buf - 1);
			if (n < 0) {
				printf(" read=<%s>", en(errno));
			} else {
				buf[n] = 0;
				for (ssize_t j = 0; j < n; j++)
					if (buf[j] == '\n')
						buf[j] = '|';
				printf(" read=%s", buf);
			}
		}
		if (data) {
			ssize_t w = write(fd, data, strlen(data));
			if (w < 0)
				printf(" write=<%s>", en(errno));
			else
				printf(" wrote=%zd", w);
		}
		if (sizes) {
			struct stat st;
			fstat(fd, &st);
			printf(" size=%lld", (long long)st.st_size);
		}
		printf("\n");
		close(fd);
	}
	return failures > 0 ? 1 : 0;
}
