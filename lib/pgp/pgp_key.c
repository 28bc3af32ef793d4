/* Our key pair, shaped like openpgp.js generateKey({type: "ecc",
 * userIDs: [{name}]}) with aeadProtect: v4 EdDSALegacy primary, user ID with
 * a positive certification, v4 ECDH Curve25519 subkey with a binding
 * signature. Private halves are OpenSSL EVP_PKEYs, which OpenSSL 3 keeps in
 * its secure heap (started by tr_secmem_init): locked, non-dumpable, wiped
 * on free. They never leave this file except as EVP_PKEY handles used by
 * pgp_decrypt.
 *
 * Why hand-written: see include/teerex/pgp.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgp_internal.h"
#include "teerex/secmem.h"

#define MAX_USER_ID 1024

static tr_result append_packet(struct tr_buf *out, uint8_t tag, struct tr_slice body)
{
    TR_GUARD(pgp_packet_write_header(out, tag, body.len));
    return tr_buf_append(out, body.ptr, body.len);
}

static tr_result build(struct pgp_key *k, const char *name)
{
    size_t name_len = strlen(name);
    TR_ENSURE(name_len > 0 && name_len <= MAX_USER_ID, TR_ERR_USAGE);
    tr_result res = TR_SUCCESS;
    struct tr_buf prim, subk;
    tr_buf_init(&prim, 256);
    tr_buf_init(&subk, 256);
    uint8_t pub[32];
    size_t publen = sizeof(pub);
    TR_CHECK_OSSL(EVP_PKEY_get_raw_public_key(k->sign, pub, &publen), TR_ERR_OSSL);
    TR_TRY(pgp_keypkt_write_ed25519(&prim, k->created, pub));
    TR_TRY(pgp_keypkt_fingerprint(tr_buf_slice(&prim), k->fpr));
    publen = sizeof(k->sub.point);
    TR_CHECK_OSSL(EVP_PKEY_get_raw_public_key(k->enc, k->sub.point, &publen), TR_ERR_OSSL);
    /* KDF parameters openpgp.js uses for Curve25519: SHA-256, AES-128 wrap. */
    k->sub.kdf_hash = PGP_HASH_SHA256;
    k->sub.kdf_sym = PGP_SYM_AES128;
    TR_TRY(pgp_keypkt_write_ecdh(&subk, k->created, &k->sub));
    TR_TRY(pgp_keypkt_fingerprint(tr_buf_slice(&subk), k->sub.fpr));

    struct tr_slice uid = tr_slice_of(name, name_len);
    TR_TRY(append_packet(&k->pub, PGP_TAG_PUBLIC_KEY, tr_buf_slice(&prim)));
    TR_TRY(append_packet(&k->pub, PGP_TAG_USER_ID, uid));
    TR_TRY(pgp_sig_make(k->sign, k->fpr, PGP_SIGTYPE_POSITIVE_CERT, k->created, tr_buf_slice(&prim),
                        uid, &k->pub));
    TR_TRY(append_packet(&k->pub, PGP_TAG_PUBLIC_SUBKEY, tr_buf_slice(&subk)));
    TR_TRY(pgp_sig_make(k->sign, k->fpr, PGP_SIGTYPE_SUBKEY_BINDING, k->created,
                        tr_buf_slice(&prim), tr_buf_slice(&subk), &k->pub));
out:
    tr_buf_free(&prim);
    tr_buf_free(&subk);
    return res;
}

static tr_result finish(struct pgp_key *k, const char *name, struct pgp_key **out)
{
    tr_buf_init(&k->pub, 64 * 1024);
    tr_result res = build(k, name);
    if (!tr_ok(res)) {
        pgp_key_free(k);
        return res;
    }
    *out = k;
    return TR_SUCCESS;
}

tr_result pgp_key_generate(const char *user_id_name, struct pgp_key **out)
{
    TR_ENSURE(user_id_name != NULL && out != NULL, TR_ERR_NULL_ARG);
    *out = NULL;
    TR_GUARD(tr_secmem_init(0));
    struct pgp_key *k = calloc(1, sizeof(*k));
    TR_ENSURE(k != NULL, TR_ERR_NOMEM);
    k->sign = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    k->enc = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    time_t now = time(NULL);
    k->created = now > 0 && (uint64_t)now <= UINT32_MAX ? (uint32_t)now : 0;
    if (!k->sign || !k->enc) {
        pgp_key_free(k);
        TR_BAIL(TR_ERR_OSSL);
    }
    return finish(k, user_id_name, out);
}

tr_result pgp_key_from_seed(const char *user_id_name, const uint8_t ed25519_seed[32],
                            const uint8_t x25519_seed[32], uint32_t created, struct pgp_key **out)
{
    TR_ENSURE(user_id_name && ed25519_seed && x25519_seed && out, TR_ERR_NULL_ARG);
    *out = NULL;
    TR_GUARD(tr_secmem_init(0));
    struct pgp_key *k = calloc(1, sizeof(*k));
    TR_ENSURE(k != NULL, TR_ERR_NOMEM);
    k->sign = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed25519_seed, 32);
    k->enc = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, x25519_seed, 32);
    k->created = created;
    if (!k->sign || !k->enc) {
        pgp_key_free(k);
        TR_BAIL(TR_ERR_OSSL);
    }
    return finish(k, user_id_name, out);
}

void pgp_key_free(struct pgp_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->sign);
    EVP_PKEY_free(key->enc);
    tr_buf_free(&key->pub);
    free(key);
}

tr_result pgp_key_armored_public(const struct pgp_key *key, struct tr_buf *out)
{
    TR_ENSURE(key != NULL && out != NULL, TR_ERR_NULL_ARG);
    return pgp_armor_encode("PUBLIC KEY BLOCK", key->pub.data, key->pub.len, out);
}

void pgp_key_fingerprint(const struct pgp_key *key, uint8_t out[20])
{
    memcpy(out, key->fpr, PGP_FPR_LEN);
}

struct tr_slice pgp_key_public_binary(const struct pgp_key *key)
{
    return tr_buf_slice(&key->pub);
}
