/* The fixed, deterministic key of the OpenPGP fuzz targets: the seeds of
 * tests/interop/pgp/pgp_tool.c, so the committed seeds that openpgp.js and
 * GnuPG encrypted to that key decrypt and reach the inner parsers. */
#ifndef TEEREX_FUZZ_FIXED_KEY_H
#define TEEREX_FUZZ_FIXED_KEY_H

#include <stdint.h>

#include "teerex/pgp.h"

static inline struct pgp_key *fuzz_fixed_key(void)
{
    uint8_t ed[32], x[32];
    for (int i = 0; i < 32; i++) {
        ed[i] = (uint8_t)(0x11 * (i + 1));
        x[i] = (uint8_t)(0x5A ^ (i * 7));
    }
    struct pgp_key *key = NULL;
    if (!tr_ok(pgp_key_from_seed("TEE-Rex", ed, x, 1700000000u, &key)))
        __builtin_trap();
    return key;
}

#endif
