/* Shared helpers of the pgp unit tests: deterministic keys. */
#ifndef PGP_TEST_UTIL_H
#define PGP_TEST_UTIL_H

#include "teerex/pgp.h"

/* The fixed key of tests/interop/pgp/pgp_tool.c when variant is 0. */
static inline tr_result test_key(int variant, struct pgp_key **k)
{
    uint8_t ed[32], x[32];
    for (int i = 0; i < 32; i++) {
        ed[i] = (uint8_t)(0x11 * (i + 1) + variant);
        x[i] = (uint8_t)((0x5A ^ (i * 7)) + variant);
    }
    return pgp_key_from_seed("TEE-Rex", ed, x, 1700000000u, k);
}

#endif
