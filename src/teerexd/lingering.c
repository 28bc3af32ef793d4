/* Lingering close (see linger.h): one thread, one epoll set, a fixed table. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lingering.h"
#include "teerex/clock.h"
#include "teerex/log.h"

struct slot {
    int fd; /* -1: free */
    uint64_t start_ms, last_ms;
    uint64_t discarded;
};

struct lingering {
    pthread_mutex_t mu;
    int epfd, wake;
    pthread_t thread;
    atomic_bool stop;
    struct lingering_limits lim;
    struct slot slots[LINGERING_MAX_FDS];
};

/* Called with mu held. */
static void drop(struct lingering *l, struct slot *s)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
}

/* Reads what is there; false when the slot is done (EOF, error, budget). */
static bool drain(const struct lingering *l, struct slot *s, uint64_t now)
{
    static _Thread_local char sink[64 * 1024];
    for (;;) {
        uint64_t left = l->lim.max_bytes - s->discarded;
        size_t want = left < sizeof(sink) ? (size_t)left : sizeof(sink);
        if (want == 0)
            return false;
        ssize_t k = recv(s->fd, sink, want, MSG_DONTWAIT);
        if (k > 0) {
            s->discarded += (uint64_t)k;
            s->last_ms = now;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

/* The client sends slower than a request body must (server.c's rule). */
static bool too_slow(const struct lingering *l, const struct slot *s, uint64_t now)
{
    if (l->lim.min_rate == 0)
        return now - s->last_ms > l->lim.idle_ms;
    uint64_t allowed = l->lim.grace_ms + s->discarded * 1000 / l->lim.min_rate;
    if (allowed < LINGERING_MIN_MS)
        allowed = LINGERING_MIN_MS;
    return now - s->start_ms > allowed;
}

static void *lingering_main(void *arg)
{
    struct lingering *l = arg;
    while (!atomic_load(&l->stop)) {
        struct epoll_event ev[64];
        int n = epoll_wait(l->epfd, ev, 64, 100);
        uint64_t now = tr_mono_ms();
        pthread_mutex_lock(&l->mu);
        for (int i = 0; i < n; i++) {
            struct slot *s = ev[i].data.ptr;
            if (s == NULL) { /* the wake-up eventfd */
                uint64_t v;
                ssize_t r = read(l->wake, &v, sizeof(v));
                (void)r;
                continue;
            }
            if (s->fd >= 0 && !drain(l, s, now))
                drop(l, s);
        }
        for (size_t i = 0; i < LINGERING_MAX_FDS; i++) {
            if (l->slots[i].fd >= 0 && too_slow(l, &l->slots[i], now))
                drop(l, &l->slots[i]);
        }
        pthread_mutex_unlock(&l->mu);
    }
    return NULL;
}

tr_result lingering_start(const struct lingering_limits *lim, struct lingering **out)
{
    TR_ENSURE_REF(out);
    TR_ENSURE_REF(lim);
    *out = NULL;
    struct lingering *l = calloc(1, sizeof(*l));
    TR_ENSURE(l != NULL, TR_ERR_NOMEM);
    l->lim = *lim;
    for (size_t i = 0; i < LINGERING_MAX_FDS; i++)
        l->slots[i].fd = -1;
    pthread_mutex_init(&l->mu, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (l->epfd < 0 || l->wake < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake, &ev) != 0 ||
        pthread_create(&l->thread, NULL, lingering_main, l) != 0) {
        if (l->epfd >= 0)
            close(l->epfd);
        if (l->wake >= 0)
            close(l->wake);
        pthread_mutex_destroy(&l->mu);
        free(l);
        TR_BAIL(TR_ERR_SYS);
    }
    *out = l;
    return TR_SUCCESS;
}

void lingering_add(struct lingering *l, int fd)
{
    if (l == NULL || fd < 0 || atomic_load(&l->stop)) {
        if (fd >= 0)
            close(fd);
        return;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    pthread_mutex_lock(&l->mu);
    struct slot *s = NULL;
    for (size_t i = 0; i < LINGERING_MAX_FDS && !s; i++) {
        if (l->slots[i].fd < 0)
            s = &l->slots[i];
    }
    if (s != NULL) {
        uint64_t now = tr_mono_ms();
        *s = (struct slot){.fd = fd, .start_ms = now, .last_ms = now, .discarded = 0};
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            s->fd = -1;
            s = NULL;
        }
    }
    pthread_mutex_unlock(&l->mu);
    if (s == NULL) {
        tr_log(TR_LOG_DEBUG, "lingering_full", NULL);
        close(fd);
        return;
    }
    uint64_t one = 1;
    ssize_t w = write(l->wake, &one, sizeof(one));
    (void)w;
}

void lingering_stop(struct lingering *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->stop, true);
    uint64_t one = 1;
    ssize_t w = write(l->wake, &one, sizeof(one));
    (void)w;
    pthread_join(l->thread, NULL);
    for (size_t i = 0; i < LINGERING_MAX_FDS; i++) {
        if (l->slots[i].fd >= 0)
            close(l->slots[i].fd);
    }
    close(l->wake);
    close(l->epfd);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
