/* OpenPGP packet framing over a stream (RFC 9580 4.2): the same header and
 * partial-length rules as pgp_packet_read_segs (both decode with
 * pgp_header_decode / pgp_length_decode), for octets that arrive in pieces
 * of any size. Header octets are held here (at most 6); body octets are
 * never copied: the caller asks how many of its octets are body.
 *
 * Why hand-written: see include/teerex/pgp.h.
 */
#include <string.h>

#include "pgp_internal.h"

void pgp_framer_init(struct pgp_framer *f)
{
    memset(f, 0, sizeof(*f));
}

/* A piece's body is complete: count it, and end the packet after its last
 * piece (the piece limit is checked where pgp_packet_read_segs checks it:
 * once the piece has been read). */
static tr_result piece_done(struct pgp_framer *f, int *ev)
{
    f->in_body = 0;
    f->pieces++;
    TR_ENSURE(f->pieces <= PGP_MAX_PIECES, TR_ERR_PGP_TOO_MANY_PACKETS);
    if (!f->more) {
        f->in_packet = 0;
        *ev |= PGP_FRAME_END;
    }
    return TR_SUCCESS;
}

tr_result pgp_framer_head(struct pgp_framer *f, const uint8_t *p, size_t n, size_t *used, int *ev)
{
    *used = 0;
    *ev = 0;
    while (*used < n) {
        f->hdr[f->hdr_n++] = p[(*used)++];
        if (!f->in_packet) {
            struct pgp_header h;
            TR_GUARD(pgp_header_decode(f->hdr, f->hdr_n, &h));
            if (h.size == 0)
                continue; /* at most 6 octets: the decoder asks for no more */
            f->in_packet = 1;
            f->tag = h.tag;
            f->pieces = 0;
            f->more = (uint8_t)h.partial;
            f->to_end = (uint8_t)h.indeterminate;
            f->left = h.len;
            *ev |= PGP_FRAME_START;
        } else {
            size_t len, size;
            int partial;
            pgp_length_decode(f->hdr, f->hdr_n, &len, &partial, &size);
            if (size == 0)
                continue;
            f->more = (uint8_t)partial;
            f->left = len;
        }
        f->hdr_n = 0;
        if (f->to_end || f->left > 0) {
            f->in_body = 1;
            return TR_SUCCESS;
        }
        TR_GUARD(piece_done(f, ev));
        if (*ev & PGP_FRAME_END)
            return TR_SUCCESS; /* the caller sees the end before the next packet */
    }
    return TR_SUCCESS;
}

tr_result pgp_framer_took(struct pgp_framer *f, size_t k, int *ev)
{
    *ev = 0;
    if (f->to_end || k == 0)
        return TR_SUCCESS;
    f->left -= k;
    if (f->left == 0)
        return piece_done(f, ev);
    return TR_SUCCESS;
}

tr_result pgp_framer_end(struct pgp_framer *f, int *ev)
{
    *ev = 0;
    if (pgp_framer_idle(f))
        return TR_SUCCESS;
    if (f->in_body && f->to_end)
        return piece_done(f, ev);
    TR_BAIL(TR_ERR_TRUNCATED);
}
