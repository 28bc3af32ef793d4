/* Sliding window: per key, the times of the last `max` accepted hits in a
 * ring; a hit is allowed when fewer than max of them are inside the window.
 * Keys live in a fixed table of entries indexed by a chained hash (seeded
 * per process, so colliding keys cannot be precomputed) and kept in
 * least-recently-used order: a new key takes a free entry or the one seen
 * longest ago. */
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
    uint32_t head, count;
    uint64_t *times; /* ring of max timestamps */
};

struct rate_limit {
    pthread_mutex_t mu;
    uint64_t max, window_ms, seed;
    size_t n, used, n_buckets;
    struct entry *e;
    uint32_t *bucket;
    uint32_t lru_head, lru_tail;
};

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
        rl->e[i].times = calloc(rl->max, sizeof(uint64_t));
        if (!rl->e[i].times)
            return NONE;
        rl->used++;
    } else {
        i = rl->lru_tail;
        lru_unlink(rl, i);
        bucket_remove(rl, i);
    }
    struct entry *e = &rl->e[i];
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->head = e->count = 0;
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
        /* Count hits inside the window (the ring holds the last max accepted). */
        uint64_t inside = 0;
        for (uint32_t k = 0; k < e->count; k++) {
            if (now - e->times[k] < rl->window_ms)
                inside++;
        }
        if (inside < rl->max) {
            e->times[e->head] = now;
            e->head = (uint32_t)((e->head + 1) % rl->max);
            if (e->count < rl->max)
                e->count++;
            ok = true;
        }
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
