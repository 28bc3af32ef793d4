/* Running a helper program with a deadline (see cli_bb.h): no shell, own
 * process group killed on timeout, output kept within a fixed buffer.
 * (When include/teerex/proc.h lands, this becomes a thin wrapper over it.) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_bb.h"
#include "teerex/clock.h"

/* Appends to out keeping the last cap-1 bytes. */
static void keep(char *out, size_t cap, size_t *len, const char *p, size_t n)
{
    if (cap == 0)
        return;
    size_t room = cap - 1;
    if (n >= room) {
        memcpy(out, p + n - room, room);
        *len = room;
    } else {
        if (*len + n > room) {
            size_t drop = *len + n - room;
            memmove(out, out + drop, *len - drop);
            *len -= drop;
        }
        memcpy(out + *len, p, n);
        *len += n;
    }
    out[*len] = '\0';
}

tr_result cli_run(char *const argv[], char *const env[], const char *cwd, uint64_t timeout_ms,
                  char *out, size_t cap, int *status)
{
    int pfd[2];
    size_t len = 0;
    if (cap)
        out[0] = '\0';
    *status = -1;
    TR_ENSURE(pipe2(pfd, O_CLOEXEC) == 0, TR_ERR_SYS);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &defaults);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        TR_BAIL(TR_ERR_SYS);
    }
    uint64_t deadline = tr_mono_ms() + timeout_ms;
    bool timed_out = false;
    for (;;) {
        uint64_t now = tr_mono_ms();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int pr = poll(&p, 1, (int)(deadline - now > 1000 ? 1000 : deadline - now));
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        char buf[4096];
        ssize_t k = read(pfd[0], buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* EOF: every writer is gone */
        keep(out, cap, &len, buf, (size_t)k);
    }
    close(pfd[0]);
    if (timed_out)
        kill(-pid, SIGKILL);
    int st = 0;
    /* After EOF the child is exiting; a bounded wait covers a child that
     * closed its output early and keeps running. */
    while (waitpid(pid, &st, timed_out ? 0 : WNOHANG) == 0) {
        if (tr_mono_ms() >= deadline) {
            kill(-pid, SIGKILL);
            timed_out = true;
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        usleep(10000);
    }
    kill(-pid, SIGKILL); /* anything it left in its group */
    *status = st;
    TR_ENSURE(!timed_out, TR_ERR_TIMEOUT);
    return TR_SUCCESS;
}
