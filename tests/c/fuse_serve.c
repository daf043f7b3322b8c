/* A FUSE file system of one file, mounted by root without allow_other:
 * the kernel then lets no task in whose real, effective and saved uids
 * and gids are not all root's (fuse_allow_current_process), whatever the
 * file's mode. Run outside the sandbox by the tests (as root).
 *
 * Usage: fuse_serve MNT
 *   mounts at MNT (a directory that exists), prints "ready", serves
 *   MNT/f (0644, root's, "fuse\n") until its standard input closes, then
 *   unmounts and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static const char DATA[] = "fuse\n";
static int dev;

static void reply(uint64_t unique, int error, const void *body, size_t len) {
    char buf[4096];
    struct fuse_out_header h = {
        .len = (uint32_t)(sizeof h + len), .error = error, .unique = unique};
    memcpy(buf, &h, sizeof h);
    if (len)
        memcpy(buf + sizeof h, body, len);
    if (write(dev, buf, sizeof h + len) < 0 && errno != ENOENT)
        perror("fuse_serve: write");
}

static void attr_of(uint64_t node, struct fuse_attr *a) {
    memset(a, 0, sizeof *a);
    a->ino = node;
    a->nlink = 1;
    a->blksize = 4096;
    if (node == FUSE_ROOT_ID) {
        a->mode = S_IFDIR | 0755;
        a->nlink = 2;
    } else {
        a->mode = S_IFREG | 0644;
        a->size = sizeof DATA - 1;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuse_serve MNT\n");
        return 2;
    }
    dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        perror("fuse_serve: /dev/fuse");
        return 1;
    }
    char opts[128];
    snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0", dev);
    if (mount("fdsup-test", argv[1], "fuse.fdsup-test", MS_NOSUID | MS_NODEV, opts)) {
        perror("fuse_serve: mount");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    static char buf[FUSE_MIN_READ_BUFFER + 65536];
    for (;;) {
        struct pollfd p[2] = {{.fd = dev, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        ssize_t n = read(dev, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
                continue;
            break;
        }
        if ((size_t)n < sizeof(struct fuse_in_header))
            continue;
        struct fuse_in_header *in = (struct fuse_in_header *)buf;
        void *arg = buf + sizeof *in;
        switch (in->opcode) {
        case FUSE_INIT: {
            struct fuse_init_out o = {.major = FUSE_KERNEL_VERSION,
                                      .minor = 31,
                                      .max_readahead = 65536,
                                      .max_write = 65536,
                                      .time_gran = 1};
            reply(in->unique, 0, &o, sizeof o);
            break;
        }
        case FUSE_LOOKUP: {
            if (in->nodeid != FUSE_ROOT_ID || strcmp((char *)arg, "f")) {
                reply(in->unique, -ENOENT, NULL, 0);
                break;
            }
            struct fuse_entry_out e = {.nodeid = 2};
            attr_of(2, &e.attr);
            reply(in->unique, 0, &e, sizeof e);
            break;
        }
        case FUSE_GETATTR: {
            struct fuse_attr_out o = {0};
            attr_of(in->nodeid, &o.attr);
            reply(in->unique, 0, &o, sizeof o);
            break;
        }
        case FUSE_OPEN:
        case FUSE_OPENDIR: {
            struct fuse_open_out o = {0};
            reply(in->unique, 0, &o, sizeof o);
            break;
        }
        case FUSE_READ: {
            struct fuse_read_in *r = arg;
            size_t len = sizeof DATA - 1;
            size_t off = r->offset < len ? (size_t)r->offset : len;
            size_t k = len - off < r->size ? len - off : r->size;
            reply(in->unique, 0, DATA + off, k);
            break;
        }
        case FUSE_READDIR:
            reply(in->unique, 0, NULL, 0);
            break;
        case FUSE_RELEASE:
        case FUSE_RELEASEDIR:
        case FUSE_FLUSH:
            reply(in->unique, 0, NULL, 0);
            break;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT:
            break;
        default:
            reply(in->unique, -ENOSYS, NULL, 0);
        }
    }
    umount2(argv[1], MNT_DETACH);
    return 0;
}
