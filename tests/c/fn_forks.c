/* Many processes opening at once: forks NCHILD children, all running
 * together; each opens and reads the shared input a few times, creates its
 * own file child-N.txt holding "child N\n", reads it back, and exits 0 if
 * everything worked (1 for a failed open, 2 for wrong contents). The parent
 * waits for all and prints how many succeeded and how each other one ended.
 *
 * Expects input.txt holding "shared input\n" in the current directory.
 * Usage: fn_forks NCHILD
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(int n)
{
	char buf[64];
	for (int i = 0; i < 10; i++) {
		int fd = open("input.txt", O_RDONLY);
		if (fd < 0)
			return 1;
		ssize_t r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r != 13 || memcmp(buf, "shared input\n", 13) != 0)
			return 2;
	}
	char name[32], want[32];
	snprintf(name, sizeof name, "child-%d.txt", n);
	snprintf(want, sizeof want, "child %d\n", n);
	int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return 1;
	if (write(fd, want, strlen(want)) != (ssize_t)strlen(want))
		return 2;
	close(fd);
	fd = open(name, O_RDONLY);
	if (fd < 0)
		return 1;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r != (ssize_t)strlen(want) || memcmp(buf, want, r) != 0)
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	pid_t pids[1024];
	if (n < 1 || n > 1024)
		return 2;
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 2;
		}
		if (pids[i] == 0)
			_exit(child(i));
	}
	int ok = 0;
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) < 0) {
			printf("child %d: waitpid failed\n", i);
			continue;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else if (WIFEXITED(st))
			printf("child %d: exit %d\n", i, WEXITSTATUS(st));
		else
			printf("child %d: signal %d\n", i, WTERMSIG(st));
	}
	printf("ok=%d of %d\n", ok, n);
	return ok == n ? 0 : 1;
}
