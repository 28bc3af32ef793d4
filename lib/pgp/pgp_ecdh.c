/* ECDH over Curve25519 for OpenPGP (RFC 9580 section 11.5): X25519, the
 * one-step KDF with the OpenPGP "Param" string, and RFC 3394 AES key wrap;
 * plus the HKDF key-wrap key of native X25519 recipients (section 5.1.6).
 *
 * Why hand-written: the KDF input layout is OpenPGP-specific; X25519, SHA-2
 * and AES key wrap are OpenSSL's.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include "pgp_internal.h"

static const EVP_MD *kdf_md(uint8_t id)
{
    switch (id) {
    case PGP_HASH_SHA256: return EVP_sha256();
    case PGP_HASH_SHA384: return EVP_sha384();
    case PGP_HASH_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

static const EVP_CIPHER *wrap_cipher(uint8_t sym)
{
    switch (sym) {
    case PGP_SYM_AES128: return EVP_aes_128_wrap();
    case PGP_SYM_AES192: return EVP_aes_192_wrap();
    case PGP_SYM_AES256: return EVP_aes_256_wrap();
    default: return NULL;
    }
}

tr_result pgp_ecdh_kek(const struct pgp_ecdh_pub *recipient, const uint8_t z[32], uint8_t *kek,
                       size_t *kek_len)
{
    const EVP_MD *md = kdf_md(recipient->kdf_hash);
    size_t klen = pgp_cipher_key_len(recipient->kdf_sym);
    TR_ENSURE(md != NULL && klen != 0, TR_ERR_PGP_UNSUPPORTED_KDF);
    uint8_t param[1 + sizeof(PGP_OID_CV25519_LEGACY) + 1 + 4 + 20 + PGP_FPR_LEN];
    size_t n = 0;
    param[n++] = sizeof(PGP_OID_CV25519_LEGACY);
    memcpy(param + n, PGP_OID_CV25519_LEGACY, sizeof(PGP_OID_CV25519_LEGACY));
    n += sizeof(PGP_OID_CV25519_LEGACY);
    param[n++] = PGP_PK_ECDH;
    param[n++] = 3;
    param[n++] = 1;
    param[n++] = recipient->kdf_hash;
    param[n++] = recipient->kdf_sym;
    memcpy(param + n, "Anonymous Sender    ", 20);
    n += 20;
    memcpy(param + n, recipient->fpr, PGP_FPR_LEN);
    n += PGP_FPR_LEN;

    tr_result res = TR_SUCCESS;
    uint8_t digest[EVP_MAX_MD_SIZE];
    static const uint8_t counter[4] = {0, 0, 0, 1};
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    TR_CHECK(c != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestInit_ex(c, md, NULL), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, counter, 4), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, z, 32), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, param, n), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestFinal_ex(c, digest, NULL), TR_ERR_OSSL);
    memcpy(kek, digest, klen);
    *kek_len = klen;
out:
    OPENSSL_cleanse(digest, sizeof(digest));
    EVP_MD_CTX_free(c);
    return res;
}

static tr_result wrap_op(int enc, uint8_t sym, const uint8_t *kek, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t *out_len, int32_t fail_code)
{
    const EVP_CIPHER *ciph = wrap_cipher(sym);
    TR_ENSURE(ciph != NULL, TR_ERR_PGP_UNSUPPORTED_KDF);
    TR_ENSURE(in_len <= 255 && in_len % 8 == 0 && in_len >= (enc ? 16u : 24u), fail_code);
    tr_result res = TR_SUCCESS;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    TR_CHECK(c != NULL, TR_ERR_NOMEM);
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int n1 = 0, n2 = 0;
    TR_CHECK_OSSL(EVP_CipherInit_ex(c, ciph, NULL, kek, NULL, enc), TR_ERR_OSSL);
    TR_CHECK(EVP_CipherUpdate(c, out, &n1, in, (int)in_len) == 1 && n1 > 0, fail_code);
    TR_CHECK(EVP_CipherFinal_ex(c, out + n1, &n2) == 1, fail_code);
    *out_len = (size_t)n1 + (size_t)n2;
out:
    EVP_CIPHER_CTX_free(c);
    return res;
}

tr_result pgp_ecdh_unwrap(uint8_t sym, const uint8_t *kek, const uint8_t *wrapped,
                          size_t wrapped_len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    return wrap_op(0, sym, kek, wrapped, wrapped_len, out, out_len, TR_ERR_PGP_BAD_SESSION_KEY);
}

tr_result pgp_ecdh_wrap(uint8_t sym, const uint8_t *kek, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    return wrap_op(1, sym, kek, in, in_len, out, out_len, TR_ERR_USAGE);
}

tr_result pgp_ecdh_derive(EVP_PKEY *priv, const uint8_t peer[32], uint8_t z[32])
{
    tr_result res = TR_SUCCESS;
    EVP_PKEY_CTX *c = NULL;
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    TR_CHECK(pk != NULL, TR_ERR_PGP_BAD_POINT);
    c = EVP_PKEY_CTX_new(priv, NULL);
    TR_CHECK(c != NULL, TR_ERR_NOMEM);
    size_t zlen = 32;
    TR_CHECK_OSSL(EVP_PKEY_derive_init(c), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_PKEY_derive_set_peer(c, pk), TR_ERR_PGP_BAD_POINT);
    /* OpenSSL refuses small-order points (all-zero shared secret). */
    TR_CHECK(EVP_PKEY_derive(c, z, &zlen) == 1 && zlen == 32, TR_ERR_PGP_BAD_POINT);
out:
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pk);
    return res;
}

tr_result pgp_x25519_kek(const uint8_t eph_pub[32], const uint8_t recipient_pub[32],
                         const uint8_t shared[32], uint8_t kek[16])
{
    static const char info[] = "OpenPGP X25519";
    uint8_t ikm[3 * PGP_X25519_LEN];
    memcpy(ikm, eph_pub, PGP_X25519_LEN);
    memcpy(ikm + PGP_X25519_LEN, recipient_pub, PGP_X25519_LEN);
    memcpy(ikm + 2 * PGP_X25519_LEN, shared, PGP_X25519_LEN);
    tr_result res = TR_SUCCESS;
    EVP_KDF_CTX *c = NULL;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    TR_CHECK(kdf != NULL, TR_ERR_OSSL);
    c = EVP_KDF_CTX_new(kdf);
    TR_CHECK(c != NULL, TR_ERR_NOMEM);
    /* No salt parameter: HKDF uses HashLen zero octets (RFC 5869 2.2). */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, sizeof(ikm)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof(info) - 1),
        OSSL_PARAM_construct_end(),
    };
    TR_CHECK_OSSL(EVP_KDF_derive(c, kek, 16, params), TR_ERR_OSSL);
out:
    OPENSSL_cleanse(ikm, sizeof(ikm));
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return res;
}
