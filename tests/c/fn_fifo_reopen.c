/* A FIFO's reader count is the program's own: after the program opens the
 * read end and closes it, a non-blocking writer open finds no reader and
 * fails with ENXIO. Repeats N times and prints how often the writer open
 * succeeded anyway (natively: never), which happens if whoever opened the
 * FIFO for the program still holds its own copy of the read end.
 *
 * Expects a FIFO named "fifo" in the current directory.
 * Usage: fn_fifo_reopen N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	int opened = 0, other = 0;
	for (int i = 0; i < n; i++) {
		int r = open("fifo", O_RDONLY | O_NONBLOCK);
		if (r < 0) {
			printf("reader open: %s\n", strerrorname_np(errno));
			return 1;
		}
		close(r);
		int w = open("fifo", O_WRONLY | O_NONBLOCK);
		if (w >= 0) {
			opened++;
			close(w);
		} else if (errno != ENXIO) {
			other++;
		}
	}
	printf("writer opened without a reader: %d of %d; other errors: %d\n", opened, n, other);
	return 0;
}
