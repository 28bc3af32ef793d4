/* Sliding-window rate limit per client key (an address, or an IPv6 /64, as
 * text). The table holds `clients` keys; when it is full the least recently
 * seen key is forgotten, so a flood of addresses never locks out a new client
 * (it can only make the limit forget old clients, i.e. more lenient). */
#ifndef TEEREXD_RATE_LIMIT_H
#define TEEREXD_RATE_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/result.h"

#define RATE_LIMIT_KEY_MAX 64

struct rate_limit;

/* max == 0 disables the limit. clients: keys tracked at once (>= 1). */
TR_RESULT rate_limit_create(uint64_t max, uint64_t window_ms, size_t clients,
                            struct rate_limit **out);
void rate_limit_free(struct rate_limit *rl);
/* Records a hit at now_ms and says whether it is allowed (a refused hit is
 * not recorded, like the reference). */
bool rate_limit_hit(struct rate_limit *rl, const char *key, uint64_t now_ms);

#endif
