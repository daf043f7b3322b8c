/* Many threads opening at once: each of NTHREADS threads opens, reads and
 * closes files of the current directory ITERS times, cycling through
 * open, openat and openat2, and checks what it read. Prints the number of
 * successful opens with correct contents and the failures by errno; exits 0
 * only if every open succeeded and read the right contents.
 *
 * Expects files t0 .. t15 in the current directory, tK holding "file K\n".
 * Usage: fn_threads NTHREADS ITERS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NFILES 16
#define MAXERR 256

static int iters;
static int errcount[MAXERR];
static int badread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	long id = (long)arg;
	long ok = 0;
	for (int j = 0; j < iters; j++) {
		int k = (int)((id + j) % NFILES);
		char name[16], want[32], buf[32];
		snprintf(name, sizeof name, "t%d", k);
		snprintf(want, sizeof want, "file %d\n", k);
		int fd;
		switch (j % 3) {
		case 0:
			fd = open(name, O_RDONLY | O_CLOEXEC);
			break;
		case 1:
			fd = openat(AT_FDCWD, name, O_RDONLY);
			break;
		default: {
			struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
			fd = (int)syscall(SYS_openat2, AT_FDCWD, name, &how, sizeof how);
		}
		}
		if (fd < 0) {
			int e = errno;
			pthread_mutex_lock(&lock);
			errcount[e < MAXERR ? e : 0]++;
			pthread_mutex_unlock(&lock);
			continue;
		}
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n >= 0) {
			buf[n] = 0;
			if (strcmp(buf, want) == 0) {
				ok++;
				continue;
			}
		}
		pthread_mutex_lock(&lock);
		badread++;
		pthread_mutex_unlock(&lock);
	}
	return (void *)ok;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fn_threads NTHREADS ITERS\n");
		return 2;
	}
	int nthreads = atoi(argv[1]);
	iters = atoi(argv[2]);
	pthread_t th[256];
	if (nthreads < 1 || nthreads > 256)
		return 2;
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
			perror("pthread_create");
			return 2;
		}
	long total = 0;
	for (int i = 0; i < nthreads; i++) {
		void *r;
		pthread_join(th[i], &r);
		total += (long)r;
	}
	printf("total=%ld\n", total);
	int failed = badread;
	for (int e = 0; e < MAXERR; e++)
		if (errcount[e]) {
			const char *n = strerrorname_np(e);
			printf("errno %s: %d\n", n ? n : "?", errcount[e]);
			failed += errcount[e];
		}
	if (badread)
		printf("bad reads: %d\n", badread);
	return failed ? 1 : 0;
}
