/* Adversarial: what a sandboxed program reaches of other programs' IPC,
 * which no path or network rule names: System V shared memory, message
 * queues and semaphores (by id: ids are small and guessable, `ipcs` lists
 * them), POSIX message queues (by name, in the IPC namespace's own mqueue
 * file system), and the kernel's keyrings (the user's keys, by
 * description). One line per attempt, "name=OK", "name=ERRNO", or
 * "name=<what was read>", so the test can hold each to its answer.
 *
 * Usage:
 *   adv_ipc make SECRET KEY_SECRET
 *                             (run outside) makes a SysV segment, queue
 *                             and semaphore set of mode 0666 holding
 *                             SECRET (the semaphore: 4242), a POSIX queue
 *                             "/fdsup-adv-ipc-PID" (0666) holding it, and
 *                             a "user" key "fdsup-adv-ipc-PID" holding
 *                             KEY_SECRET in the user keyring (@u); prints
 *                             shm_id=, msg_id=, sem_id=, mq=, key=
 *                             (serial), key_desc=
 *   adv_ipc probe SHM MSG SEM MQ KEY_DESC
 *                             tries to read each of them, then the
 *                             controls: the program's own IPC_PRIVATE
 *                             segment, queue and semaphore, and its own
 *                             POSIX queue
 *   adv_ipc clean SHM MSG SEM MQ KEY
 *                             (run outside) removes them
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* include/uapi/linux/keyctl.h, without libkeyutils. */
#define KEY_SPEC_PROCESS_KEYRING -2
#define KEY_SPEC_USER_KEYRING -4
#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_REVOKE 3
#define KEYCTL_UNLINK 9
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11

static const char *ename(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static void report(const char *name, long rc) {
    if (rc >= 0)
        printf("%s=OK\n", name);
    else
        printf("%s=%s\n", name, ename(errno));
    fflush(stdout);
}

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

struct msg {
    long mtype;
    char mtext[256];
};

static int make(const char *secret, const char *key_secret) {
    size_t len = strlen(secret) + 1;
    if (len > 256) {
        fprintf(stderr, "secret too long\n");
        return 2;
    }
    int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0666);
    if (shm < 0) {
        perror("shmget");
        return 2;
    }
    char *p = shmat(shm, NULL, 0);
    if (p == (void *)-1) {
        perror("shmat");
        return 2;
    }
    memcpy(p, secret, len);
    shmdt(p);

    int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0666);
    if (msq < 0) {
        perror("msgget");
        return 2;
    }
    struct msg m = {.mtype = 1};
    memcpy(m.mtext, secret, len);
    if (msgsnd(msq, &m, len, 0) < 0) {
        perror("msgsnd");
        return 2;
    }

    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0666);
    if (sem < 0) {
        perror("semget");
        return 2;
    }
    union semun arg = {.val = 4242};
    if (semctl(sem, 0, SETVAL, arg) < 0) {
        perror("semctl");
        return 2;
    }

    char mq_name[64];
    snprintf(mq_name, sizeof mq_name, "/fdsup-adv-ipc-%d", (int)getpid());
    mode_t old = umask(0);
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 256};
    mqd_t q = mq_open(mq_name, O_CREAT | O_EXCL | O_WRONLY, 0666, &attr);
    umask(old);
    if (q == (mqd_t)-1) {
        perror("mq_open");
        return 2;
    }
    if (mq_send(q, secret, len, 0) < 0) {
        perror("mq_send");
        return 2;
    }
    mq_close(q);

    char key_desc[64];
    snprintf(key_desc, sizeof key_desc, "fdsup-adv-ipc-%d", (int)getpid());
    long key = syscall(SYS_add_key, "user", key_desc, key_secret, strlen(key_secret),
                       KEY_SPEC_USER_KEYRING);
    if (key < 0) {
        perror("add_key");
        return 2;
    }
    printf("shm_id=%d\nmsg_id=%d\nsem_id=%d\nmq=%s\nkey=%ld\nkey_desc=%s\n",
           shm, msq, sem, mq_name, key, key_desc);
    return 0;
}

static int clean(char **argv) {
    shmctl(atoi(argv[0]), IPC_RMID, NULL);
    msgctl(atoi(argv[1]), IPC_RMID, NULL);
    semctl(atoi(argv[2]), 0, IPC_RMID);
    mq_unlink(argv[3]);
    long key = atol(argv[4]);
    syscall(SYS_keyctl, KEYCTL_REVOKE, key);
    syscall(SYS_keyctl, KEYCTL_UNLINK, key, KEY_SPEC_USER_KEYRING);
    return 0;
}

/* Prints "name=TEXT" (what was read, the secret if it leaked) or the
 * errno. */
static void read_out(const char *name, long rc, const char *text) {
    if (rc < 0)
        printf("%s=%s\n", name, ename(errno));
    else
        printf("%s=%s\n", name, text);
    fflush(stdout);
}

static void probe(char **argv) {
    int shm = atoi(argv[0]), msq = atoi(argv[1]), sem = atoi(argv[2]);
    const char *mq_name = argv[3], *key_desc = argv[4];
    char buf[300];

    struct shmid_ds ds;
    report("shm_stat", shmctl(shm, IPC_STAT, &ds));
    char *p = shmat(shm, NULL, SHM_RDONLY);
    if (p == (void *)-1) {
        read_out("shm_read", -1, NULL);
    } else {
        snprintf(buf, sizeof buf, "%.255s", p);
        read_out("shm_read", 0, buf);
        shmdt(p);
    }

    struct msg m;
    ssize_t n = msgrcv(msq, &m, sizeof m.mtext - 1, 0, IPC_NOWAIT);
    if (n >= 0)
        m.mtext[n] = 0;
    read_out("msg_read", n, n >= 0 ? m.mtext : NULL);

    int v = semctl(sem, 0, GETVAL);
    snprintf(buf, sizeof buf, "%d", v);
    read_out("sem_read", v, buf);

    mqd_t q = mq_open(mq_name, O_RDONLY | O_NONBLOCK);
    if (q == (mqd_t)-1) {
        read_out("mq_read", -1, NULL);
    } else {
        char mbuf[300] = {0};
        ssize_t r = mq_receive(q, mbuf, sizeof mbuf, NULL);
        read_out("mq_read", r, mbuf);
        mq_close(q);
    }

    report("keyctl_user_keyring",
           syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
    long key = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user",
                       key_desc, 0);
    report("keyctl_search", key);
    if (key >= 0) {
        char kbuf[300] = {0};
        long r = syscall(SYS_keyctl, KEYCTL_READ, key, kbuf, sizeof kbuf - 1);
        read_out("keyctl_read", r, kbuf);
    }
    long own = syscall(SYS_add_key, "user", "fdsup-adv-ipc-own", "x", 1,
                       KEY_SPEC_PROCESS_KEYRING);
    report("add_key", own);
    if (own >= 0)
        syscall(SYS_keyctl, KEYCTL_REVOKE, own);
    /* Natively ENOKEY (no such key, no upcall for "user"). */
    report("request_key",
           syscall(SYS_request_key, "user", "fdsup-adv-ipc-none", NULL,
                   KEY_SPEC_PROCESS_KEYRING));

    /* Controls: the program's own IPC works. */
    int own_shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    long ok = own_shm;
    if (own_shm >= 0) {
        char *o = shmat(own_shm, NULL, 0);
        if (o == (void *)-1) {
            ok = -1;
        } else {
            strcpy(o, "own");
            ok = strcmp(o, "own") == 0 ? 0 : (errno = EIO, -1);
            shmdt(o);
        }
        shmctl(own_shm, IPC_RMID, NULL);
    }
    report("own_shm", ok);

    int own_msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    ok = own_msq;
    if (own_msq >= 0) {
        struct msg om = {.mtype = 1, .mtext = "own"};
        ok = msgsnd(own_msq, &om, 4, 0);
        if (ok >= 0)
            ok = msgrcv(own_msq, &om, sizeof om.mtext, 0, IPC_NOWAIT);
        msgctl(own_msq, IPC_RMID, NULL);
    }
    report("own_msg", ok);

    int own_sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    ok = own_sem;
    if (own_sem >= 0) {
        struct sembuf up = {.sem_num = 0, .sem_op = 1}, down = {.sem_num = 0, .sem_op = -1};
        ok = semop(own_sem, &up, 1);
        if (ok >= 0)
            ok = semop(own_sem, &down, 1);
        semctl(own_sem, 0, IPC_RMID);
    }
    report("own_sem", ok);

    char own_name[64];
    snprintf(own_name, sizeof own_name, "/fdsup-adv-ipc-own-%d", (int)getpid());
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 16};
    mqd_t oq = mq_open(own_name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    ok = oq == (mqd_t)-1 ? -1 : 0;
    if (ok >= 0) {
        char r[16];
        ok = mq_send(oq, "own", 4, 0);
        if (ok >= 0)
            ok = mq_receive(oq, r, sizeof r, NULL);
        mq_close(oq);
        mq_unlink(own_name);
    }
    report("own_mq", ok);
    printf("done\n");
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "make") == 0)
        return make(argv[2], argv[3]);
    if (argc == 7 && strcmp(argv[1], "probe") == 0) {
        probe(argv + 2);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "clean") == 0)
        return clean(argv + 2);
    fprintf(stderr, "usage: adv_ipc make SECRET KEY_SECRET | probe|clean SHM MSG SEM MQ KEY\n");
    return 2;
}
