/* FIFO prove queue on a mutex + condition variable (see prove_queue.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "prove_queue.h"
#include "teerex/clock.h"

struct queue_waiter {
    struct queue_waiter *next;
    bool granted;
};

void prove_queue_init(struct prove_queue *q, unsigned concurrency, unsigned limit)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->concurrency = concurrency ? concurrency : 1;
    q->limit = limit;
    q->active = q->waiting = 0;
    q->closed = false;
    q->head = q->tail = NULL;
}

void prove_queue_destroy(struct prove_queue *q)
{
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

bool client_gone(int fd)
{
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    return false;
}

/* Called with mu held: hand free slots to the front of the queue. */
static void grant(struct prove_queue *q)
{
    while (q->head && q->active < q->concurrency) {
        struct queue_waiter *w = q->head;
        q->head = w->next;
        if (!q->head)
            q->tail = NULL;
        w->granted = true;
        q->active++;
        q->waiting--;
    }
    pthread_cond_broadcast(&q->cv);
}

static void unlink_waiter(struct prove_queue *q, struct queue_waiter *w)
{
    struct queue_waiter **pp = &q->head, *prev = NULL;
    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = w->next;
        if (q->tail == w)
            q->tail = prev;
        q->waiting--;
    }
}

tr_result prove_queue_enter(struct prove_queue *q, int client_fd)
{
    return prove_queue_enter_by(q, client_fd, 0);
}

tr_result prove_queue_enter_by(struct prove_queue *q, int client_fd, uint64_t deadline_ms)
{
    pthread_mutex_lock(&q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        TR_BAIL(TR_ERR_PROVER_SHUTDOWN);
    }
    if (q->active < q->concurrency && q->head == NULL) {
        q->active++;
        pthread_mutex_unlock(&q->mu);
        return TR_SUCCESS;
    }
    if (q->waiting >= q->limit) {
        pthread_mutex_unlock(&q->mu);
        TR_BAIL(TR_ERR_PROVER_QUEUE_FULL);
    }
    struct queue_waiter w = {.next = NULL, .granted = false};
    if (q->tail)
        q->tail->next = &w;
    else
        q->head = &w;
    q->tail = &w;
    q->waiting++;
    int32_t err = TR_OK;
    while (!w.granted) {
        if (q->closed) {
            err = TR_ERR_PROVER_SHUTDOWN;
            break;
        }
        uint64_t now = tr_mono_ms();
        if (deadline_ms && now >= deadline_ms) {
            err = TR_ERR_PROVER_QUEUE_TIMEOUT;
            break;
        }
        long wait_ms = 200;
        if (deadline_ms && deadline_ms - now < (uint64_t)wait_ms)
            wait_ms = (long)(deadline_ms - now);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += wait_ms * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        if (!w.granted && client_gone(client_fd)) {
            err = TR_ERR_PROVER_CLIENT_GONE;
            break;
        }
    }
    if (err != TR_OK)
        unlink_waiter(q, &w);
    pthread_mutex_unlock(&q->mu);
    if (err != TR_OK)
        TR_BAIL(err);
    return TR_SUCCESS;
}

void prove_queue_leave(struct prove_queue *q)
{
    pthread_mutex_lock(&q->mu);
    if (q->active > 0)
        q->active--;
    grant(q);
    pthread_mutex_unlock(&q->mu);
}

void prove_queue_close(struct prove_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void prove_queue_stats(struct prove_queue *q, unsigned *waiting, unsigned *active)
{
    pthread_mutex_lock(&q->mu);
    *waiting = q->waiting;
    *active = q->active;
    pthread_mutex_unlock(&q->mu);
}
