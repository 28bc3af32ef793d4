/* Target functions: pgp_plain_put/direct/wrote/run/final, pgp_framer_*
 * (the decrypted message walked while it is decrypted: literal data placed
 * straight into the output, skipped and collected packets, partial and
 * indeterminate lengths cut anywhere), against pgp_inner_literal, the
 * whole-buffer walker of the same grammar.
 *
 * Input: 2 octets that choose the cut (piece lengths (a + 1) and (b + 1) *
 * 16, alternating), then a decrypted packet sequence. The pieces are routed
 * the way the SEIPD decryptor routes its output: straight into the place
 * pgp_plain_direct gives when it takes whole blocks, else pgp_plain_put.
 *
 * Invariants checked: the same error code, or the same literal data; on
 * failure nothing is left in the output. */
#include <stdint.h>
#include <string.h>

#include "pgp/pgp_internal.h"

#define MAX_PLAIN ((size_t)1 << 20)

static void route(struct pgp_plain *pl, const uint8_t *p, size_t n)
{
    while (n) {
        size_t room, k;
        uint8_t *dst = pgp_plain_direct(pl, n, &room);
        if (room >= n || room >= 16) {
            k = room >= n ? n : room & ~(size_t)15;
            memcpy(dst, p, k);
            pgp_plain_wrote(pl, k);
        } else {
            k = pgp_plain_run(pl);
            k = k < 16 ? 16 : k > 4096 ? 4096 : k;
            k = k >= n ? n : k & ~(size_t)15;
            pgp_plain_put(pl, p, k);
        }
        p += k;
        n -= k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cut[2] = {(size_t)data[0] + 1, ((size_t)data[1] + 1) * 16};
    const uint8_t *msg = data + 2;
    size_t len = size - 2;

    struct pgp_inner in;
    struct tr_buf want, out;
    pgp_inner_init(&in, MAX_PLAIN);
    tr_buf_init_secret(&want, (size_t)4 << 20);
    tr_buf_init_secret(&out, (size_t)4 << 20);
    tr_result w = pgp_inner_literal(&in, tr_slice_of(msg, len), 0, &want);

    struct pgp_plain pl;
    pgp_plain_init(&pl, &out, MAX_PLAIN, len, 0);
    for (size_t off = 0, i = 0; off < len; i++) {
        size_t k = cut[i % 2] < len - off ? cut[i % 2] : len - off;
        route(&pl, msg + off, k);
        off += k;
    }
    tr_result r = pgp_plain_final(&pl);
    if (!tr_ok(r))
        pgp_plain_abort(&pl);
    if (r.err != w.err)
        __builtin_trap();
    if (tr_ok(r) && (out.len != want.len || memcmp(out.data, want.data, out.len) != 0))
        __builtin_trap();
    if (!tr_ok(r) && (out.len != 0 || want.len != 0))
        __builtin_trap();
    pgp_plain_free(&pl);
    pgp_inner_free(&in);
    tr_buf_free(&want);
    tr_buf_free(&out);
    return 0;
}
