/* pgp_decrypt and pgp_stream: the message grammar around the encrypted data
 * (RFC 9580 10.3): session key packets (PKESK for us, SKESK/marker/padding
 * skipped), then exactly one SEIPD packet and nothing after it. Tag 9 (no
 * integrity protection) is refused.
 *
 * The message is read as it arrives (pgp_framer): PKESK bodies are kept,
 * the SEIPD body goes to the decryptor (pgp_seipd_open.c) piece by piece as
 * soon as its version octet has chosen the session key, and the plaintext
 * is walked by pgp_plain into the caller's buffer. Errors rank as when the
 * message is read whole first: a broken packet structure anywhere (TRAILING
 * and TRUNCATED included) before anything found while decrypting, and those
 * before the decrypted message's grammar.
 *
 * Why hand-written: see include/teerex/pgp.h.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "pgp_internal.h"
#include "teerex/codec.h"
#include "teerex/secmem.h"

#define MAX_PKESK 16
#define MAX_OUTER_PACKETS 64
#define B64_WINDOW ((size_t)16 * 1024) /* base64 characters decoded per step */

enum { BEFORE_SEIPD, IN_SEIPD, AFTER_SEIPD, FINISHED };
enum { INPUT_NONE, INPUT_BINARY, INPUT_BASE64 };

struct pgp_stream {
    const struct pgp_key *key;
    int state;
    int input;
    struct pgp_framer f;
    size_t packets;
    struct tr_buf pkesk; /* PKESK bodies, back to back */
    size_t pkesk_end[MAX_PKESK];
    size_t n_pkesk;
    size_t seipd_len;
    int seipd_begun;  /* its version octet chose the session key */
    tr_result fatal;  /* the packet structure is broken: final */
    tr_result late;   /* session key, decryption or grammar: unless fatal follows */
    tr_result result; /* what pgp_stream_final answered */
    struct pgp_plain plain;
    struct pgp_seipd_dec dec;
    struct tr_b64_stream b64;
    uint8_t bin[TR_B64_DECODED_MAX(B64_WINDOW)];
};

tr_result pgp_stream_new(const struct pgp_key *key, const struct pgp_decrypt_opts *opts,
                         struct tr_buf *out, struct pgp_stream **out_stream)
{
    TR_ENSURE(key != NULL && out != NULL && out_stream != NULL, TR_ERR_NULL_ARG);
    *out_stream = NULL;
    TR_ENSURE(out->secret, TR_ERR_USAGE); /* plaintext lives in locked memory only */
    struct pgp_stream *s = tr_secmem_alloc(sizeof(*s));
    TR_ENSURE(s != NULL, TR_ERR_NOMEM);
    size_t max = opts && opts->max_plaintext ? opts->max_plaintext : TR_MAX_PLAINTEXT;
    size_t bound = opts ? opts->message_bound : 0;
    s->key = key;
    pgp_framer_init(&s->f);
    tr_buf_init(&s->pkesk, 0); /* bounded by the message, as the caller bounds it */
    pgp_plain_init(&s->plain, out, max, bound, 0);
    tr_b64_stream_init(&s->b64);
    *out_stream = s;
    return TR_SUCCESS;
}

void pgp_stream_free(struct pgp_stream *s)
{
    if (!s)
        return;
    if (s->state != FINISHED || !tr_ok(s->result))
        pgp_plain_abort(&s->plain);
    pgp_seipd_dec_free(&s->dec);
    pgp_plain_free(&s->plain);
    tr_buf_free(&s->pkesk);
    tr_secmem_free(s, sizeof(*s));
}

static struct tr_slice pkesk_body(const struct pgp_stream *s, size_t i)
{
    size_t from = i ? s->pkesk_end[i - 1] : 0;
    return tr_slice_of(s->pkesk.data ? s->pkesk.data + from : NULL, s->pkesk_end[i] - from);
}

/* Tries every PKESK addressed to our subkey whose version fits the SEIPD. */
static tr_result find_session_key(const struct pgp_stream *s, uint8_t seipd_version,
                                  struct pgp_session_key *sk)
{
    const struct pgp_key *key = s->key;
    uint8_t want = seipd_version == 1 ? 3 : 6;
    int mismatch = 0;
    tr_result last = TR_SUCCESS;
    for (size_t i = 0; i < s->n_pkesk; i++) {
        uint8_t v;
        int for_us;
        struct tr_slice body = pkesk_body(s, i);
        tr_result res = pgp_pkesk_addressed(body, key->sub.fpr, &v, &for_us);
        if (res.err == TR_ERR_PGP_UNSUPPORTED_VERSION)
            continue; /* a future PKESK version for another recipient */
        TR_GUARD(res);
        if (!for_us)
            continue;
        if (v != want) {
            mismatch = 1;
            continue;
        }
        res = pgp_pkesk_decrypt(body, key->enc, &key->sub, sk);
        if (tr_ok(res))
            return res;
        last = res;
    }
    if (!tr_ok(last))
        return last;
    TR_ENSURE(!mismatch, TR_ERR_PGP_VERSION_MISMATCH);
    TR_BAIL(TR_ERR_PGP_NOT_FOR_US);
}

static tr_result begin_seipd(struct pgp_stream *s, uint8_t version)
{
    TR_ENSURE(version == 1 || version == 2, TR_ERR_PGP_UNSUPPORTED_VERSION);
    struct pgp_session_key sk;
    memset(&sk, 0, sizeof(sk));
    tr_result res = find_session_key(s, version, &sk);
    if (tr_ok(res))
        res = pgp_seipd_dec_begin(&s->dec, version, &sk, &s->plain);
    OPENSSL_cleanse(&sk, sizeof(sk));
    return res;
}

/* SEIPD body octets: the first (the version) picks the session key; the
 * rest is decrypted as it comes, until something goes wrong. */
static void seipd_body(struct pgp_stream *s, const uint8_t *p, size_t n)
{
    s->seipd_len += n;
    if (!tr_ok(s->late) || n == 0)
        return;
    if (!s->seipd_begun) {
        s->seipd_begun = 1;
        s->late = begin_seipd(s, p[0]);
        p++;
        n--;
    }
    if (n && tr_ok(s->late))
        s->late = pgp_seipd_dec_update(&s->dec, p, n);
}

static void packet_body(struct pgp_stream *s, const uint8_t *p, size_t n)
{
    if (s->f.tag == PGP_TAG_SEIPD) {
        seipd_body(s, p, n);
    } else if (s->f.tag == PGP_TAG_PKESK) { /* never partial: one piece */
        tr_result r = tr_buf_append(&s->pkesk, p, n);
        if (!tr_ok(r))
            s->fatal = r;
    }
}

/* A packet was read whole: what the grammar says about it. */
static void packet_end(struct pgp_stream *s)
{
    switch (s->f.tag) {
    case PGP_TAG_PKESK:
        if (s->n_pkesk < MAX_PKESK)
            s->pkesk_end[s->n_pkesk++] = s->pkesk.len;
        else
            s->fatal = tr_fail_at(TR_ERR_PGP_TOO_MANY_PACKETS, __FILE__, __LINE__);
        break;
    case PGP_TAG_SKESK: /* password recipients: not ours */
    case PGP_TAG_MARKER:
    case PGP_TAG_PADDING: break;
    case PGP_TAG_SED: s->fatal = tr_fail_at(TR_ERR_PGP_SED_REJECTED, __FILE__, __LINE__); break;
    case PGP_TAG_SEIPD: s->state = AFTER_SEIPD; break;
    default: s->fatal = tr_fail_at(TR_ERR_PGP_UNEXPECTED_PACKET, __FILE__, __LINE__); break;
    }
}

static tr_result feed(struct pgp_stream *s, const uint8_t *p, size_t n)
{
    while (n && tr_ok(s->fatal)) {
        if (s->state == AFTER_SEIPD) {
            s->fatal = tr_fail_at(TR_ERR_TRAILING, __FILE__, __LINE__);
            break;
        }
        int ev = 0;
        tr_result r;
        if (!s->f.in_body) {
            if (pgp_framer_idle(&s->f) && s->packets++ == MAX_OUTER_PACKETS) {
                s->fatal = tr_fail_at(TR_ERR_PGP_TOO_MANY_PACKETS, __FILE__, __LINE__);
                break;
            }
            size_t used;
            r = pgp_framer_head(&s->f, p, n, &used, &ev);
            p += used;
            n -= used;
            if ((ev & PGP_FRAME_START) && s->f.tag == PGP_TAG_SEIPD)
                s->state = IN_SEIPD;
        } else {
            size_t k = pgp_framer_body(&s->f, n);
            packet_body(s, p, k);
            p += k;
            n -= k;
            r = pgp_framer_took(&s->f, k, &ev);
        }
        if (!tr_ok(r))
            s->fatal = r;
        else if (ev & PGP_FRAME_END)
            packet_end(s);
    }
    return s->fatal;
}

static tr_result start_input(struct pgp_stream *s, int input)
{
    TR_ENSURE(s != NULL, TR_ERR_NULL_ARG);
    TR_ENSURE(s->state != FINISHED && (s->input == INPUT_NONE || s->input == input), TR_ERR_USAGE);
    s->input = input;
    return s->fatal;
}

tr_result pgp_stream_update(struct pgp_stream *s, const uint8_t *p, size_t n)
{
    TR_GUARD(start_input(s, INPUT_BINARY));
    TR_ENSURE(p != NULL || n == 0, TR_ERR_NULL_ARG);
    return feed(s, p, n);
}

tr_result pgp_stream_update_b64(struct pgp_stream *s, const char *text, size_t n)
{
    TR_GUARD(start_input(s, INPUT_BASE64));
    TR_ENSURE(text != NULL || n == 0, TR_ERR_NULL_ARG);
    while (n) {
        size_t step = n < B64_WINDOW ? n : B64_WINDOW, got;
        tr_result r = tr_b64_stream_update(&s->b64, text, step, s->bin, &got);
        if (!tr_ok(r))
            return s->fatal = r;
        TR_GUARD(feed(s, s->bin, got));
        text += step;
        n -= step;
    }
    return TR_SUCCESS;
}

static tr_result finish(struct pgp_stream *s)
{
    if (s->input == INPUT_BASE64)
        TR_GUARD(tr_b64_stream_final(&s->b64));
    int ev = 0;
    TR_GUARD(pgp_framer_end(&s->f, &ev));
    if (ev & PGP_FRAME_END)
        packet_end(s);
    TR_GUARD(s->fatal);
    /* Between packets before any SEIPD: nothing encrypted in the message. */
    TR_ENSURE(s->state == AFTER_SEIPD, TR_ERR_PGP_NO_DATA);
    TR_ENSURE(s->seipd_len > 0, TR_ERR_TRUNCATED);
    TR_GUARD(s->late);
    TR_GUARD(pgp_seipd_dec_final(&s->dec));
    return pgp_plain_final(&s->plain);
}

tr_result pgp_stream_final(struct pgp_stream *s, struct tr_slice *out_plain)
{
    TR_ENSURE(s != NULL && out_plain != NULL, TR_ERR_NULL_ARG);
    *out_plain = tr_slice_of(NULL, 0);
    TR_ENSURE(s->state != FINISHED, TR_ERR_USAGE);
    s->result = tr_ok(s->fatal) ? finish(s) : s->fatal;
    s->state = FINISHED;
    struct pgp_plain *pl = &s->plain;
    if (!tr_ok(s->result))
        pgp_plain_abort(pl);
    else
        *out_plain =
            tr_slice_of(pl->out->data ? pl->out->data + pl->start : NULL, pl->out->len - pl->start);
    return s->result;
}

tr_result pgp_decrypt(const struct pgp_key *key, const uint8_t *msg, size_t msg_len,
                      const struct pgp_decrypt_opts *opts, struct tr_buf *out)
{
    TR_ENSURE(key != NULL && out != NULL && (msg != NULL || msg_len == 0), TR_ERR_NULL_ARG);
    struct pgp_decrypt_opts o = {.max_plaintext = opts ? opts->max_plaintext : 0,
                                 .message_bound = msg_len};
    struct pgp_stream *s;
    TR_GUARD(pgp_stream_new(key, &o, out, &s));
    struct tr_slice plain;
    tr_ignore(pgp_stream_update(s, msg, msg_len)); /* final answers for the whole */
    tr_result res = pgp_stream_final(s, &plain);
    pgp_stream_free(s);
    return res;
}
