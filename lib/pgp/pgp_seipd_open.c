/* SEIPD decryption as the body arrives (RFC 9580 5.13), for a body fed in
 * pieces of any size (pgp_stream_*) or in one piece (pgp_decrypt): the same
 * code either way.
 *
 * v2: a chunk is opened as soon as its data, its tag and 16 octets more are
 * here (only then can it not be the last chunk); of the current
 * chunk, everything but the last 32 octets (which may turn out to be its
 * tag and the final tag) is decrypted as it comes, in whole 16-octet blocks
 * so that OpenSSL's OCB returns exactly what it was given. v1: everything
 * but the last 22 octets (the MDC packet) is decrypted and hashed as it
 * comes. Plaintext goes straight to its place in the caller's buffer when
 * pgp_plain says where (the literal data body), else through a small
 * scratch buffer. At most 47 octets of ciphertext are held between calls.
 *
 * The layout checks and their error codes are those of a whole-body
 * decryption: TRUNCATED below a chunk tag and the final tag, BAD_CHUNK_SIZE
 * for an empty chunk after full ones, BAD_AEAD_TAG for any tag, BAD_MDC.
 *
 * Why hand-written: the chunking and the nonce/AD rules are OpenPGP's; the
 * ciphers, HKDF and SHA-1 are OpenSSL's.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "pgp_internal.h"

#define BLOCK 16
#define V1_PREFIX (BLOCK + 2)          /* random prefix and its two check octets */
#define V1_MDC 22                      /* 0xD3 0x14 and SHA-1 */
#define V2_TAIL (2 * PGP_AEAD_TAG_LEN) /* a chunk tag and the final tag */
#define MAX_UPDATE ((size_t)1 << 30)   /* EVP takes int lengths */
#define ROUND_BLOCK(n) ((n) & ~(size_t)(BLOCK - 1))

tr_result pgp_seipd_dec_begin(struct pgp_seipd_dec *d, uint8_t version,
                              const struct pgp_session_key *sk, struct pgp_plain *plain)
{
    memset(d, 0, sizeof(*d));
    d->plain = plain;
    d->version = version;
    d->sk = *sk;
    TR_ENSURE(version == 1 || version == 2, TR_ERR_PGP_UNSUPPORTED_VERSION);
    if (version == 2)
        return TR_SUCCESS; /* the header comes first (v2_header) */
    TR_ENSURE(sk->version == 3, TR_ERR_PGP_VERSION_MISMATCH);
    const EVP_CIPHER *ciph = pgp_cipher_cfb(sk->sym);
    TR_ENSURE(ciph != NULL, TR_ERR_PGP_UNSUPPORTED_CIPHER);
    d->c = EVP_CIPHER_CTX_new();
    d->mdc = EVP_MD_CTX_new();
    TR_ENSURE(d->c != NULL && d->mdc != NULL, TR_ERR_NOMEM);
    static const uint8_t zero_iv[BLOCK] = {0};
    TR_GUARD_OSSL(EVP_DecryptInit_ex(d->c, ciph, NULL, sk->key, zero_iv), TR_ERR_OSSL);
    TR_GUARD_OSSL(EVP_DigestInit_ex(d->mdc, EVP_sha1(), NULL), TR_ERR_OSSL);
    d->prefix_left = V1_PREFIX;
    return TR_SUCCESS;
}

void pgp_seipd_dec_free(struct pgp_seipd_dec *d)
{
    EVP_CIPHER_CTX_free(d->c);
    EVP_MD_CTX_free(d->mdc);
    d->c = NULL;
    d->mdc = NULL;
    pgp_v2_free(&d->v2);
    OPENSSL_cleanse(&d->sk, sizeof(d->sk));
    OPENSSL_cleanse(d->scratch, sizeof(d->scratch));
    OPENSSL_cleanse(d->hold, sizeof(d->hold));
}

/* One EVP update: n is whole blocks, or any length for CFB and GCM, so the
 * output is exactly n octets. v1 hashes its plaintext for the MDC. */
static tr_result cipher(struct pgp_seipd_dec *d, const uint8_t *src, size_t n, uint8_t *dst)
{
    int outl = 0;
    EVP_CIPHER_CTX *c = d->version == 1 ? d->c : d->v2.c;
    TR_GUARD_OSSL(EVP_DecryptUpdate(c, dst, &outl, src, (int)n), TR_ERR_OSSL);
    TR_ENSURE((size_t)outl == n, TR_ERR_OSSL);
    if (d->version == 1)
        TR_GUARD_OSSL(EVP_DigestUpdate(d->mdc, dst, n), TR_ERR_OSSL);
    return TR_SUCCESS;
}

/* Decrypts n octets of ciphertext to where pgp_plain wants them: straight
 * into the caller's buffer when it can take whole blocks, else through the
 * scratch buffer. */
static tr_result crypt(struct pgp_seipd_dec *d, const uint8_t *src, size_t n)
{
    while (n) {
        size_t k;
        if (d->prefix_left) { /* v1: hashed, never plaintext */
            k = n < d->prefix_left ? n : d->prefix_left;
            TR_GUARD(cipher(d, src, k, d->scratch));
            d->prefix_left -= k;
        } else {
            size_t room;
            uint8_t *dst = pgp_plain_direct(d->plain, n, &room);
            if (room >= n || room >= BLOCK) {
                k = room >= n ? n : ROUND_BLOCK(room);
                if (k > MAX_UPDATE)
                    k = MAX_UPDATE;
                TR_GUARD(cipher(d, src, k, dst));
                pgp_plain_wrote(d->plain, k);
            } else {
                k = pgp_plain_run(d->plain);
                k = k < BLOCK ? BLOCK : k > sizeof(d->scratch) ? sizeof(d->scratch) : k;
                k = k >= n ? n : ROUND_BLOCK(k);
                TR_GUARD(cipher(d, src, k, d->scratch));
                pgp_plain_put(d->plain, d->scratch, k);
            }
        }
        src += k;
        n -= k;
    }
    return TR_SUCCESS;
}

/* Decrypts k octets: the held ones first, then from *src. For v2 k is whole
 * blocks; a held block is completed from *src so every update stays whole
 * blocks. */
static tr_result take(struct pgp_seipd_dec *d, const uint8_t **src, size_t *n, size_t k)
{
    if (k == 0)
        return TR_SUCCESS;
    if (d->hold_n) {
        if (d->hold_n >= k) {
            TR_GUARD(crypt(d, d->hold, k));
            memmove(d->hold, d->hold + k, d->hold_n - k);
            d->hold_n -= k;
            return TR_SUCCESS;
        }
        size_t fill = d->version == 2 ? (BLOCK - d->hold_n % BLOCK) % BLOCK : 0;
        memcpy(d->hold + d->hold_n, *src, fill);
        *src += fill;
        *n -= fill;
        d->hold_n += fill;
        TR_GUARD(crypt(d, d->hold, d->hold_n));
        k -= d->hold_n;
        d->hold_n = 0;
    }
    TR_GUARD(crypt(d, *src, k));
    *src += k;
    *n -= k;
    return TR_SUCCESS;
}

/* Copies k octets (a tag): the held ones first, then from *src. */
static void take_raw(struct pgp_seipd_dec *d, const uint8_t **src, size_t *n, uint8_t *dst,
                     size_t k)
{
    size_t h = d->hold_n < k ? d->hold_n : k;
    memcpy(dst, d->hold, h);
    memmove(d->hold, d->hold + h, d->hold_n - h);
    d->hold_n -= h;
    memcpy(dst + h, *src, k - h);
    *src += k - h;
    *n -= k - h;
}

static void hold_rest(struct pgp_seipd_dec *d, const uint8_t *src, size_t n)
{
    memcpy(d->hold + d->hold_n, src, n); /* callers keep hold_n + n <= 47 */
    d->hold_n += n;
}

/* Nonce = IV || be64 index, AD = the first 5 (chunks) or 13 (final) octets. */
static tr_result chunk_begin(struct pgp_seipd_dec *d, size_t ad_len)
{
    uint8_t nonce[16];
    int outl = 0;
    pgp_v2_nonce(&d->v2, d->index, nonce);
    TR_GUARD_OSSL(EVP_DecryptInit_ex(d->v2.c, NULL, NULL, NULL, nonce), TR_ERR_OSSL);
    TR_GUARD_OSSL(EVP_DecryptUpdate(d->v2.c, NULL, &outl, d->v2.ad, (int)ad_len), TR_ERR_OSSL);
    return TR_SUCCESS;
}

/* Checks the tag of what was decrypted since chunk_begin; out takes the
 * last partial block OCB held back (NULL when there can be none). */
static tr_result chunk_check(struct pgp_seipd_dec *d, const uint8_t tag[16], uint8_t *out,
                             int *outl)
{
    uint8_t none[BLOCK];
    *outl = 0;
    TR_GUARD_OSSL(EVP_CIPHER_CTX_ctrl(d->v2.c, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag),
                  TR_ERR_OSSL);
    TR_ENSURE(EVP_DecryptFinal_ex(d->v2.c, out ? out : none, outl) == 1, TR_ERR_PGP_BAD_AEAD_TAG);
    return TR_SUCCESS;
}

static tr_result v2_header(struct pgp_seipd_dec *d, const uint8_t **p, size_t *n)
{
    size_t k = sizeof(d->hdr) - d->hdr_n;
    k = *n < k ? *n : k;
    memcpy(d->hdr + d->hdr_n, *p, k);
    d->hdr_n += k;
    *p += k;
    *n -= k;
    if (d->hdr_n < sizeof(d->hdr))
        return TR_SUCCESS;
    TR_ENSURE(d->sk.version == 6, TR_ERR_PGP_VERSION_MISMATCH);
    TR_GUARD(
        pgp_v2_setup(&d->v2, 0, d->hdr[0], d->hdr[1], d->hdr[2], d->hdr + 3, d->sk.key, d->sk.len));
    d->ready = 1;
    return chunk_begin(d, 5);
}

static tr_result v2_feed(struct pgp_seipd_dec *d, const uint8_t *src, size_t n)
{
    for (;;) {
        size_t left = d->v2.chunk - d->chunk_pos, avail = d->hold_n + n;
        /* A whole chunk and its tag, and 16 more octets: so it cannot be
         * the last, shorter chunk followed by its tag and the final tag. */
        if (avail >= left + V2_TAIL) {
            uint8_t tag[PGP_AEAD_TAG_LEN];
            int outl;
            TR_GUARD(take(d, &src, &n, left));
            take_raw(d, &src, &n, tag, sizeof(tag));
            TR_GUARD(chunk_check(d, tag, NULL, &outl));
            d->total += d->v2.chunk;
            d->index++;
            d->chunk_pos = 0;
            TR_GUARD(chunk_begin(d, 5));
            continue;
        }
        size_t can = avail > V2_TAIL ? ROUND_BLOCK(avail - V2_TAIL) : 0;
        TR_GUARD(take(d, &src, &n, can));
        d->chunk_pos += can;
        hold_rest(d, src, n);
        return TR_SUCCESS;
    }
}

/* After the last chunk (or the only one): index chunks with `total`
 * octets of plaintext; the final tag's AD carries that length. */
static tr_result v2_final(struct pgp_seipd_dec *d)
{
    TR_ENSURE(d->ready, TR_ERR_TRUNCATED);
    size_t r = d->chunk_pos + d->hold_n; /* octets of the chunk after the opened ones */
    if (d->index == 0) {
        TR_ENSURE(r >= V2_TAIL, TR_ERR_TRUNCATED);
    } else {
        /* Read as a whole body, 17..32 octets after full chunks leave an
         * empty last chunk; fewer than 16 (not possible here: a chunk is
         * opened only with 16 octets after it) would misplace its tag. */
        TR_ENSURE(r >= PGP_AEAD_TAG_LEN, TR_ERR_PGP_BAD_AEAD_TAG);
        TR_ENSURE(r == PGP_AEAD_TAG_LEN || r > V2_TAIL, TR_ERR_PGP_BAD_CHUNK_SIZE);
    }
    if (d->index == 0 || r > PGP_AEAD_TAG_LEN) { /* the last chunk: its rest and its tag */
        size_t rest = d->hold_n - V2_TAIL;
        int o1 = 0, o2 = 0;
        if (rest)
            TR_GUARD_OSSL(EVP_DecryptUpdate(d->v2.c, d->scratch, &o1, d->hold, (int)rest),
                          TR_ERR_OSSL);
        TR_GUARD(chunk_check(d, d->hold + rest, d->scratch + o1, &o2));
        TR_ENSURE((size_t)(o1 + o2) == rest, TR_ERR_OSSL);
        pgp_plain_put(d->plain, d->scratch, rest);
        d->total += d->chunk_pos + rest;
        d->index++;
    }
    int outl;
    pgp_v2_set_total(&d->v2, d->total);
    TR_GUARD(chunk_begin(d, 13));
    return chunk_check(d, d->hold + d->hold_n - PGP_AEAD_TAG_LEN, NULL, &outl);
}

/* MDC = SHA-1(prefix || data || 0xD3 0x14), compared in constant time
 * together with the MDC packet header; the quick-check octets of the prefix
 * are deliberately ignored (no decryption oracle). */
static tr_result v1_final(struct pgp_seipd_dec *d)
{
    TR_ENSURE(d->body >= V1_PREFIX + V1_MDC, TR_ERR_TRUNCATED);
    uint8_t mdc[V1_MDC + BLOCK], md[20];
    int o1 = 0, o2 = 0;
    tr_result res = TR_SUCCESS;
    TR_CHECK_OSSL(EVP_DecryptUpdate(d->c, mdc, &o1, d->hold, V1_MDC), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DecryptFinal_ex(d->c, mdc + o1, &o2), TR_ERR_OSSL);
    TR_CHECK(o1 + o2 == V1_MDC, TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(d->mdc, mdc, 2), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestFinal_ex(d->mdc, md, NULL), TR_ERR_OSSL);
    int diff = CRYPTO_memcmp(md, mdc + 2, 20);
    diff |= (mdc[0] ^ 0xD3) | (mdc[1] ^ 0x14);
    TR_CHECK(diff == 0, TR_ERR_PGP_BAD_MDC);
out:
    OPENSSL_cleanse(mdc, sizeof(mdc));
    return res;
}

tr_result pgp_seipd_dec_update(struct pgp_seipd_dec *d, const uint8_t *p, size_t n)
{
    d->body += n;
    if (d->version == 1) {
        size_t avail = d->hold_n + n;
        TR_GUARD(take(d, &p, &n, avail > V1_MDC ? avail - V1_MDC : 0));
        hold_rest(d, p, n);
        return TR_SUCCESS;
    }
    if (!d->ready) {
        TR_GUARD(v2_header(d, &p, &n));
        if (!d->ready)
            return TR_SUCCESS;
    }
    return v2_feed(d, p, n);
}

tr_result pgp_seipd_dec_final(struct pgp_seipd_dec *d)
{
    return d->version == 1 ? v1_final(d) : v2_final(d);
}
