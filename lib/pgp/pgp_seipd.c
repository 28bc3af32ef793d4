/* Symmetrically Encrypted and Integrity Protected Data (RFC 9580 5.13):
 * v1 (AES-CFB with the SHA-1 modification detection code) and v2 (chunked
 * AES-OCB/GCM with HKDF-SHA256-derived key and nonces and a final tag).
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

struct v2_ctx {
    EVP_CIPHER_CTX *c;
    uint8_t ad[5 + 8]; /* tag, version, cipher, aead, chunk octet [, total length] */
    uint8_t key_iv[32 + 16];
    size_t key_len, nonce_len;
    size_t chunk;
};

static tr_result v2_setup(struct v2_ctx *v, int enc, uint8_t sym, uint8_t aead, uint8_t co,
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

static void v2_free(struct v2_ctx *v)
{
    EVP_CIPHER_CTX_free(v->c);
    OPENSSL_cleanse(v->key_iv, sizeof(v->key_iv));
}

/* RFC 9580 5.13.2: a chunk's nonce is the HKDF-derived IV (nonce length
 * minus 8 octets) followed by the chunk index as a big-endian 64-bit value. */
static void chunk_nonce(const struct v2_ctx *v, uint64_t index, uint8_t nonce[16])
{
    size_t ivl = v->nonce_len - 8;
    memcpy(nonce, v->key_iv + v->key_len, ivl);
    for (int i = 0; i < 8; i++)
        nonce[ivl + (size_t)i] = (uint8_t)(index >> (56 - 8 * i));
}

/* Seals one chunk (or the final tag when ad_len is 13) with
 * nonce = IV || be64 index; the tag is written to `tag`. */
static tr_result v2_seal(struct v2_ctx *v, uint64_t index, size_t ad_len, const uint8_t *in,
                         size_t n, uint8_t *out, uint8_t tag[16])
{
    uint8_t nonce[16], none[BLOCK];
    chunk_nonce(v, index, nonce);
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

static void set_total(struct v2_ctx *v, uint64_t total)
{
    for (int i = 0; i < 8; i++)
        v->ad[5 + i] = (uint8_t)(total >> (56 - 8 * i));
}

/* Feeds n octets from the cursor through the cipher into dst; *written
 * is what the cipher emitted (OCB holds back a partial block until Final). */
static tr_result crypt_from(EVP_CIPHER_CTX *c, struct pgp_seg_cursor *cur, size_t n, uint8_t *dst,
                            size_t *written)
{
    *written = 0;
    while (n) {
        struct tr_slice p = pgp_seg_next(cur, n);
        TR_ENSURE(p.len > 0, TR_ERR_TRUNCATED);
        int outl = 0;
        /* EVP takes int lengths: pieces are cut at 1 GiB. */
        size_t step = p.len > ((size_t)1 << 30) ? ((size_t)1 << 30) : p.len;
        if (step < p.len) {
            cur->off -= p.len - step;
            cur->pos -= p.len - step;
        }
        TR_GUARD_OSSL(EVP_CipherUpdate(c, dst, &outl, p.ptr, (int)step), TR_ERR_OSSL);
        dst += outl;
        *written += (size_t)outl;
        n -= step;
    }
    return TR_SUCCESS;
}

/* One chunk from the cursor: nonce = IV || be64 index, AD = 5 octets. */
static tr_result v2_open(struct v2_ctx *v, uint64_t index, size_t ad_len,
                         struct pgp_seg_cursor *cur, size_t n, uint8_t *dst)
{
    uint8_t nonce[16], tag[16], none[BLOCK];
    chunk_nonce(v, index, nonce);
    int outl = 0;
    size_t done = 0;
    TR_GUARD_OSSL(EVP_DecryptInit_ex(v->c, NULL, NULL, NULL, nonce), TR_ERR_OSSL);
    TR_GUARD_OSSL(EVP_DecryptUpdate(v->c, NULL, &outl, v->ad, (int)ad_len), TR_ERR_OSSL);
    TR_GUARD(crypt_from(v->c, cur, n, dst, &done));
    TR_GUARD(pgp_seg_copy(cur, tag, 16));
    TR_GUARD_OSSL(EVP_CIPHER_CTX_ctrl(v->c, EVP_CTRL_AEAD_SET_TAG, 16, tag), TR_ERR_OSSL);
    TR_ENSURE(EVP_DecryptFinal_ex(v->c, dst ? dst + done : none, &outl) == 1,
              TR_ERR_PGP_BAD_AEAD_TAG);
    TR_ENSURE(done + (size_t)outl == n, TR_ERR_OSSL);
    return TR_SUCCESS;
}

static tr_result decrypt_v2(struct pgp_seg_cursor *cur, const struct pgp_session_key *sk,
                            struct tr_buf *out, struct tr_slice *out_data)
{
    /* The version octet has been read: cipher, AEAD mode, chunk size. */
    uint8_t hdr[V2_HDR_LEN - 1], salt[PGP_V2_SALT_LEN];
    TR_GUARD(pgp_seg_copy(cur, hdr, sizeof(hdr)));
    TR_GUARD(pgp_seg_copy(cur, salt, sizeof(salt)));
    TR_ENSURE(sk->version == 6, TR_ERR_PGP_VERSION_MISMATCH);
    struct v2_ctx v = {0};
    tr_result res = TR_SUCCESS;
    TR_TRY(v2_setup(&v, 0, hdr[0], hdr[1], hdr[2], salt, sk->key, sk->len));
    size_t area = cur->s->total - cur->pos;
    /* At least one chunk (possibly empty) and the final tag. */
    TR_CHECK(area >= 2 * PGP_AEAD_TAG_LEN, TR_ERR_TRUNCATED);
    area -= PGP_AEAD_TAG_LEN;
    size_t piece = v.chunk + PGP_AEAD_TAG_LEN;
    size_t n = area / piece + (area % piece ? 1 : 0);
    size_t last = area - (n - 1) * piece;
    /* Only a lone chunk may be empty (an empty message). */
    TR_CHECK(last > PGP_AEAD_TAG_LEN || (n == 1 && last == PGP_AEAD_TAG_LEN),
             TR_ERR_PGP_BAD_CHUNK_SIZE);
    size_t total = area - n * PGP_AEAD_TAG_LEN;
    uint8_t *dst;
    TR_TRY(tr_buf_extend(out, total, &dst));
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = (i + 1 < n ? piece : last) - PGP_AEAD_TAG_LEN;
        TR_TRY(v2_open(&v, i, 5, cur, len, dst + off));
        off += len;
    }
    set_total(&v, total);
    TR_TRY(v2_open(&v, n, 13, cur, 0, NULL));
    *out_data = tr_slice_of(dst, total);
out:
    v2_free(&v);
    return res;
}

/* SEIPD v1: CFB with a zero IV over prefix || data || MDC packet. */
static tr_result decrypt_v1(struct pgp_seg_cursor *cur, const struct pgp_session_key *sk,
                            struct tr_buf *out, struct tr_slice *out_data)
{
    TR_ENSURE(sk->version == 3, TR_ERR_PGP_VERSION_MISMATCH);
    const EVP_CIPHER *ciph = pgp_cipher_cfb(sk->sym);
    TR_ENSURE(ciph != NULL, TR_ERR_PGP_UNSUPPORTED_CIPHER);
    size_t n = cur->s->total - cur->pos;
    TR_ENSURE(n >= BLOCK + 2 + 22, TR_ERR_TRUNCATED);
    tr_result res = TR_SUCCESS;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    TR_CHECK(c != NULL && h != NULL, TR_ERR_NOMEM);
    uint8_t *pt;
    TR_TRY(tr_buf_extend(out, n, &pt));
    static const uint8_t zero_iv[BLOCK] = {0};
    int fin = 0;
    size_t done = 0;
    TR_CHECK_OSSL(EVP_DecryptInit_ex(c, ciph, NULL, sk->key, zero_iv), TR_ERR_OSSL);
    TR_TRY(crypt_from(c, cur, n, pt, &done));
    TR_CHECK_OSSL(EVP_DecryptFinal_ex(c, pt + done, &fin), TR_ERR_OSSL);
    TR_CHECK(done + (size_t)fin == n, TR_ERR_OSSL);
    /* MDC = SHA-1(prefix || data || 0xD3 0x14), compared in constant time
     * together with the MDC packet header; the quick-check octets of the
     * prefix are deliberately ignored (no decryption oracle). */
    uint8_t md[20];
    TR_CHECK_OSSL(EVP_DigestInit_ex(h, EVP_sha1(), NULL), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(h, pt, n - 20), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestFinal_ex(h, md, NULL), TR_ERR_OSSL);
    int diff = CRYPTO_memcmp(md, pt + n - 20, 20);
    diff |= (pt[n - 22] ^ 0xD3) | (pt[n - 21] ^ 0x14);
    TR_CHECK(diff == 0, TR_ERR_PGP_BAD_MDC);
    *out_data = tr_slice_of(pt + BLOCK + 2, n - BLOCK - 2 - 22);
out:
    EVP_CIPHER_CTX_free(c);
    EVP_MD_CTX_free(h);
    return res;
}

tr_result pgp_seipd_decrypt_segs(const struct pgp_segs *body, const struct pgp_session_key *sk,
                                 struct tr_buf *out, struct tr_slice *out_data)
{
    struct pgp_seg_cursor cur;
    uint8_t version;
    *out_data = tr_slice_of(NULL, 0);
    pgp_seg_cursor_init(&cur, body);
    TR_GUARD(pgp_seg_copy(&cur, &version, 1));
    tr_result res;
    if (version == 1)
        res = decrypt_v1(&cur, sk, out, out_data);
    else if (version == 2)
        res = decrypt_v2(&cur, sk, out, out_data);
    else
        res = tr_fail_at(TR_ERR_PGP_UNSUPPORTED_VERSION, __FILE__, __LINE__);
    if (!tr_ok(res)) {
        tr_buf_clear(out);
        *out_data = tr_slice_of(NULL, 0);
    }
    return res;
}

tr_result pgp_seipd_decrypt(struct tr_slice body, const struct pgp_session_key *sk,
                            struct tr_buf *out, struct tr_slice *out_data)
{
    struct tr_slice one = body;
    struct pgp_segs segs = {.v = &one, .n = 1, .cap = 1, .total = body.len};
    return pgp_seipd_decrypt_segs(&segs, sk, out, out_data);
}

tr_result pgp_seipd_encrypt_v2(const uint8_t *sk, size_t sk_len, uint8_t chunk_octet,
                               struct tr_slice inner, struct tr_buf *out)
{
    uint8_t salt[PGP_V2_SALT_LEN];
    TR_GUARD_OSSL(RAND_bytes(salt, sizeof(salt)), TR_ERR_RANDOM);
    struct v2_ctx v = {0};
    size_t start = out->len;
    tr_result res = TR_SUCCESS;
    TR_TRY(v2_setup(&v, 1, PGP_SYM_AES256, PGP_AEAD_OCB, chunk_octet, salt, sk, sk_len));
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
    set_total(&v, inner.len);
    TR_TRY(v2_seal(&v, n, 13, NULL, 0, NULL, dst));
out:
    v2_free(&v);
    if (!tr_ok(res)) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
    }
    return res;
}
