/* Symmetrically Encrypted and Integrity Protected Data (RFC 9580 5.13):
 * v1 (AES-CFB with the SHA-1 modification detection code) and v2 (chunked
 * AES-OCB/GCM with HKDF-SHA256-derived key and nonces and a final tag).
 * This file: the v2 key schedule, encryption, and decryption of a whole
 * body; decryption itself is incremental (pgp_seipd_open.c).
 *
 * Why hand-written: the packet layout, the chunking and the nonce/AD rules
 * are OpenPGP's; AES-CFB/OCB/GCM, HKDF and SHA-1 are OpenSSL's.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "pgp_internal.h"

#define V2_HDR_LEN 4 /* version, cipher, aead, chunk size octet */
#define MAX_CHUNK_OCTET 16
#define BLOCK 16

tr_result pgp_seipd_version(struct tr_slice body, uint8_t *out_version)
{
    struct tr_reader r;
    tr_reader_init(&r, body.ptr, body.len);
    TR_GUARD(tr_read_u8(&r, out_version));
    TR_ENSURE(*out_version == 1 || *out_version == 2, TR_ERR_PGP_UNSUPPORTED_VERSION);
    return TR_SUCCESS;
}

static tr_result hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                             const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    tr_result res = TR_SUCCESS;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    TR_CHECK(c != NULL, TR_ERR_OSSL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, PGP_V2_SALT_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
        OSSL_PARAM_construct_end(),
    };
    TR_CHECK(EVP_KDF_derive(c, out, out_len, params) == 1, TR_ERR_OSSL);
out:
    EVP_KDF_CTX_free(c);
    EVP_KDF_free(kdf);
    return res;
}

tr_result pgp_v2_setup(struct pgp_v2 *v, int enc, uint8_t sym, uint8_t aead, uint8_t co,
                       const uint8_t salt[PGP_V2_SALT_LEN], const uint8_t *sk, size_t sk_len)
{
    const EVP_CIPHER *ciph = pgp_cipher_aead(sym, aead);
    TR_ENSURE(pgp_cipher_key_len(sym) != 0, TR_ERR_PGP_UNSUPPORTED_CIPHER);
    TR_ENSURE(ciph != NULL, TR_ERR_PGP_UNSUPPORTED_AEAD);
    TR_ENSURE(co <= MAX_CHUNK_OCTET, TR_ERR_PGP_BAD_CHUNK_SIZE);
    v->key_len = pgp_cipher_key_len(sym);
    v->nonce_len = pgp_aead_nonce_len(aead);
    /* A v6 PKESK carries no cipher octet: the key length must fit this one. */
    TR_ENSURE(sk_len == v->key_len, TR_ERR_PGP_BAD_SESSION_KEY);
    v->chunk = (size_t)1 << (co + 6);
    uint8_t info[5] = {0xC0 | PGP_TAG_SEIPD, 2, sym, aead, co};
    memcpy(v->ad, info, 5);
    TR_GUARD(hkdf_sha256(sk, sk_len, salt, info, 5, v->key_iv, v->key_len + v->nonce_len - 8));
    v->c = EVP_CIPHER_CTX_new();
    TR_ENSURE(v->c != NULL, TR_ERR_NOMEM);
    TR_GUARD_OSSL(EVP_CipherInit_ex(v->c, ciph, NULL, NULL, NULL, enc), TR_ERR_OSSL);
    TR_GUARD_OSSL(EVP_CIPHER_CTX_ctrl(v->c, EVP_CTRL_AEAD_SET_IVLEN, (int)v->nonce_len, NULL),
                  TR_ERR_OSSL);
    TR_GUARD_OSSL(EVP_CipherInit_ex(v->c, NULL, NULL, v->key_iv, NULL, enc), TR_ERR_OSSL);
    return TR_SUCCESS;
}

void pgp_v2_free(struct pgp_v2 *v)
{
    EVP_CIPHER_CTX_free(v->c);
    v->c = NULL;
    OPENSSL_cleanse(v->key_iv, sizeof(v->key_iv));
}

/* RFC 9580 5.13.2: a chunk's nonce is the HKDF-derived IV (nonce length
 * minus 8 octets) followed by the chunk index as a big-endian 64-bit value. */
void pgp_v2_nonce(const struct pgp_v2 *v, uint64_t index, uint8_t nonce[16])
{
    size_t ivl = v->nonce_len - 8;
    memcpy(nonce, v->key_iv + v->key_len, ivl);
    for (int i = 0; i < 8; i++)
        nonce[ivl + (size_t)i] = (uint8_t)(index >> (56 - 8 * i));
}

/* Seals one chunk (or the final tag when ad_len is 13) with
 * nonce = IV || be64 index; the tag is written to `tag`. */
static tr_result v2_seal(struct pgp_v2 *v, uint64_t index, size_t ad_len, const uint8_t *in,
                         size_t n, uint8_t *out, uint8_t tag[16])
{
    uint8_t nonce[16], none[BLOCK];
    pgp_v2_nonce(v, index, nonce);
    int outl = 0;
    size_t done = 0;
    TR_GUARD_OSSL(EVP_EncryptInit_ex(v->c, NULL, NULL, NULL, nonce), TR_ERR_OSSL);
    TR_GUARD_OSSL(EVP_EncryptUpdate(v->c, NULL, &outl, v->ad, (int)ad_len), TR_ERR_OSSL);
    /* EVP takes int lengths; chunks are at most 4 MiB. */
    if (n) {
        TR_GUARD_OSSL(EVP_EncryptUpdate(v->c, out, &outl, in, (int)n), TR_ERR_OSSL);
        done = (size_t)outl;
    }
    TR_GUARD_OSSL(EVP_EncryptFinal_ex(v->c, out ? out + done : none, &outl), TR_ERR_OSSL);
    TR_ENSURE(done + (size_t)outl == n, TR_ERR_OSSL);
    TR_GUARD_OSSL(EVP_CIPHER_CTX_ctrl(v->c, EVP_CTRL_AEAD_GET_TAG, 16, tag), TR_ERR_OSSL);
    return TR_SUCCESS;
}

void pgp_v2_set_total(struct pgp_v2 *v, uint64_t total)
{
    for (int i = 0; i < 8; i++)
        v->ad[5 + i] = (uint8_t)(total >> (56 - 8 * i));
}

tr_result pgp_seipd_decrypt(struct tr_slice body, const struct pgp_session_key *sk,
                            struct tr_buf *out, struct tr_slice *out_data)
{
    *out_data = tr_slice_of(NULL, 0);
    uint8_t version;
    TR_GUARD(pgp_seipd_version(body, &version));
    struct pgp_plain plain;
    struct pgp_seipd_dec d;
    size_t start = out->len;
    pgp_plain_init(&plain, out, SIZE_MAX, body.len, 1);
    tr_result res = pgp_seipd_dec_begin(&d, version, sk, &plain);
    if (tr_ok(res))
        res = pgp_seipd_dec_update(&d, body.ptr + 1, body.len - 1);
    if (tr_ok(res))
        res = pgp_seipd_dec_final(&d);
    if (tr_ok(res))
        res = pgp_plain_final(&plain);
    pgp_seipd_dec_free(&d);
    if (!tr_ok(res))
        pgp_plain_abort(&plain);
    else
        *out_data = tr_slice_of(out->data ? out->data + start : NULL, out->len - start);
    pgp_plain_free(&plain);
    return res;
}

tr_result pgp_seipd_encrypt_v2(const uint8_t *sk, size_t sk_len, uint8_t chunk_octet,
                               struct tr_slice inner, struct tr_buf *out)
{
    uint8_t salt[PGP_V2_SALT_LEN];
    TR_GUARD_OSSL(RAND_bytes(salt, sizeof(salt)), TR_ERR_RANDOM);
    struct pgp_v2 v = {0};
    size_t start = out->len;
    tr_result res = TR_SUCCESS;
    TR_TRY(pgp_v2_setup(&v, 1, PGP_SYM_AES256, PGP_AEAD_OCB, chunk_octet, salt, sk, sk_len));
    size_t n = inner.len / v.chunk + (inner.len % v.chunk ? 1 : 0);
    if (n == 0)
        n = 1; /* an empty message is one empty chunk */
    TR_CHECK(inner.len <= SIZE_MAX / 2 && n <= (SIZE_MAX / 4) / PGP_AEAD_TAG_LEN, TR_ERR_OVERFLOW);
    size_t body_len = V2_HDR_LEN + PGP_V2_SALT_LEN + inner.len + (n + 1) * PGP_AEAD_TAG_LEN;
    TR_TRY(pgp_packet_write_header(out, PGP_TAG_SEIPD, body_len));
    uint8_t hdr[V2_HDR_LEN] = {2, PGP_SYM_AES256, PGP_AEAD_OCB, chunk_octet};
    TR_TRY(tr_buf_append(out, hdr, sizeof(hdr)));
    TR_TRY(tr_buf_append(out, salt, sizeof(salt)));
    uint8_t *dst;
    TR_TRY(tr_buf_extend(out, inner.len + (n + 1) * PGP_AEAD_TAG_LEN, &dst));
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = inner.len - off < v.chunk ? inner.len - off : v.chunk;
        TR_TRY(v2_seal(&v, i, 5, inner.ptr + off, len, dst, dst + len));
        dst += len + PGP_AEAD_TAG_LEN;
        off += len;
    }
    pgp_v2_set_total(&v, inner.len);
    TR_TRY(v2_seal(&v, n, 13, NULL, 0, NULL, dst));
out:
    pgp_v2_free(&v);
    if (!tr_ok(res)) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
    }
    return res;
}
