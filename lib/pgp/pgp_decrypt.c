/* pgp_decrypt: the message grammar around the encrypted data (RFC 9580
 * 10.3): session key packets (PKESK for us, SKESK/marker/padding skipped),
 * then exactly one SEIPD packet and nothing after it. Tag 9 (no integrity
 * protection) is refused.
 *
 * Why hand-written: see include/teerex/pgp.h.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "pgp_internal.h"

#define MAX_PKESK 16
#define MAX_OUTER_PACKETS 64

struct outer {
    struct tr_slice pkesk[MAX_PKESK];
    size_t n_pkesk;
    struct pgp_segs seipd; /* the SEIPD body, in the pieces it was sent in */
};

static tr_result read_outer(struct tr_reader *r, struct outer *o)
{
    for (size_t count = 0;; count++) {
        TR_ENSURE(tr_reader_remaining(r) > 0, TR_ERR_PGP_NO_DATA);
        TR_ENSURE(count < MAX_OUTER_PACKETS, TR_ERR_PGP_TOO_MANY_PACKETS);
        uint8_t tag;
        TR_GUARD(pgp_packet_read_segs(r, &o->seipd, &tag));
        switch (tag) {
        case PGP_TAG_PKESK: /* never partial: one piece */
            TR_ENSURE(o->n_pkesk < MAX_PKESK, TR_ERR_PGP_TOO_MANY_PACKETS);
            o->pkesk[o->n_pkesk++] = o->seipd.v[0];
            break;
        case PGP_TAG_SKESK: /* password recipients: not ours */
        case PGP_TAG_MARKER:
        case PGP_TAG_PADDING: break;
        case PGP_TAG_SED: TR_BAIL(TR_ERR_PGP_SED_REJECTED);
        case PGP_TAG_SEIPD: return tr_reader_expect_end(r);
        default: TR_BAIL(TR_ERR_PGP_UNEXPECTED_PACKET);
        }
    }
}

/* Tries every PKESK addressed to our subkey whose version fits the SEIPD. */
static tr_result find_session_key(const struct pgp_key *key, const struct outer *o,
                                  uint8_t seipd_version, struct pgp_session_key *sk)
{
    uint8_t want = seipd_version == 1 ? 3 : 6;
    int mismatch = 0;
    tr_result last = TR_SUCCESS;
    for (size_t i = 0; i < o->n_pkesk; i++) {
        uint8_t v;
        int for_us;
        tr_result res = pgp_pkesk_addressed(o->pkesk[i], key->sub.fpr, &v, &for_us);
        if (res.err == TR_ERR_PGP_UNSUPPORTED_VERSION)
            continue; /* a future PKESK version for another recipient */
        TR_GUARD(res);
        if (!for_us)
            continue;
        if (v != want) {
            mismatch = 1;
            continue;
        }
        res = pgp_pkesk_decrypt(o->pkesk[i], key->enc, &key->sub, sk);
        if (tr_ok(res))
            return res;
        last = res;
    }
    if (!tr_ok(last))
        return last;
    TR_ENSURE(!mismatch, TR_ERR_PGP_VERSION_MISMATCH);
    TR_BAIL(TR_ERR_PGP_NOT_FOR_US);
}

tr_result pgp_decrypt(const struct pgp_key *key, const uint8_t *msg, size_t msg_len,
                      const struct pgp_decrypt_opts *opts, struct tr_buf *out)
{
    TR_ENSURE(key != NULL && out != NULL && (msg != NULL || msg_len == 0), TR_ERR_NULL_ARG);
    size_t max_pt = opts && opts->max_plaintext ? opts->max_plaintext : TR_MAX_PLAINTEXT;
    tr_result res = TR_SUCCESS;
    struct tr_reader r;
    struct tr_buf pt;
    struct pgp_inner inner;
    struct pgp_session_key sk;
    struct outer o;
    memset(&sk, 0, sizeof(sk));
    memset(&o, 0, sizeof(o));
    tr_reader_init(&r, msg, msg_len);
    /* The decrypted packets never exceed the input. */
    tr_buf_init_secret(&pt, msg_len + 1);
    pgp_inner_init(&inner, max_pt);

    TR_TRY(read_outer(&r, &o));
    uint8_t version;
    TR_CHECK(o.seipd.total > 0, TR_ERR_TRUNCATED);
    TR_TRY(pgp_seipd_version(o.seipd.v[0].len ? o.seipd.v[0] : tr_slice_of(NULL, 0), &version));
    TR_TRY(find_session_key(key, &o, version, &sk));
    struct tr_slice data;
    TR_TRY(pgp_seipd_decrypt_segs(&o.seipd, &sk, &pt, &data));
    /* The only write to the caller's buffer, undone on failure. */
    TR_TRY(pgp_inner_literal(&inner, data, 0, out));
out:
    OPENSSL_cleanse(&sk, sizeof(sk));
    pgp_segs_free(&o.seipd);
    tr_buf_free(&pt);
    pgp_inner_free(&inner);
    return res;
}
