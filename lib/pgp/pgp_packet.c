/* OpenPGP packet framing (RFC 9580 section 4.2): old and new headers,
 * partial body lengths, and MPIs.
 *
 * Why hand-written: no C library on Debian 12 parses RFC 9580 packets that
 * openpgp.js 6 emits (see include/teerex/pgp.h); the framing is a few length
 * rules, read here only through tr_reader.
 */
#include <stdlib.h>
#include <string.h>

#include "pgp_internal.h"

const uint8_t PGP_OID_ED25519_LEGACY[9] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01};
const uint8_t PGP_OID_CV25519_LEGACY[10] = {0x2B, 0x06, 0x01, 0x04, 0x01,
                                            0x97, 0x55, 0x01, 0x05, 0x01};

/* Packets that may be streamed with partial lengths (RFC 9580 4.2.1.4). */
static int may_be_partial(uint8_t tag)
{
    return tag == PGP_TAG_COMPRESSED || tag == PGP_TAG_SED || tag == PGP_TAG_LITERAL ||
           tag == PGP_TAG_SEIPD || tag == PGP_TAG_AEAD_LIBREPGP;
}

void pgp_length_decode(const uint8_t *p, size_t n, size_t *len, int *partial, size_t *size)
{
    *partial = 0;
    *len = 0;
    *size = 0;
    if (n < 1)
        return;
    uint8_t b0 = p[0];
    if (b0 < 192) {
        *len = b0;
        *size = 1;
    } else if (b0 < 224) {
        if (n < 2)
            return;
        *len = ((size_t)(b0 - 192) << 8) + p[1] + 192;
        *size = 2;
    } else if (b0 == 255) {
        if (n < 5)
            return;
        *len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
        *size = 5;
    } else {
        *len = (size_t)1 << (b0 & 0x1F);
        *partial = 1;
        *size = 1;
    }
}

tr_result pgp_header_decode(const uint8_t *p, size_t n, struct pgp_header *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 1)
        return TR_SUCCESS;
    uint8_t h = p[0], tag;
    TR_ENSURE(h & 0x80, TR_ERR_PGP_BAD_HEADER);
    size_t len = 0, size = 0;
    int partial = 0, indeterminate = 0;
    if (h & 0x40) {
        tag = h & 0x3F;
        pgp_length_decode(p + 1, n - 1, &len, &partial, &size);
        if (size == 0)
            return TR_SUCCESS;
        if (partial) {
            TR_ENSURE(may_be_partial(tag), TR_ERR_PGP_BAD_PARTIAL);
            /* RFC 9580 4.2.1.4: the first partial length is at least 512. */
            TR_ENSURE(len >= 512, TR_ERR_PGP_BAD_PARTIAL);
        }
    } else {
        tag = (h >> 2) & 0x0F;
        static const uint8_t octets[4] = {1, 2, 4, 0};
        size = octets[h & 3];
        if (size == 0) {
            /* Indeterminate length: the packet runs to the end of the input. */
            TR_ENSURE(may_be_partial(tag), TR_ERR_PGP_BAD_HEADER);
            indeterminate = 1;
        } else if (n - 1 < size) {
            return TR_SUCCESS;
        }
        for (size_t i = 0; i < size; i++)
            len = len << 8 | p[1 + i];
    }
    TR_ENSURE(tag != 0, TR_ERR_PGP_BAD_HEADER);
    out->tag = tag;
    out->size = (uint8_t)(1 + size);
    out->partial = partial;
    out->indeterminate = indeterminate;
    out->len = len;
    return TR_SUCCESS;
}

void pgp_segs_free(struct pgp_segs *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static tr_result segs_push(struct pgp_segs *s, struct tr_slice part)
{
    TR_ENSURE(s->n < PGP_MAX_PIECES, TR_ERR_PGP_TOO_MANY_PACKETS);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct tr_slice *v = realloc(s->v, cap * sizeof(*v));
        TR_ENSURE(v != NULL, TR_ERR_NOMEM);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = part;
    s->total += part.len;
    return TR_SUCCESS;
}

tr_result pgp_packet_read_segs(struct tr_reader *r, struct pgp_segs *segs, uint8_t *out_tag)
{
    segs->n = 0;
    segs->total = 0;
    *out_tag = 0;
    struct pgp_header h;
    TR_GUARD(pgp_header_decode(tr_reader_cursor(r), tr_reader_remaining(r), &h));
    TR_ENSURE(h.size > 0, TR_ERR_TRUNCATED);
    TR_GUARD(tr_read_skip(r, h.size));
    size_t len = h.indeterminate ? tr_reader_remaining(r) : h.len;
    int partial = h.partial;
    for (;;) {
        struct tr_slice part;
        TR_GUARD(tr_read_slice(r, len, &part));
        TR_GUARD(segs_push(segs, part));
        if (!partial)
            break;
        size_t size;
        pgp_length_decode(tr_reader_cursor(r), tr_reader_remaining(r), &len, &partial, &size);
        TR_ENSURE(size > 0, TR_ERR_TRUNCATED);
        TR_GUARD(tr_read_skip(r, size));
    }
    *out_tag = h.tag;
    return TR_SUCCESS;
}

tr_result pgp_packet_read(struct tr_reader *r, struct tr_buf *scratch, struct pgp_packet *out)
{
    memset(out, 0, sizeof(*out));
    struct pgp_segs segs = {0};
    tr_result res = TR_SUCCESS;
    TR_TRY(pgp_packet_read_segs(r, &segs, &out->tag));
    if (segs.n == 1) {
        out->body = segs.v[0];
    } else {
        out->partial = 1;
        tr_buf_clear(scratch);
        TR_TRY(tr_buf_reserve(scratch, segs.total));
        for (size_t i = 0; i < segs.n; i++)
            TR_TRY(tr_buf_append(scratch, segs.v[i].ptr, segs.v[i].len));
        out->body = tr_buf_slice(scratch);
    }
out:
    pgp_segs_free(&segs);
    return res;
}

void pgp_seg_cursor_init(struct pgp_seg_cursor *c, const struct pgp_segs *s)
{
    c->s = s;
    c->i = 0;
    c->off = 0;
    c->pos = 0;
}

struct tr_slice pgp_seg_next(struct pgp_seg_cursor *c, size_t max)
{
    while (c->i < c->s->n && c->off == c->s->v[c->i].len) {
        c->i++;
        c->off = 0;
    }
    if (c->i == c->s->n || max == 0)
        return tr_slice_of(NULL, 0);
    size_t n = c->s->v[c->i].len - c->off;
    if (n > max)
        n = max;
    struct tr_slice out = tr_slice_of(c->s->v[c->i].ptr + c->off, n);
    c->off += n;
    c->pos += n;
    return out;
}

tr_result pgp_seg_copy(struct pgp_seg_cursor *c, uint8_t *dst, size_t n)
{
    TR_ENSURE(c->s->total - c->pos >= n, TR_ERR_TRUNCATED);
    while (n) {
        struct tr_slice p = pgp_seg_next(c, n);
        memcpy(dst, p.ptr, p.len);
        dst += p.len;
        n -= p.len;
    }
    return TR_SUCCESS;
}

tr_result pgp_packet_write_header(struct tr_buf *out, uint8_t tag, size_t body_len)
{
    TR_ENSURE(body_len <= UINT32_MAX, TR_ERR_OVERFLOW);
    TR_GUARD(tr_buf_append_u8(out, (uint8_t)(0xC0 | tag)));
    if (body_len < 192)
        return tr_buf_append_u8(out, (uint8_t)body_len);
    if (body_len < 8384) {
        size_t v = body_len - 192;
        uint8_t b[2] = {(uint8_t)((v >> 8) + 192), (uint8_t)v};
        return tr_buf_append(out, b, 2);
    }
    TR_GUARD(tr_buf_append_u8(out, 255));
    return tr_buf_append_be32(out, (uint32_t)body_len);
}

tr_result pgp_mpi_read(struct tr_reader *r, struct tr_slice *out)
{
    uint16_t bits;
    out->ptr = NULL;
    out->len = 0;
    TR_GUARD(tr_read_be16(r, &bits));
    size_t n = ((size_t)bits + 7) / 8;
    TR_GUARD(tr_read_slice(r, n, out));
    /* The bit count must be exact: the top octet holds the top bit. */
    if (n) {
        unsigned top = (bits - 1) % 8;
        TR_ENSURE((out->ptr[0] >> top) == 1, TR_ERR_PGP_BAD_MPI);
    }
    return TR_SUCCESS;
}

tr_result pgp_mpi_write(struct tr_buf *out, const uint8_t *p, size_t n)
{
    while (n && p[0] == 0) {
        p++;
        n--;
    }
    TR_ENSURE(n <= 8192, TR_ERR_OVERFLOW);
    size_t bits = 0;
    if (n) {
        uint8_t top = p[0];
        unsigned b = 0;
        while (top) {
            b++;
            top >>= 1;
        }
        bits = (n - 1) * 8 + b;
    }
    TR_GUARD(tr_buf_append_be16(out, (uint16_t)bits));
    return tr_buf_append(out, p, n);
}

tr_result pgp_point_read(struct tr_reader *r, uint8_t out[PGP_X25519_LEN])
{
    struct tr_slice mpi;
    memset(out, 0, PGP_X25519_LEN);
    tr_result res = pgp_mpi_read(r, &mpi);
    if (res.err == TR_ERR_PGP_BAD_MPI)
        TR_BAIL(TR_ERR_PGP_BAD_POINT);
    TR_GUARD(res);
    /* Native (prefixed) Curve25519 encoding: 0x40 || u-coordinate. */
    TR_ENSURE(mpi.len == 1 + PGP_X25519_LEN && mpi.ptr[0] == 0x40, TR_ERR_PGP_BAD_POINT);
    memcpy(out, mpi.ptr + 1, PGP_X25519_LEN);
    return TR_SUCCESS;
}
