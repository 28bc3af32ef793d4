/* Connections per client address, so one address cannot take every slot of
 * --max-conns (issue 16: 20 silent connections from one address locked out
 * everyone else). An address is an IPv4 address or an IPv6 /64 (a host
 * controls a whole /64); unix and vsock peers share one key per family. */
#ifndef TEEREX_PROXY_ADDR_SLOTS_H
#define TEEREX_PROXY_ADDR_SLOTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "teerex/result.h"

struct addr_key {
    uint8_t b[17]; /* family byte + up to 16 address bytes */
};

struct addr_slots;

TR_RESULT addr_slots_create(uint64_t per_addr, struct addr_slots **out);
void addr_slots_free(struct addr_slots *t);
void addr_key_of(const struct sockaddr *sa, socklen_t len, struct addr_key *out);
/* Takes a slot for k; false (nothing taken) when k already holds per_addr. */
bool addr_slots_take(struct addr_slots *t, const struct addr_key *k);
void addr_slots_release(struct addr_slots *t, const struct addr_key *k);
/* Distinct addresses holding slots now. */
uint64_t addr_slots_addresses(const struct addr_slots *t);

#endif
