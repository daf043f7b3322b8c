/* Counts the SIGINTs it receives. Prints "ready pid=P pgid=G ppid=Q" once
 * its handler is in place (with "self", after it has sent SIGINT to its own
 * process group with killpg(0, SIGINT)), then waits: 400 ms after the
 * first SIGINT (time for a duplicate to arrive) it prints "count=N" and
 * exits 0; with no signal for 30 s, "count=0" and exit 1. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_int(int sig) {
    (void)sig;
    count++;
}

static void nap_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_int;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    int self = argc > 1 && !strcmp(argv[1], "self");
    if (self)
        killpg(0, SIGINT);
    printf("ready pid=%d pgid=%d ppid=%d\n", (int)getpid(), (int)getpgrp(), (int)getppid());
    for (int i = 0; i < 3000 && !count; i++)
        nap_ms(10);
    if (!count) {
        printf("count=0\n");
        return 1;
    }
    nap_ms(400);
    printf("count=%d\n", (int)count);
    return 0;
}
