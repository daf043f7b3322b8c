/* --learn under a program that names many distinct paths: COUNT lookups
 * (stat) of names that do not exist in DIR, each LEN bytes long, made of
 * DEPTH-deep chains of one-letter directories when DEEP is "deep" (the
 * longest paths, with the most directories above each), of one long name
 * otherwise.
 *
 * Usage: learn_many_paths DIR COUNT deep|wide
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    if (argc < 4)
        return 2;
    long n = atol(argv[2]);
    int deep = strcmp(argv[3], "deep") == 0;
    static char p[4096];
    struct stat st;
    for (long i = 0; i < n; i++) {
        int d = snprintf(p, sizeof p, "%s/x%06ld", argv[1], i);
        if (deep) {
            while (d + 2 < 4000) {
                p[d++] = '/';
                p[d++] = 'a';
            }
        } else {
            p[d++] = '_';
            while (d < 240)
                p[d++] = 'b';
        }
        p[d] = 0;
        stat(p, &st);
    }
    printf("looked_up=%ld\n", n);
    return 0;
}
