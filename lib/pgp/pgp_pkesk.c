/* Public-Key Encrypted Session Key packets, v3 and v6 (RFC 9580 5.1), for a
 * Curve25519 ECDH (algorithm 18) recipient; written (client side) also for a
 * native X25519 (algorithm 25) recipient (5.1.6).
 *
 * Why hand-written: PKESK is OpenPGP framing (see include/teerex/pgp.h);
 * X25519, the KDF hash and AES key wrap come from OpenSSL via pgp_ecdh.c.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "pgp_internal.h"

#define MAX_WRAPPED 255

struct pkesk_hdr {
    uint8_t version;
    uint8_t algo;
    int for_us;
};

static tr_result read_hdr(struct tr_reader *r, const uint8_t sub_fpr[PGP_FPR_LEN],
                          struct pkesk_hdr *h)
{
    memset(h, 0, sizeof(*h));
    TR_GUARD(tr_read_u8(r, &h->version));
    if (h->version == 3) {
        uint8_t keyid[8];
        static const uint8_t wildcard[8] = {0};
        TR_GUARD(tr_read_bytes(r, 8, keyid));
        TR_GUARD(tr_read_u8(r, &h->algo));
        h->for_us = memcmp(keyid, sub_fpr + 12, 8) == 0 || memcmp(keyid, wildcard, 8) == 0;
    } else if (h->version == 6) {
        uint8_t n;
        TR_GUARD(tr_read_u8(r, &n));
        struct tr_slice who;
        TR_GUARD(tr_read_slice(r, n, &who));
        TR_GUARD(tr_read_u8(r, &h->algo));
        /* Empty: anonymous recipient; else key version + fingerprint. */
        h->for_us = n == 0 || (n == 1 + PGP_FPR_LEN && who.ptr[0] == 4 &&
                               memcmp(who.ptr + 1, sub_fpr, PGP_FPR_LEN) == 0);
    } else {
        TR_BAIL(TR_ERR_PGP_UNSUPPORTED_VERSION);
    }
    h->for_us = h->for_us && h->algo == PGP_PK_ECDH;
    return TR_SUCCESS;
}

tr_result pgp_pkesk_addressed(struct tr_slice body, const uint8_t sub_fpr[PGP_FPR_LEN],
                              uint8_t *out_version, int *out_for_us)
{
    struct tr_reader r;
    struct pkesk_hdr h;
    tr_reader_init(&r, body.ptr, body.len);
    *out_version = 0;
    *out_for_us = 0;
    TR_GUARD(read_hdr(&r, sub_fpr, &h));
    *out_version = h.version;
    *out_for_us = h.for_us;
    return TR_SUCCESS;
}

static uint16_t checksum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return (uint16_t)s;
}

/* m = [sym] || key || be16 checksum || PKCS#5 padding (RFC 9580 5.1.6, 11.5). */
static tr_result decode_m(uint8_t version, const uint8_t *m, size_t mlen,
                          struct pgp_session_key *out)
{
    TR_ENSURE(mlen >= 8, TR_ERR_PGP_BAD_SESSION_KEY);
    uint8_t pad = m[mlen - 1];
    TR_ENSURE(pad >= 1 && pad <= 8, TR_ERR_PGP_BAD_SESSION_KEY);
    for (size_t i = mlen - pad; i < mlen; i++)
        TR_ENSURE(m[i] == pad, TR_ERR_PGP_BAD_SESSION_KEY);
    size_t n = mlen - pad, off = 0;
    out->version = version;
    out->sym = 0;
    if (version == 3) {
        TR_ENSURE(n >= 1, TR_ERR_PGP_BAD_SESSION_KEY);
        out->sym = m[0];
        off = 1;
        TR_ENSURE(pgp_cipher_key_len(out->sym) != 0, TR_ERR_PGP_UNSUPPORTED_CIPHER);
        TR_ENSURE(n == 1 + pgp_cipher_key_len(out->sym) + 2, TR_ERR_PGP_BAD_SESSION_KEY);
    }
    TR_ENSURE(n >= off + 2, TR_ERR_PGP_BAD_SESSION_KEY);
    size_t klen = n - off - 2;
    TR_ENSURE(klen == 16 || klen == 24 || klen == 32, TR_ERR_PGP_BAD_SESSION_KEY);
    uint16_t want = (uint16_t)(m[n - 2] << 8 | m[n - 1]);
    TR_ENSURE(checksum(m + off, klen) == want, TR_ERR_PGP_BAD_SESSION_KEY);
    memcpy(out->key, m + off, klen);
    out->len = (uint8_t)klen;
    return TR_SUCCESS;
}

tr_result pgp_pkesk_decrypt(struct tr_slice body, EVP_PKEY *x25519, const struct pgp_ecdh_pub *ours,
                            struct pgp_session_key *out)
{
    memset(out, 0, sizeof(*out));
    struct tr_reader r;
    struct pkesk_hdr h;
    tr_reader_init(&r, body.ptr, body.len);
    TR_GUARD(read_hdr(&r, ours->fpr, &h));
    TR_ENSURE(h.for_us, TR_ERR_PGP_NOT_FOR_US);
    uint8_t eph[PGP_X25519_LEN], wlen;
    TR_GUARD(pgp_point_read(&r, eph));
    TR_GUARD(tr_read_u8(&r, &wlen));
    struct tr_slice wrapped;
    TR_GUARD(tr_read_slice(&r, wlen, &wrapped));
    TR_GUARD(tr_reader_expect_end(&r));

    tr_result res = TR_SUCCESS;
    uint8_t z[32], kek[32], m[MAX_WRAPPED];
    size_t kek_len = 0, mlen = 0;
    TR_TRY(pgp_ecdh_derive(x25519, eph, z));
    TR_TRY(pgp_ecdh_kek(ours, z, kek, &kek_len));
    TR_TRY(pgp_ecdh_unwrap(ours->kdf_sym, kek, wrapped.ptr, wrapped.len, m, &mlen));
    TR_TRY(decode_m(h.version, m, mlen, out));
out:
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(m, sizeof(m));
    if (!tr_ok(res))
        OPENSSL_cleanse(out, sizeof(*out));
    return res;
}

/* The v6 PKESK packet: version 6, fingerprint length, key version 4 and
 * fingerprint, algorithm, then the ephemeral public key (an MPI for ECDH, 32
 * raw octets for X25519), a one-octet size and the wrapped session key. */
static tr_result write_v6(const struct pgp_ecdh_pub *recipient, uint8_t algo, const uint8_t *eph,
                          size_t eph_len, int eph_is_mpi, const uint8_t *wrapped, size_t wlen,
                          struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf body;
    tr_buf_init(&body, 512);
    uint8_t head[3 + PGP_FPR_LEN] = {6, 1 + PGP_FPR_LEN, 4};
    memcpy(head + 3, recipient->fpr, PGP_FPR_LEN);
    TR_TRY(tr_buf_append(&body, head, sizeof(head)));
    TR_TRY(tr_buf_append_u8(&body, algo));
    if (eph_is_mpi)
        TR_TRY(pgp_mpi_write(&body, eph, eph_len));
    else
        TR_TRY(tr_buf_append(&body, eph, eph_len));
    TR_TRY(tr_buf_append_u8(&body, (uint8_t)wlen));
    TR_TRY(tr_buf_append(&body, wrapped, wlen));
    TR_TRY(pgp_packet_write_header(out, PGP_TAG_PKESK, body.len));
    TR_TRY(tr_buf_append(out, body.data, body.len));
out:
    tr_buf_free(&body);
    return res;
}

/* v6 to a native X25519 key (RFC 9580 5.1.6): 32-octet ephemeral public
 * key, one-octet size, then the session key AES-128-wrapped (no algorithm
 * octet in v6, no checksum, no padding) under the HKDF key of pgp_x25519_kek. */
static tr_result write_v6_x25519(const struct pgp_ecdh_pub *recipient, const uint8_t *sk,
                                 size_t sk_len, struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    EVP_PKEY *eph = NULL;
    uint8_t z[32], kek[16], wrapped[PGP_MAX_SESSION_KEY + 8], eph_pub[PGP_X25519_LEN];
    size_t wlen = 0, publen = PGP_X25519_LEN;

    eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    TR_CHECK(eph != NULL, TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_PKEY_get_raw_public_key(eph, eph_pub, &publen), TR_ERR_OSSL);
    TR_CHECK(publen == PGP_X25519_LEN, TR_ERR_OSSL);
    TR_TRY(pgp_ecdh_derive(eph, recipient->point, z));
    TR_TRY(pgp_x25519_kek(eph_pub, recipient->point, z, kek));
    TR_TRY(pgp_ecdh_wrap(PGP_SYM_AES128, kek, sk, sk_len, wrapped, &wlen));

    TR_TRY(write_v6(recipient, PGP_PK_X25519, eph_pub, sizeof(eph_pub), 0, wrapped, wlen, out));
out:
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(kek, sizeof(kek));
    EVP_PKEY_free(eph);
    return res;
}

tr_result pgp_pkesk_write_v6(const struct pgp_ecdh_pub *recipient, const uint8_t *sk, size_t sk_len,
                             struct tr_buf *out)
{
    TR_ENSURE(sk_len == 16 || sk_len == 24 || sk_len == 32, TR_ERR_USAGE);
    if (recipient->algo == PGP_PK_X25519)
        return write_v6_x25519(recipient, sk, sk_len, out);
    tr_result res = TR_SUCCESS;
    EVP_PKEY *eph = NULL;
    uint8_t z[32], kek[32], m[48], wrapped[64], eph_pub[1 + PGP_X25519_LEN];
    size_t kek_len = 0, wlen = 0, publen = PGP_X25519_LEN;

    eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    TR_CHECK(eph != NULL, TR_ERR_OSSL);
    eph_pub[0] = 0x40;
    TR_CHECK_OSSL(EVP_PKEY_get_raw_public_key(eph, eph_pub + 1, &publen), TR_ERR_OSSL);
    TR_TRY(pgp_ecdh_derive(eph, recipient->point, z));
    TR_TRY(pgp_ecdh_kek(recipient, z, kek, &kek_len));
    /* v6: no algorithm octet; key || checksum, PKCS#5-padded to 8. */
    memcpy(m, sk, sk_len);
    uint16_t cs = checksum(sk, sk_len);
    m[sk_len] = (uint8_t)(cs >> 8);
    m[sk_len + 1] = (uint8_t)cs;
    size_t n = sk_len + 2, pad = 8 - n % 8;
    memset(m + n, (int)pad, pad);
    n += pad;
    TR_TRY(pgp_ecdh_wrap(recipient->kdf_sym, kek, m, n, wrapped, &wlen));

    TR_TRY(write_v6(recipient, PGP_PK_ECDH, eph_pub, sizeof(eph_pub), 1, wrapped, wlen, out));
out:
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(m, sizeof(m));
    EVP_PKEY_free(eph);
    return res;
}
