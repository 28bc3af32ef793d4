/* Per-address connection counts (see addr_slots.h): a chained hash with a
 * per-process seed (addresses are chosen by clients), entries freed at 0.
 * Used from the relay's single thread only. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "addr_slots.h"

#define BUCKETS 4096

struct node {
    struct addr_key k;
    uint64_t n;
    struct node *next;
};

struct addr_slots {
    uint64_t per_addr, addresses, seed;
    struct node *b[BUCKETS];
};

tr_result addr_slots_create(uint64_t per_addr, struct addr_slots **out)
{
    TR_ENSURE_REF(out);
    struct addr_slots *t = calloc(1, sizeof(*t));
    TR_ENSURE(t != NULL, TR_ERR_NOMEM);
    t->per_addr = per_addr ? per_addr : 1;
    if (getrandom(&t->seed, sizeof(t->seed), 0) != (ssize_t)sizeof(t->seed))
        t->seed = (uint64_t)(uintptr_t)t; /* a weaker seed still spreads keys */
    *out = t;
    return TR_SUCCESS;
}

void addr_slots_free(struct addr_slots *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        for (struct node *n = t->b[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    free(t);
}

void addr_key_of(const struct sockaddr *sa, socklen_t len, struct addr_key *out)
{
    memset(out, 0, sizeof(*out));
    if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
        return;
    out->b[0] = (uint8_t)sa->sa_family;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        memcpy(out->b + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
            out->b[0] = AF_INET;
            memcpy(out->b + 1, a + 12, 4);
        } else {
            memcpy(out->b + 1, a, 8); /* the /64 */
        }
    }
}

static struct node **slot(struct addr_slots *t, const struct addr_key *k)
{
    uint64_t h = 1469598103934665603ULL ^ t->seed;
    for (size_t i = 0; i < sizeof(k->b); i++)
        h = (h ^ k->b[i]) * 1099511628211ULL;
    struct node **pp = &t->b[(h ^ (h >> 31)) % BUCKETS];
    while (*pp && memcmp(&(*pp)->k, k, sizeof(*k)) != 0)
        pp = &(*pp)->next;
    return pp;
}

bool addr_slots_take(struct addr_slots *t, const struct addr_key *k)
{
    struct node **pp = slot(t, k);
    if (*pp == NULL) {
        struct node *n = calloc(1, sizeof(*n));
        if (!n)
            return false;
        n->k = *k;
        *pp = n;
        t->addresses++;
    }
    if ((*pp)->n >= t->per_addr)
        return false;
    (*pp)->n++;
    return true;
}

void addr_slots_release(struct addr_slots *t, const struct addr_key *k)
{
    struct node **pp = slot(t, k);
    struct node *n = *pp;
    if (n == NULL)
        return;
    if (n->n > 0)
        n->n--;
    if (n->n == 0) {
        *pp = n->next;
        free(n);
        t->addresses--;
    }
}

uint64_t addr_slots_addresses(const struct addr_slots *t)
{
    return t ? t->addresses : 0;
}
