/* `nitro-cli describe-enclaves` off the relay loop: the lookup (up to its
 * time limit, 5 s) runs on a helper thread and reports through a pipe the
 * loop polls, so connections in flight keep moving while it runs (issue 16:
 * resolve() used to run it inside the event loop). One lookup at a time. */
#ifndef TEEREX_PROXY_CID_LOOKUP_H
#define TEEREX_PROXY_CID_LOOKUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "teerex/result.h"

struct cid_lookup {
    int pipe[2]; /* the thread writes one struct cid_lookup_result into [1] */
    pthread_t thread;
    bool running;
    const char *prog, *name;
    int timeout_ms;
};

struct cid_lookup_result {
    int32_t err; /* TR_OK or the lookup's error */
    uint32_t cid;
};

TR_RESULT cid_lookup_init(struct cid_lookup *l, const char *prog, const char *name, int timeout_ms);
/* Starts a lookup unless one is running; false when none could start. */
bool cid_lookup_start(struct cid_lookup *l);
/* The descriptor that becomes readable when a result is there. */
int cid_lookup_fd(const struct cid_lookup *l);
/* Collects the finished lookup (call when cid_lookup_fd is readable). */
bool cid_lookup_finish(struct cid_lookup *l, struct cid_lookup_result *out);
/* Waits for a running lookup (bounded by its time limit) and closes the pipe. */
void cid_lookup_destroy(struct cid_lookup *l);

#endif
