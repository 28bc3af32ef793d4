/* Target functions: pgp_inner_literal, pgp_compress_inflate, pgp_packet_read
 * (the grammar of a decrypted message: one-pass signatures, signatures,
 * markers, literal data, nested zlib/zip compressed data, partial lengths).
 *
 * Behind SEIPD's authentication a mutated ciphertext never reaches these
 * parsers, so this target feeds them directly, with a small cap so inflation
 * limits are hit. */
#include <stdint.h>

#include "pgp/pgp_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pgp_inner in;
    pgp_inner_init(&in, (size_t)1 << 20);
    struct tr_buf out;
    tr_buf_init_secret(&out, (size_t)4 << 20);
    tr_result r = pgp_inner_literal(&in, tr_slice_of(data, size), 0, &out);
    if (tr_ok(r) ? out.len > ((size_t)1 << 20) : out.len != 0)
        __builtin_trap();
    tr_buf_free(&out);
    pgp_inner_free(&in);
    return 0;
}
