/* Sliding-window rate limit per client key (an IP address string). */
#ifndef TEEREXD_RATE_LIMIT_H
#define TEEREXD_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "teerex/result.h"

struct rate_limit;

/* max == 0 disables the limit. */
TR_RESULT rate_limit_create(uint64_t max, uint64_t window_ms, struct rate_limit **out);
void rate_limit_free(struct rate_limit *rl);
/* Records a hit at now_ms and says whether it is allowed (a refused hit is
 * not recorded, like the reference). */
bool rate_limit_hit(struct rate_limit *rl, const char *key, uint64_t now_ms);

#endif
