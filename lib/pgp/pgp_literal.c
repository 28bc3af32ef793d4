/* The decrypted message (RFC 9580 10.3): optional one-pass signature,
 * signature, marker and padding packets (skipped: we decrypt, the prover
 * input is not signed), and exactly one Literal Data packet (5.9) or one
 * Compressed Data packet holding such a message, nested at most
 * TR_MAX_PGP_PACKET_DEPTH deep. All nested layers together inflate at most
 * max_plaintext plus framing (one budget, not one per layer: three layers of
 * padding made a 62 KB message cost 180 MB), and a layer is released as soon
 * as the one inside it is inflated.
 *
 * Why hand-written: OpenPGP packet grammar (see include/teerex/pgp.h).
 */
#include <string.h>

#include "pgp_internal.h"
#include "teerex/secmem.h"

#define MAX_INNER_PACKETS 64

void pgp_inner_init(struct pgp_inner *in, size_t max_plaintext)
{
    memset(in, 0, sizeof(*in));
    in->max_plaintext = max_plaintext;
    /* Room for the literal header and partial-length octets (>= 512 octets
     * per part in practice) on top of the literal data itself. */
    size_t framing = max_plaintext / 256 + 4096;
    size_t cap = max_plaintext > SIZE_MAX - framing ? SIZE_MAX : max_plaintext + framing;
    in->inflate_left = cap;
    for (int i = 0; i < TR_MAX_PGP_PACKET_DEPTH; i++)
        tr_buf_init_secret(&in->inflated[i], cap);
}

void pgp_inner_free(struct pgp_inner *in)
{
    for (int i = 0; i < TR_MAX_PGP_PACKET_DEPTH; i++)
        tr_buf_free(&in->inflated[i]);
    pgp_segs_free(&in->segs);
}

/* Literal data (RFC 9580 5.9): format, file name, date, then the body, which
 * is copied piece by piece into out (one copy, no assembly). */
static tr_result literal_body(const struct pgp_segs *segs, size_t max, struct tr_buf *out)
{
    struct pgp_seg_cursor c;
    pgp_seg_cursor_init(&c, segs);
    uint8_t head[2], skip[255 + 4];
    TR_ENSURE(tr_ok(pgp_seg_copy(&c, head, 2)) && tr_ok(pgp_seg_copy(&c, skip, head[1] + 4u)),
              TR_ERR_PGP_BAD_LITERAL);
    size_t n = segs->total - c.pos;
    TR_ENSURE(n <= max, TR_ERR_PGP_PLAINTEXT_LIMIT);
    TR_GUARD(tr_buf_reserve(out, n));
    for (struct tr_slice p; (p = pgp_seg_next(&c, n)).len;)
        TR_GUARD(tr_buf_append(out, p.ptr, p.len));
    return TR_SUCCESS;
}

static tr_result walk(struct pgp_inner *in, struct tr_slice data, int depth, struct tr_buf *out)
{
    TR_ENSURE(depth < TR_MAX_PGP_PACKET_DEPTH, TR_ERR_PGP_NESTING);
    struct tr_reader r;
    tr_reader_init(&r, data.ptr, data.len);
    int found = 0;
    while (tr_reader_remaining(&r)) {
        TR_ENSURE(++in->packets <= MAX_INNER_PACKETS, TR_ERR_PGP_TOO_MANY_PACKETS);
        uint8_t tag;
        TR_GUARD(pgp_packet_read_segs(&r, &in->segs, &tag));
        switch (tag) {
        case PGP_TAG_OPS:
        case PGP_TAG_SIGNATURE:
        case PGP_TAG_MARKER:
        case PGP_TAG_PADDING: break;
        case PGP_TAG_LITERAL:
            TR_ENSURE(!found, TR_ERR_PGP_UNEXPECTED_PACKET);
            TR_GUARD(literal_body(&in->segs, in->max_plaintext, out));
            found = 1;
            break;
        case PGP_TAG_COMPRESSED: {
            TR_ENSURE(!found, TR_ERR_PGP_UNEXPECTED_PACKET);
            TR_ENSURE(depth + 1 < TR_MAX_PGP_PACKET_DEPTH, TR_ERR_PGP_NESTING);
            TR_ENSURE(in->inflate_left > 0, TR_ERR_PGP_PLAINTEXT_LIMIT);
            struct tr_buf *dec = &in->inflated[depth];
            tr_buf_free(dec);
            tr_buf_init_secret(dec, in->inflate_left); /* what the layers above left */
            /* Compressed bodies are small next to their output: a streamed
             * one is assembled (in locked memory: it is plaintext). */
            struct tr_buf body;
            tr_buf_init_secret(&body, in->segs.total + 1);
            tr_result res = TR_SUCCESS;
            struct tr_slice whole = in->segs.n == 1 ? in->segs.v[0] : tr_slice_of(NULL, 0);
            if (in->segs.n != 1) {
                for (size_t i = 0; i < in->segs.n && tr_ok(res); i++)
                    res = tr_buf_append(&body, in->segs.v[i].ptr, in->segs.v[i].len);
                whole = tr_buf_slice(&body);
            }
            if (tr_ok(res))
                res = pgp_compress_inflate(whole, dec);
            tr_buf_free(&body);
            TR_GUARD(res);
            in->inflate_left -= dec->len;
            /* A compressed packet is a whole message: nothing may follow. */
            TR_ENSURE(tr_reader_remaining(&r) == 0, TR_ERR_PGP_UNEXPECTED_PACKET);
            /* Nothing reads the layer above any more (r and segs are done
             * with it): release it before going down. */
            if (depth > 0)
                tr_buf_free(&in->inflated[depth - 1]);
            return walk(in, tr_buf_slice(dec), depth + 1, out);
        }
        default: TR_BAIL(TR_ERR_PGP_UNEXPECTED_PACKET);
        }
    }
    TR_ENSURE(found, TR_ERR_PGP_NO_DATA);
    return TR_SUCCESS;
}

tr_result pgp_inner_literal(struct pgp_inner *in, struct tr_slice data, int depth,
                            struct tr_buf *out)
{
    size_t start = out->len;
    tr_result res = walk(in, data, depth, out);
    if (!tr_ok(res) && out->data) {
        /* Nothing of a failed message stays behind. */
        tr_secmem_wipe(out->data + start, out->len - start);
        out->len = start;
        out->data[start] = 0;
    }
    return res;
}
