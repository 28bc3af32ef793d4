/* Sliding window: per key, the times of the last `max` accepted hits in a
 * ring; a hit is allowed when fewer than max of them are inside the window.
 * Keys live in a fixed table of entries indexed by a chained hash (seeded
 * per process, so colliding keys cannot be precomputed) and kept in
 * least-recently-used order: a new key takes a free entry or the one seen
 * longest ago. A ring starts small and grows to `max` only for a client that
 * uses it: memory follows the hits accepted, not clients x RATE_LIMIT_MAX
 * (16384 claimed addresses x 1e6 slots would be 128 GB). */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rate_limit.h"

#define NONE UINT32_MAX

struct entry {
    char key[RATE_LIMIT_KEY_MAX];
    uint32_t chain;      /* next entry in the same bucket */
    uint32_t prev, next; /* LRU list: head = most recent */
    uint32_t head, count, cap;
    uint64_t *times; /* ring of up to max timestamps (cap allocated) */
};

struct rate_limit {
    pthread_mutex_t mu;
    uint64_t max, window_ms, seed;
    size_t n, used, n_buckets;
    struct entry *e;
    uint32_t *bucket;
    uint32_t lru_head, lru_tail;
};

#define RING_START 4

/* A fresh ring for a new (or reused) entry. false: no memory. */
static bool ring_reset(const struct rate_limit *rl, struct entry *e)
{
    uint32_t cap = rl->max < RING_START ? (uint32_t)rl->max : RING_START;
    if (e->cap != cap) {
        free(e->times);
        e->times = calloc(cap, sizeof(uint64_t));
        e->cap = e->times ? cap : 0;
    }
    e->head = e->count = 0;
    return e->times != NULL;
}

/* Doubles a full ring (up to max), oldest first. */
static void ring_grow(const struct rate_limit *rl, struct entry *e)
{
    if (e->count < e->cap || e->cap >= rl->max)
        return;
    uint64_t want = (uint64_t)e->cap * 2 < rl->max ? (uint64_t)e->cap * 2 : rl->max;
    uint64_t *t = malloc(want * sizeof(uint64_t));
    if (!t)
        return; /* keeps working as a smaller ring: more lenient, never wrong */
    for (uint32_t k = 0; k < e->count; k++)
        t[k] = e->times[(e->head + k) % e->cap];
    free(e->times);
    e->times = t;
    e->head = e->count;
    e->cap = (uint32_t)want;
}

tr_result rate_limit_create(uint64_t max, uint64_t window_ms, size_t clients,
                            struct rate_limit **out)
{
    TR_ENSURE_REF(out);
    *out = NULL;
    TR_ENSURE(clients >= 1 && clients < NONE / 2 && max < UINT32_MAX, TR_ERR_OVERFLOW);
    struct rate_limit *rl = calloc(1, sizeof(*rl));
    TR_ENSURE(rl != NULL, TR_ERR_NOMEM);
    pthread_mutex_init(&rl->mu, NULL);
    rl->max = max;
    rl->window_ms = window_ms;
    rl->n = clients;
    rl->n_buckets = clients * 2;
    rl->e = calloc(clients, sizeof(struct entry));
    rl->bucket = malloc(rl->n_buckets * sizeof(uint32_t));
    if (!rl->e || !rl->bucket || RAND_bytes((uint8_t *)&rl->seed, sizeof(rl->seed)) != 1) {
        rate_limit_free(rl);
        TR_BAIL(TR_ERR_NOMEM);
    }
    for (size_t i = 0; i < rl->n_buckets; i++)
        rl->bucket[i] = NONE;
    rl->lru_head = rl->lru_tail = NONE;
    *out = rl;
    return TR_SUCCESS;
}

void rate_limit_free(struct rate_limit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; rl->e && i < rl->n; i++)
        free(rl->e[i].times);
    pthread_mutex_destroy(&rl->mu);
    free(rl->e);
    free(rl->bucket);
    free(rl);
}

static size_t bucket_of(const struct rate_limit *rl, const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ rl->seed; /* FNV-1a, seeded */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    h ^= h >> 29;
    return (size_t)(h % rl->n_buckets);
}

static void lru_unlink(struct rate_limit *rl, uint32_t i)
{
    struct entry *e = &rl->e[i];
    if (e->prev != NONE)
        rl->e[e->prev].next = e->next;
    else
        rl->lru_head = e->next;
    if (e->next != NONE)
        rl->e[e->next].prev = e->prev;
    else
        rl->lru_tail = e->prev;
}

static void lru_push_front(struct rate_limit *rl, uint32_t i)
{
    struct entry *e = &rl->e[i];
    e->prev = NONE;
    e->next = rl->lru_head;
    if (rl->lru_head != NONE)
        rl->e[rl->lru_head].prev = i;
    rl->lru_head = i;
    if (rl->lru_tail == NONE)
        rl->lru_tail = i;
}

static void bucket_remove(struct rate_limit *rl, uint32_t i)
{
    uint32_t *pp = &rl->bucket[bucket_of(rl, rl->e[i].key)];
    while (*pp != NONE && *pp != i)
        pp = &rl->e[*pp].chain;
    if (*pp == i)
        *pp = rl->e[i].chain;
}

/* The entry of key, created (evicting the least recently used) when absent;
 * NONE only when memory for its ring cannot be had. Called with mu held. */
static uint32_t find(struct rate_limit *rl, const char *key)
{
    size_t b = bucket_of(rl, key);
    for (uint32_t i = rl->bucket[b]; i != NONE; i = rl->e[i].chain) {
        if (strcmp(rl->e[i].key, key) == 0) {
            lru_unlink(rl, i);
            lru_push_front(rl, i);
            return i;
        }
    }
    uint32_t i;
    if (rl->used < rl->n) {
        i = (uint32_t)rl->used;
        if (!ring_reset(rl, &rl->e[i]))
            return NONE;
        rl->used++;
    } else {
        i = rl->lru_tail;
        lru_unlink(rl, i);
        bucket_remove(rl, i);
        if (!ring_reset(rl, &rl->e[i])) {
            rl->e[i].key[0] = '\0'; /* unreachable now; reused when memory returns */
            lru_push_front(rl, i);
            return NONE;
        }
    }
    struct entry *e = &rl->e[i];
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->chain = rl->bucket[b];
    rl->bucket[b] = i;
    lru_push_front(rl, i);
    return i;
}

bool rate_limit_hit(struct rate_limit *rl, const char *key, uint64_t now)
{
    if (!rl || rl->max == 0)
        return true;
    pthread_mutex_lock(&rl->mu);
    uint32_t i = find(rl, key);
    bool ok = false;
    if (i != NONE) {
        struct entry *e = &rl->e[i];
        /* Count hits inside the window (the ring holds the last accepted ones,
         * at most max). */
        uint64_t inside = 0;
        for (uint32_t k = 0; k < e->count; k++) {
            if (now - e->times[k] < rl->window_ms)
                inside++;
        }
        if (inside < rl->max) {
            ring_grow(rl, e);
            e->times[e->head] = now;
            e->head = (e->head + 1) % e->cap;
            if (e->count < e->cap)
                e->count++;
            ok = true;
        }
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
