/* Running a helper program with a deadline (see cli_bb.h): no shell, own
 * process group (tr_proc) killed on timeout, output kept within a fixed buffer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_bb.h"
#include "teerex/clock.h"
#include "teerex/proc.h"

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
    TR_ENSURE(argv != NULL && argv[0] != NULL && env != NULL, TR_ERR_NULL_ARG);
    TR_ENSURE(pipe2(pfd, O_CLOEXEC) == 0, TR_ERR_SYS);
    struct tr_proc_spec spec;
    tr_proc_spec_init(&spec);
    spec.path = argv[0];
    spec.argv = argv;
    spec.envp = env;
    spec.cwd = cwd;
    spec.fd_out = pfd[1];
    spec.fd_err = pfd[1];
    struct tr_proc proc;
    tr_result r = tr_proc_spawn(&spec, &proc);
    close(pfd[1]);
    if (!tr_ok(r)) {
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
    /* After EOF the child is exiting; the deadline covers a child that
     * closed its output early and keeps running. */
    if (!timed_out && !tr_ok(tr_proc_wait(&proc, deadline)))
        timed_out = true;
    *status = tr_proc_reap(&proc); /* SIGKILLs the child if it runs, and its group */
    TR_ENSURE(!timed_out, TR_ERR_TIMEOUT);
    return TR_SUCCESS;
}
