/* The sandbox's "own" Unix sockets, run under fdsup by
 * tests/tests/adversarial_own_sockets.rs. Each attempt prints one
 * `name=value` line: OK, or ERR:<errno name>.
 *
 *   adv_own_sockets squat NAME DIR
 *       Binds the abstract NAME (the policy lets it), closes the socket,
 *       creates DIR/squatted and waits for DIR/go (the test then has an
 *       outside server listening on NAME), then connects to NAME: a name
 *       the sandbox once held must not open the way to whoever holds it
 *       now (the network rules deny it).
 *   adv_own_sockets accepted NAME DIR
 *       The same, where the name was last held by a SOCK_SEQPACKET listener
 *       whose accepted socket then sends (and reports the name).
 *   adv_own_sockets own NAME
 *       The positive control: a server of the sandbox listens on NAME and
 *       a client of the sandbox connects to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void report(const char *name, int r) {
    if (r >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=ERR:%s\n", name, strerrorname_np(errno));
    fflush(stdout);
}

static socklen_t abstract(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n > sizeof a->sun_path - 1)
        n = sizeof a->sun_path - 1;
    memcpy(a->sun_path + 1, name, n);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    struct sockaddr_un a;
    socklen_t len = abstract(&a, argv[2]);
    if (strcmp(argv[1], "own") == 0) {
        int srv = socket(AF_UNIX, SOCK_STREAM, 0);
        report("own_bind", bind(srv, (struct sockaddr *)&a, len));
        report("own_listen", listen(srv, 4));
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        report("own_connect", connect(c, (struct sockaddr *)&a, len));
        printf("done=1\n");
        return 0;
    }
    if ((strcmp(argv[1], "squat") == 0 || strcmp(argv[1], "accepted") == 0) && argc > 3) {
        if (strcmp(argv[1], "squat") == 0) {
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            report("squat_bind", bind(s, (struct sockaddr *)&a, len));
            close(s);
        } else {
            /* An accepted socket reports its listener's name without
             * holding it: a send on it must not make the name own again
             * once the listener is gone (found in review). */
            int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
            report("squat_bind", bind(l, (struct sockaddr *)&a, len));
            listen(l, 4);
            int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
            connect(c, (struct sockaddr *)&a, len);
            int acc = accept(l, NULL, NULL);
            close(l);
            int d = socket(AF_UNIX, SOCK_SEQPACKET, 0);
            report("gone_connect", connect(d, (struct sockaddr *)&a, len));
            report("accepted_send", (int)sendto(acc, "x", 1, 0, (struct sockaddr *)&a, len));
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/squatted", argv[3]);
        FILE *f = fopen(path, "w");
        if (f)
            fclose(f);
        snprintf(path, sizeof path, "%s/go", argv[3]);
        struct stat st;
        for (int i = 0; i < 1000 && stat(path, &st) != 0; i++)
            usleep(10000);
        int ty = strcmp(argv[1], "squat") == 0 ? SOCK_STREAM : SOCK_SEQPACKET;
        int c = socket(AF_UNIX, ty, 0);
        report("squat_connect", connect(c, (struct sockaddr *)&a, len));
        printf("done=1\n");
        return 0;
    }
    return 2;
}
