/* Sliding window: per key, the times of the last `max` accepted hits in a
 * ring; a hit is allowed when fewer than max of them are inside the window.
 * Keys live in an open hash table; when it fills up, keys whose newest hit
 * is outside the window are dropped (they carry no state that matters). */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "rate_limit.h"

#define KEY_MAX 64
#define TABLE_SIZE 4096 /* clients tracked at once; a full table refuses new keys */

struct entry {
    char key[KEY_MAX];
    uint64_t *times; /* ring of max timestamps */
    uint32_t head, count;
    uint64_t newest;
};

struct rate_limit {
    pthread_mutex_t mu;
    uint64_t max, window_ms;
    struct entry *table;
};

tr_result rate_limit_create(uint64_t max, uint64_t window_ms, struct rate_limit **out)
{
    TR_ENSURE_REF(out);
    struct rate_limit *rl = calloc(1, sizeof(*rl));
    TR_ENSURE(rl != NULL, TR_ERR_NOMEM);
    rl->max = max;
    rl->window_ms = window_ms;
    rl->table = calloc(TABLE_SIZE, sizeof(struct entry));
    if (!rl->table) {
        free(rl);
        TR_BAIL(TR_ERR_NOMEM);
    }
    pthread_mutex_init(&rl->mu, NULL);
    *out = rl;
    return TR_SUCCESS;
}

void rate_limit_free(struct rate_limit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < TABLE_SIZE; i++)
        free(rl->table[i].times);
    free(rl->table);
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static void expire(struct rate_limit *rl, uint64_t now)
{
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        struct entry *e = &rl->table[i];
        if (e->key[0] && now - e->newest >= rl->window_ms) {
            free(e->times);
            memset(e, 0, sizeof(*e));
        }
    }
}

static struct entry *find(struct rate_limit *rl, const char *key, bool create)
{
    size_t start = hash(key) % TABLE_SIZE;
    struct entry *empty = NULL;
    for (size_t k = 0; k < TABLE_SIZE; k++) {
        struct entry *e = &rl->table[(start + k) % TABLE_SIZE];
        if (e->key[0] == '\0') {
            /* Deleted slots are zeroed, so keep probing: the key may sit further on. */
            if (!empty)
                empty = e;
            continue;
        }
        if (strcmp(e->key, key) == 0)
            return e;
    }
    if (!create || !empty)
        return NULL;
    empty->times = calloc(rl->max, sizeof(uint64_t));
    if (!empty->times)
        return NULL;
    snprintf(empty->key, sizeof(empty->key), "%s", key);
    return empty;
}

bool rate_limit_hit(struct rate_limit *rl, const char *key, uint64_t now)
{
    if (!rl || rl->max == 0)
        return true;
    pthread_mutex_lock(&rl->mu);
    struct entry *e = find(rl, key, true);
    if (!e) {
        expire(rl, now);
        e = find(rl, key, true);
    }
    bool ok = false;
    if (e) {
        /* Count hits inside the window (ring holds the last max accepted). */
        uint32_t inside = 0;
        for (uint32_t i = 0; i < e->count; i++) {
            if (now - e->times[i] < rl->window_ms)
                inside++;
        }
        if (inside < rl->max) {
            e->times[e->head] = now;
            e->head = (uint32_t)((e->head + 1) % rl->max);
            if (e->count < rl->max)
                e->count++;
            e->newest = now;
            ok = true;
        }
    }
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
