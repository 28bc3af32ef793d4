/* A recipient's transferable public key (RFC 9580 10.1) from armor: a v4
 * EdDSALegacy (22) or Ed25519 (27) primary, user IDs with at least one
 * self-certification that verifies, and the first ECDH Curve25519 (18) or
 * X25519 (25) subkey whose binding signature verifies. Other subkeys, user
 * attributes and unverifiable third-party signatures are skipped.
 *
 * Why hand-written: see include/teerex/pgp.h.
 */
#include <stdlib.h>
#include <string.h>

#include "pgp_internal.h"

#define MAX_KEY_PACKETS 128

enum section { SEC_PRIMARY, SEC_UID, SEC_SUBKEY, SEC_OTHER };

static int is_cert_type(uint8_t t)
{
    return t >= 0x10 && t <= 0x13;
}

static tr_result parse_key(struct tr_slice bin, struct pgp_pubkey *pk)
{
    struct tr_reader r;
    tr_reader_init(&r, bin.ptr, bin.len);
    struct tr_buf scratch; /* key packets never use partial lengths */
    tr_buf_init(&scratch, 1);
    struct pgp_packet p;
    tr_result res = TR_SUCCESS;
    EVP_PKEY *signer = NULL;
    TR_TRY(pgp_packet_read(&r, &scratch, &p));
    TR_CHECK(p.tag == PGP_TAG_PUBLIC_KEY, TR_ERR_PGP_BAD_KEY);
    struct tr_slice primary = p.body, target = {0};
    uint32_t created;
    uint8_t pub[32], key_algo = 0;
    TR_TRY(pgp_keypkt_parse_signer(primary, &created, &key_algo, pub));
    TR_TRY(pgp_keypkt_fingerprint(primary, pk->fpr));
    signer = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    TR_CHECK(signer != NULL, TR_ERR_PGP_BAD_KEY);

    enum section sec = SEC_PRIMARY;
    int uid_ok = 0, have_sub = 0, sub_ok = 0, count = 0;
    struct pgp_ecdh_pub cand;
    while (tr_reader_remaining(&r)) {
        TR_CHECK(++count <= MAX_KEY_PACKETS, TR_ERR_PGP_TOO_MANY_PACKETS);
        TR_TRY(pgp_packet_read(&r, &scratch, &p));
        switch (p.tag) {
        case PGP_TAG_USER_ID:
            sec = SEC_UID;
            target = p.body;
            break;
        case PGP_TAG_PUBLIC_SUBKEY:
            if (sub_ok) {
                sec = SEC_OTHER;
                break;
            }
            sec = SEC_SUBKEY;
            target = p.body;
            res = pgp_keypkt_parse_enc(p.body, &created, &cand);
            have_sub = tr_ok(res);
            if (res.err == TR_ERR_PGP_UNSUPPORTED_PUBKEY_ALGO ||
                res.err == TR_ERR_PGP_UNSUPPORTED_VERSION)
                res = TR_SUCCESS; /* another kind of subkey: skip it */
            TR_TRY(res);
            break;
        case PGP_TAG_SIGNATURE: {
            uint8_t type = p.body.len > 1 ? p.body.ptr[1] : 0;
            if (sec == SEC_UID && !uid_ok && is_cert_type(type))
                uid_ok = tr_ok(pgp_sig_verify_alg(signer, key_algo, type, primary, target, p.body));
            else if (sec == SEC_SUBKEY && have_sub && !sub_ok &&
                     type == PGP_SIGTYPE_SUBKEY_BINDING) {
                res = pgp_sig_verify_alg(signer, key_algo, type, primary, target, p.body);
                TR_TRY(res);
                sub_ok = 1;
                pk->sub = cand;
            }
            break;
        }
        case PGP_TAG_USER_ATTRIBUTE:
        case PGP_TAG_TRUST:
        case PGP_TAG_PADDING: sec = SEC_OTHER; break;
        default: TR_FAIL(TR_ERR_PGP_BAD_KEY);
        }
    }
    TR_CHECK(uid_ok, TR_ERR_PGP_BAD_SIGNATURE);
    TR_CHECK(sub_ok, TR_ERR_PGP_NO_ENCRYPTION_KEY);
out:
    EVP_PKEY_free(signer);
    tr_buf_free(&scratch);
    return res;
}

tr_result pgp_pubkey_parse_armored(const char *text, size_t len, struct pgp_pubkey **out)
{
    TR_ENSURE(text != NULL && out != NULL, TR_ERR_NULL_ARG);
    *out = NULL;
    TR_ENSURE(len <= TR_MAX_ARMORED_KEY, TR_ERR_TOO_BIG);
    tr_result res = TR_SUCCESS;
    struct tr_buf bin;
    tr_buf_init(&bin, TR_MAX_ARMORED_KEY);
    struct pgp_pubkey *pk = calloc(1, sizeof(*pk));
    TR_CHECK(pk != NULL, TR_ERR_NOMEM);
    TR_TRY(pgp_dearmor(text, len, &bin));
    TR_TRY(parse_key(tr_buf_slice(&bin), pk));
    *out = pk;
    pk = NULL;
out:
    free(pk);
    tr_buf_free(&bin);
    return res;
}

void pgp_pubkey_free(struct pgp_pubkey *pk)
{
    free(pk);
}

void pgp_pubkey_fingerprint(const struct pgp_pubkey *pk, uint8_t out[20])
{
    memcpy(out, pk->fpr, PGP_FPR_LEN);
}
