/* Target functions: pgp_pubkey_parse_armored (pgp_dearmor, key packets,
 * self-signature and binding verification) and pgp_dearmor on its own. */
#include <stdint.h>

#include "teerex/pgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pgp_pubkey *pk = NULL;
    if (tr_ok(pgp_pubkey_parse_armored((const char *)data, size, &pk)) && pk == NULL)
        __builtin_trap();
    pgp_pubkey_free(pk);
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    if (tr_ok(pgp_dearmor((const char *)data, size, &b)) && b.len > size)
        __builtin_trap();
    tr_buf_free(&b);
    return 0;
}
