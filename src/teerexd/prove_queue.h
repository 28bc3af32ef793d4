/* Bounded FIFO admission to the prover: `concurrency` proofs at once, at most
 * `limit` waiting. A waiter polls its client socket and leaves the queue when
 * the client disconnects. */
#ifndef TEEREXD_PROVE_QUEUE_H
#define TEEREXD_PROVE_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "teerex/result.h"

struct queue_waiter;

struct prove_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned concurrency, limit;
    unsigned active, waiting;
    bool closed;
    struct queue_waiter *head, *tail;
};

void prove_queue_init(struct prove_queue *q, unsigned concurrency, unsigned limit);
void prove_queue_destroy(struct prove_queue *q);
/* Waits for a slot. TR_ERR_PROVER_QUEUE_FULL, TR_ERR_PROVER_CLIENT_GONE
 * (client_fd hung up while waiting; -1 = do not watch), TR_ERR_PROVER_SHUTDOWN. */
TR_RESULT prove_queue_enter(struct prove_queue *q, int client_fd);
/* The same with a monotonic deadline (mono_ms; 0 = none): past it a waiter
 * leaves with TR_ERR_PROVER_QUEUE_TIMEOUT (the client would give up anyway). */
TR_RESULT prove_queue_enter_by(struct prove_queue *q, int client_fd, uint64_t deadline_ms);
void prove_queue_leave(struct prove_queue *q);
/* Refuse new entries and wake waiters (SIGTERM). */
void prove_queue_close(struct prove_queue *q);
void prove_queue_stats(struct prove_queue *q, unsigned *waiting, unsigned *active);
/* True when the peer of fd has closed or reset the connection. */
bool client_gone(int fd);

#endif
