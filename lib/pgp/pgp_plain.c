/* The decrypted message (RFC 9580 10.3), walked while it is being
 * decrypted: the grammar and the error codes of pgp_inner_literal at depth
 * 0 (skipped one-pass signature, signature, marker and padding packets;
 * exactly one literal data packet, or one compressed data packet holding the
 * rest), but the literal data body is decrypted straight into its final
 * place in the caller's buffer, so the plaintext exists once.
 *
 * The octets walked here are not authenticated yet (a v2 chunk's tag, the
 * v1 MDC and the final tag come later), so nothing here fails the
 * decryption on the spot: the first error is kept and reported by
 * pgp_plain_final, which runs only after authentication succeeded. An
 * error in a packet is raised where pgp_inner_literal raises it: at the
 * packet's end, once the packet was read whole (so a truncated packet is
 * TRUNCATED). A compressed packet's body is collected (in locked memory) and
 * inflated by pgp_inner_literal once authenticated: compressed messages are
 * small next to their output and are not what SDK clients send.
 *
 * Why hand-written: OpenPGP packet grammar (see include/teerex/pgp.h).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "pgp_internal.h"
#include "teerex/secmem.h"

#define MAX_INNER_PACKETS 64 /* as pgp_literal.c */

enum { SKIP, LITERAL, COLLECT };

void pgp_plain_init(struct pgp_plain *pl, struct tr_buf *out, size_t max_plaintext, size_t bound,
                    int raw)
{
    memset(pl, 0, sizeof(*pl));
    pl->out = out;
    pl->start = out->len;
    pl->max = max_plaintext;
    pl->bound = bound;
    pl->raw = raw;
    pgp_framer_init(&pl->f);
    tr_buf_init_secret(&pl->comp, bound ? bound : SIZE_MAX / 2);
}

void pgp_plain_free(struct pgp_plain *pl)
{
    tr_buf_free(&pl->comp);
}

static void fail(struct pgp_plain *pl, int32_t err, int line)
{
    if (tr_ok(pl->err))
        pl->err = tr_fail_at(err, __FILE__, line);
}
#define FAIL(pl, e) fail((pl), (e), __LINE__)

void pgp_plain_abort(struct pgp_plain *pl)
{
    struct tr_buf *o = pl->out;
    if (o->data && o->len > pl->start) {
        tr_secmem_wipe(o->data + pl->start, o->len - pl->start);
        o->len = pl->start;
        o->data[o->len] = 0;
    }
}

/* Makes room in out for `need` more octets, and for up to `want` (the rest
 * of the piece) when the cap and the plaintext bound allow, so that a body
 * of known length is placed without the buffer growing again. A failure is
 * the literal packet's (raised at its end, as pgp_inner_literal does). */
static void reserve(struct pgp_plain *pl, size_t need, size_t want)
{
    struct tr_buf *o = pl->out;
    if (pl->bound && want > pl->bound)
        want = pl->bound;
    if (want < need)
        want = need;
    if (need == 0 || (o->data && o->cap - 1 - o->len >= need))
        return;
    tr_result r = tr_buf_reserve(o, want);
    if (!tr_ok(r) && want > need)
        r = tr_buf_reserve(o, need);
    if (tr_ok(r))
        return;
    if (pl->raw)
        fail(pl, r.err, __LINE__);
    else if (pl->lit_err == TR_OK)
        pl->lit_err = r.err;
}

/* Body octets of the current literal piece still to come (what a
 * reservation may plan for): unknown for an indeterminate length. */
static size_t piece_rest(const struct pgp_plain *pl, size_t n)
{
    if (pl->f.to_end)
        return n;
    size_t rest = pgp_framer_body(&pl->f, SIZE_MAX);
    size_t cap_left = pl->max - pl->lit_total;
    return rest < cap_left ? rest : cap_left;
}

static void packet_start(struct pgp_plain *pl)
{
    pl->end_err = TR_OK;
    pl->mode = SKIP;
    switch (pl->f.tag) {
    case PGP_TAG_OPS:
    case PGP_TAG_SIGNATURE:
    case PGP_TAG_MARKER:
    case PGP_TAG_PADDING: break;
    case PGP_TAG_LITERAL:
        if (pl->found) {
            pl->end_err = TR_ERR_PGP_UNEXPECTED_PACKET;
        } else {
            pl->mode = LITERAL;
            pl->lit_seen = 0;
            pl->lit_total = 0;
            pl->lit_err = TR_OK;
        }
        break;
    case PGP_TAG_COMPRESSED:
        if (pl->found)
            pl->end_err = TR_ERR_PGP_UNEXPECTED_PACKET;
        else
            pl->mode = COLLECT;
        break;
    default: pl->end_err = TR_ERR_PGP_UNEXPECTED_PACKET; break;
    }
}

/* The literal data header: format, file name length, file name, date. */
static size_t lit_head_len(const struct pgp_plain *pl)
{
    return pl->lit_seen < 2 ? 2 : 2 + (size_t)pl->lit_head[1] + 4;
}

static void packet_end(struct pgp_plain *pl)
{
    if (pl->end_err != TR_OK) {
        FAIL(pl, pl->end_err);
    } else if (pl->mode == LITERAL) {
        if (pl->lit_seen < lit_head_len(pl))
            FAIL(pl, TR_ERR_PGP_BAD_LITERAL);
        else if (pl->lit_total > pl->max)
            FAIL(pl, TR_ERR_PGP_PLAINTEXT_LIMIT);
        else if (pl->lit_err != TR_OK)
            FAIL(pl, pl->lit_err);
        else
            pl->found = 1;
    } else if (pl->mode == COLLECT) {
        pl->comp_done = 1;
        pl->comp_packets = pl->packets - 1;
    }
    pl->mode = SKIP;
}

/* Literal data octets: the header first, then the body into out (up to
 * the cap; what is over it is only counted). */
static void literal(struct pgp_plain *pl, const uint8_t *p, size_t n)
{
    while (n && pl->lit_seen < lit_head_len(pl)) {
        if (pl->lit_seen < 2)
            pl->lit_head[pl->lit_seen] = *p;
        pl->lit_seen++;
        p++;
        n--;
    }
    if (n == 0)
        return;
    if (pl->lit_err == TR_OK && pl->lit_total <= pl->max && n <= pl->max - pl->lit_total) {
        reserve(pl, n, piece_rest(pl, n));
        if (pl->lit_err == TR_OK) {
            struct tr_buf *o = pl->out;
            memcpy(o->data + o->len, p, n);
            o->len += n;
            o->data[o->len] = 0;
        }
    }
    pl->lit_total += n < SIZE_MAX - pl->lit_total ? n : SIZE_MAX - pl->lit_total;
}

static void body(struct pgp_plain *pl, const uint8_t *p, size_t n)
{
    if (pl->mode == LITERAL) {
        literal(pl, p, n);
    } else if (pl->mode == COLLECT) {
        tr_result r = tr_buf_append(&pl->comp, p, n);
        if (!tr_ok(r))
            FAIL(pl, r.err);
    }
}

void pgp_plain_put(struct pgp_plain *pl, const uint8_t *p, size_t n)
{
    if (pl->raw) {
        if (n == 0 || !tr_ok(pl->err))
            return;
        reserve(pl, n, n);
        if (tr_ok(pl->err)) {
            struct tr_buf *o = pl->out;
            memcpy(o->data + o->len, p, n);
            o->len += n;
            o->data[o->len] = 0;
        }
        return;
    }
    while (n && tr_ok(pl->err)) {
        if (pl->comp_done) { /* a compressed packet is the whole rest */
            pl->trailing = 1;
            return;
        }
        int ev = 0;
        tr_result r;
        if (!pl->f.in_body) {
            if (pgp_framer_idle(&pl->f) && ++pl->packets > MAX_INNER_PACKETS) {
                FAIL(pl, TR_ERR_PGP_TOO_MANY_PACKETS);
                return;
            }
            size_t used;
            r = pgp_framer_head(&pl->f, p, n, &used, &ev);
            p += used;
            n -= used;
            if (ev & PGP_FRAME_START)
                packet_start(pl);
        } else {
            size_t k = pgp_framer_body(&pl->f, n);
            body(pl, p, k);
            p += k;
            n -= k;
            r = pgp_framer_took(&pl->f, k, &ev);
        }
        if (!tr_ok(r))
            pl->err = tr_ok(pl->err) ? r : pl->err;
        else if (ev & PGP_FRAME_END)
            packet_end(pl);
    }
}

uint8_t *pgp_plain_direct(struct pgp_plain *pl, size_t want, size_t *room)
{
    struct tr_buf *o = pl->out;
    *room = 0;
    if (!tr_ok(pl->err) || want == 0)
        return NULL;
    if (pl->raw) {
        reserve(pl, want, want);
    } else {
        /* Only body octets of the current literal piece, under the cap. */
        if (pl->mode != LITERAL || !pl->f.in_body || pl->lit_err != TR_OK ||
            pl->lit_seen < lit_head_len(pl) || pl->lit_total >= pl->max)
            return NULL;
        size_t rest = piece_rest(pl, want);
        want = want < rest ? want : rest;
        reserve(pl, want, rest);
        if (pl->lit_err != TR_OK)
            return NULL;
    }
    if (!tr_ok(pl->err) || !o->data)
        return NULL;
    size_t have = o->cap - 1 - o->len;
    *room = want < have ? want : have;
    return o->data + o->len;
}

void pgp_plain_wrote(struct pgp_plain *pl, size_t n)
{
    struct tr_buf *o = pl->out;
    o->len += n;
    o->data[o->len] = 0;
    if (pl->raw)
        return;
    pl->lit_total += n;
    int ev = 0;
    tr_result r = pgp_framer_took(&pl->f, n, &ev);
    if (!tr_ok(r))
        pl->err = tr_ok(pl->err) ? r : pl->err;
    else if (ev & PGP_FRAME_END)
        packet_end(pl);
}

size_t pgp_plain_run(const struct pgp_plain *pl)
{
    if (pl->raw || !tr_ok(pl->err) || pl->comp_done)
        return SIZE_MAX;
    /* Skipped or collected octets, or literal body octets that cannot go
     * straight to out: as many as the piece has. */
    if (pl->f.in_body && (pl->mode != LITERAL || pl->lit_seen >= lit_head_len(pl)))
        return pgp_framer_body(&pl->f, SIZE_MAX);
    return 1; /* a header, a partial length, the literal header: re-plan soon */
}

/* The collected compressed packet, framed again with a definite length
 * (and one octet after it when octets followed it, which is what makes
 * pgp_inner_literal answer UNEXPECTED_PACKET after inflating it). */
static tr_result inflate_collected(struct pgp_plain *pl)
{
    struct tr_buf msg;
    struct pgp_inner in;
    tr_result res = TR_SUCCESS;
    tr_buf_init_secret(&msg, pl->comp.len + 8);
    pgp_inner_init(&in, pl->max);
    in.packets = pl->comp_packets;
    TR_TRY(pgp_packet_write_header(&msg, PGP_TAG_COMPRESSED, pl->comp.len));
    TR_TRY(tr_buf_append(&msg, pl->comp.data, pl->comp.len));
    if (pl->trailing)
        TR_TRY(tr_buf_append_u8(&msg, 0));
    tr_buf_free(&pl->comp);
    TR_TRY(pgp_inner_literal(&in, tr_buf_slice(&msg), 0, pl->out));
out:
    tr_buf_free(&msg);
    pgp_inner_free(&in);
    return res;
}

/* As an append would: out has storage (and its NUL) even when nothing was
 * appended. */
static tr_result appended(struct pgp_plain *pl)
{
    TR_GUARD(tr_buf_reserve(pl->out, 0));
    pl->out->data[pl->out->len] = 0;
    return TR_SUCCESS;
}

tr_result pgp_plain_final(struct pgp_plain *pl)
{
    TR_GUARD(pl->err);
    if (pl->raw)
        return appended(pl);
    if (!pl->comp_done) {
        int ev = 0;
        TR_GUARD(pgp_framer_end(&pl->f, &ev));
        if (ev & PGP_FRAME_END)
            packet_end(pl);
        TR_GUARD(pl->err);
    }
    if (pl->comp_done)
        return inflate_collected(pl);
    TR_ENSURE(pl->found, TR_ERR_PGP_NO_DATA);
    return appended(pl);
}
