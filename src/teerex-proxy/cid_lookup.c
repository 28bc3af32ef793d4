/* Asynchronous CID lookup (see cid_lookup.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cid_lookup.h"
#include "rt_nitro.h"

tr_result cid_lookup_init(struct cid_lookup *l, const char *prog, const char *name, int timeout_ms)
{
    l->running = false;
    l->prog = prog;
    l->name = name;
    l->timeout_ms = timeout_ms;
    TR_ENSURE(pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) == 0, TR_ERR_SYS);
    return TR_SUCCESS;
}

static void *lookup_main(void *arg)
{
    struct cid_lookup *l = arg;
    struct cid_lookup_result res = {TR_OK, 0};
    tr_result r = rt_nitro_lookup(l->prog, l->name, l->timeout_ms, &res.cid);
    res.err = r.err;
    /* 8 bytes into an empty pipe: one write, never short. */
    while (write(l->pipe[1], &res, sizeof(res)) < 0 && errno == EINTR) {
    }
    return NULL;
}

bool cid_lookup_start(struct cid_lookup *l)
{
    if (l->running)
        return true;
    if (pthread_create(&l->thread, NULL, lookup_main, l) != 0)
        return false;
    l->running = true;
    return true;
}

int cid_lookup_fd(const struct cid_lookup *l)
{
    return l->pipe[0];
}

bool cid_lookup_finish(struct cid_lookup *l, struct cid_lookup_result *out)
{
    if (!l->running)
        return false;
    ssize_t k = read(l->pipe[0], out, sizeof(*out));
    if (k != (ssize_t)sizeof(*out))
        return false;
    pthread_join(l->thread, NULL);
    l->running = false;
    return true;
}

void cid_lookup_destroy(struct cid_lookup *l)
{
    if (l->running) {
        pthread_join(l->thread, NULL);
        l->running = false;
    }
    for (int i = 0; i < 2; i++) {
        if (l->pipe[i] >= 0)
            close(l->pipe[i]);
        l->pipe[i] = -1;
    }
}
