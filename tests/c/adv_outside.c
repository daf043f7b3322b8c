/* Adversarial: another process (the test, outside the sandbox) renames and
 * replaces the directories this program looks into, while it stats and
 * opens in a loop. Whatever the supervisor keeps between requests, the
 * program must never see an object at a path the policy hides, and must
 * see the new objects at the old names.
 *
 * Usage: adv_outside DIR STATS MODE...
 *   DIR/allowed is rw, DIR/hidden hidden. STATS is 1 to check looks too (0
 *   where the looks are the kernel's: metadata visible). One round per
 *   MODE, numbered from 0:
 *   dir   DIR/allowed/d is moved into DIR/hidden and a new directory takes
 *         its name;
 *   link  DIR/allowed/d is moved into DIR/hidden and a symbolic link to it
 *         takes its name;
 *   up    DIR/allowed/up (holding d) is moved into DIR/hidden and a new
 *         DIR/allowed/up/d takes its place: an ancestor of the directory
 *         the program holds open is renamed.
 *
 * A round: wait for DIR/allowed/go.R; open the directory (D below: d, or
 * up/d) and create DIR/allowed/ready.R; then loop: note whether
 * DIR/allowed/moved.R exists (the test makes it after the move), then
 * fstatat(D, "f"), openat(D, "f") and read, stat(".../D/f"), open(".../D/f")
 * and read. Once the move was seen, every look and open through the old
 * descriptor must fail and every one by path must find the new file
 * (NEW-R) or, for "link", fail; before it, reads of OLD-R through the
 * descriptor are the positive control. 300 loops after the move was seen,
 * the round ends with DIR/allowed/done.R and a line
 *   round R MODE old_via_fd=N new_by_path=N refused=N raced=N violations=N
 * (raced: reads of the new file through the old descriptor while the move
 * was under way, before moved.R; see the comment where it is counted)
 * followed by one "violation: ..." line per violation (at most 5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static int stats;
static int shown;

static void nap(void) {
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
}

static int exists(const char *name, int r) {
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/allowed/%s.%d", dir, name, r);
    return stat(p, &st) == 0;
}

static void touch(const char *name, int r) {
    char p[4096];
    snprintf(p, sizeof p, "%s/allowed/%s.%d", dir, name, r);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        printf("error: create %s: %s\n", p, strerror(errno));
        exit(2);
    }
    close(fd);
}

/* Reads FD into BUF (NUL-terminated); closes FD. */
static void slurp(int fd, char *buf, size_t cap) {
    ssize_t n = read(fd, buf, cap - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
}

static int violations;

static void violation(int r, const char *what, const char *got) {
    violations++;
    if (shown++ < 5)
        printf("violation: round %d: %s: %s\n", r, what, got);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: adv_outside DIR STATS MODE...\n");
        return 2;
    }
    dir = argv[1];
    stats = atoi(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int r = 0; r + 3 < argc; r++) {
        const char *mode = argv[r + 3];
        int up = strcmp(mode, "up") == 0, link = strcmp(mode, "link") == 0;
        char dpath[4096], fpath[4096], old[64], new[64], buf[256];
        snprintf(dpath, sizeof dpath, "%s/allowed/%s", dir, up ? "up/d" : "d");
        snprintf(fpath, sizeof fpath, "%s/f", dpath);
        snprintf(old, sizeof old, "OLD-%d\n", r);
        snprintf(new, sizeof new, "NEW-%d\n", r);
        for (int i = 0; !exists("go", r); i++) {
            if (i > 100000) {
                printf("error: no go.%d\n", r);
                return 2;
            }
            nap();
        }
        int dfd = open(dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            printf("error: open %s: %s\n", dpath, strerror(errno));
            return 2;
        }
        touch("ready", r);
        long old_via_fd = 0, new_by_path = 0, refused = 0, raced = 0;
        int after = 0;
        while (after < 300) {
            int moved = exists("moved", r);
            struct stat st;
            int fd;
            /* Through the old descriptor. */
            if (stats) {
                if (fstatat(dfd, "f", &st, AT_SYMLINK_NOFOLLOW) == 0) {
                    if (moved)
                        violation(r, "fstatat(old dir, f) after the move", "found");
                } else if (moved) {
                    refused++;
                }
            }
            fd = openat(dfd, "f", O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                slurp(fd, buf, sizeof buf);
                if (moved)
                    violation(r, "openat(old dir, f) after the move", buf);
                else if (strcmp(buf, old) == 0)
                    old_via_fd++;
                else if (strcmp(buf, new) == 0)
                    /* The move is under way (the test makes moved.R after
                     * it): the supervisor read the directory's path just
                     * before the rename and opened that path just after
                     * the new directory took the name. An allowed file at
                     * an allowed path, decided on that path; not the
                     * object the kernel would have opened. */
                    raced++;
                else
                    violation(r, "openat(old dir, f) before the move", buf);
            } else if (moved) {
                refused++;
            }
            /* By path. */
            if (stats) {
                int ok = stat(fpath, &st) == 0;
                if (moved && link && ok)
                    violation(r, "stat(path) through the link after the move", "found");
                if (moved && !link && (!ok || st.st_size != (off_t)strlen(new)))
                    violation(r, "stat(path) after the move", ok ? "old size" : strerror(errno));
            }
            fd = open(fpath, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                slurp(fd, buf, sizeof buf);
                if (moved && link)
                    violation(r, "open(path) through the link after the move", buf);
                else if (moved && strcmp(buf, new) != 0)
                    violation(r, "open(path) after the move", buf);
                else if (moved)
                    new_by_path++;
            } else if (moved && !link) {
                violation(r, "open(path) after the move", strerror(errno));
            } else if (moved) {
                refused++;
            }
            if (moved)
                after++;
        }
        close(dfd);
        touch("done", r);
        printf("round %d %s old_via_fd=%ld new_by_path=%ld refused=%ld raced=%ld violations=%d\n",
               r, mode, old_via_fd, new_by_path, refused, raced, violations);
    }
    return 0;
}
