/* v4 public-key packet bodies for Curve25519 keys (RFC 9580 5.5.2, 5.5.5):
 * EdDSALegacy (algorithm 22) primary and ECDH (algorithm 18) subkey, both
 * with the legacy OIDs and the 0x40-prefixed native point encoding, as
 * openpgp.js generateKey({type: "ecc"}) and GnuPG 2.2 write them; and, read
 * only (recipients' keys), the RFC 9580 native Ed25519 (27) and X25519 (25)
 * keys of openpgp.js 6 generateKey({type: "curve25519"}): 32 raw octets.
 *
 * Why hand-written: see include/teerex/pgp.h (no RFC 9580 library in C on
 * Debian 12); fingerprints are SHA-1 from OpenSSL.
 */
#include <string.h>

#include "pgp_internal.h"

static tr_result write_common(struct tr_buf *out, uint32_t created, uint8_t algo,
                              const uint8_t *oid, size_t oid_len, const uint8_t point[32])
{
    uint8_t mpi[1 + PGP_X25519_LEN];
    mpi[0] = 0x40;
    memcpy(mpi + 1, point, PGP_X25519_LEN);
    TR_GUARD(tr_buf_append_u8(out, 4));
    TR_GUARD(tr_buf_append_be32(out, created));
    TR_GUARD(tr_buf_append_u8(out, algo));
    TR_GUARD(tr_buf_append_u8(out, (uint8_t)oid_len));
    TR_GUARD(tr_buf_append(out, oid, oid_len));
    return pgp_mpi_write(out, mpi, sizeof(mpi));
}

tr_result pgp_keypkt_write_ed25519(struct tr_buf *out, uint32_t created, const uint8_t pub[32])
{
    return write_common(out, created, PGP_PK_EDDSA_LEGACY, PGP_OID_ED25519_LEGACY,
                        sizeof(PGP_OID_ED25519_LEGACY), pub);
}

tr_result pgp_keypkt_write_ecdh(struct tr_buf *out, uint32_t created, const struct pgp_ecdh_pub *k)
{
    TR_GUARD(write_common(out, created, PGP_PK_ECDH, PGP_OID_CV25519_LEGACY,
                          sizeof(PGP_OID_CV25519_LEGACY), k->point));
    /* KDF parameters: length 3, reserved 1, hash, key-wrap cipher. */
    uint8_t kdf[4] = {3, 1, k->kdf_hash, k->kdf_sym};
    return tr_buf_append(out, kdf, sizeof(kdf));
}

tr_result pgp_keypkt_fingerprint(struct tr_slice body, uint8_t out[PGP_FPR_LEN])
{
    TR_ENSURE(body.len <= 0xFFFF, TR_ERR_PGP_BAD_KEY);
    uint8_t hdr[3] = {0x99, (uint8_t)(body.len >> 8), (uint8_t)body.len};
    tr_result res = TR_SUCCESS;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    TR_CHECK(c != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestInit_ex(c, EVP_sha1(), NULL), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, hdr, 3), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, body.ptr, body.len), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestFinal_ex(c, out, NULL), TR_ERR_OSSL);
out:
    EVP_MD_CTX_free(c);
    return res;
}

static tr_result parse_common(struct tr_slice body, uint8_t want_algo, const uint8_t *oid,
                              size_t oid_len, uint32_t *created, uint8_t point[32],
                              struct tr_reader *rest)
{
    struct tr_reader r;
    tr_reader_init(&r, body.ptr, body.len);
    uint8_t version, algo, olen;
    TR_GUARD(tr_read_u8(&r, &version));
    TR_ENSURE(version == 4, TR_ERR_PGP_UNSUPPORTED_VERSION);
    TR_GUARD(tr_read_be32(&r, created));
    TR_GUARD(tr_read_u8(&r, &algo));
    TR_ENSURE(algo == want_algo, TR_ERR_PGP_UNSUPPORTED_PUBKEY_ALGO);
    TR_GUARD(tr_read_u8(&r, &olen));
    struct tr_slice o;
    TR_GUARD(tr_read_slice(&r, olen, &o));
    TR_ENSURE(o.len == oid_len && memcmp(o.ptr, oid, oid_len) == 0,
              TR_ERR_PGP_UNSUPPORTED_PUBKEY_ALGO);
    TR_GUARD(pgp_point_read(&r, point));
    *rest = r;
    return TR_SUCCESS;
}

tr_result pgp_keypkt_parse_ed25519(struct tr_slice body, uint32_t *created, uint8_t pub[32])
{
    struct tr_reader rest;
    TR_GUARD(parse_common(body, PGP_PK_EDDSA_LEGACY, PGP_OID_ED25519_LEGACY,
                          sizeof(PGP_OID_ED25519_LEGACY), created, pub, &rest));
    return tr_reader_expect_end(&rest);
}

tr_result pgp_keypkt_parse_ecdh(struct tr_slice body, uint32_t *created, struct pgp_ecdh_pub *k)
{
    struct tr_reader rest;
    memset(k, 0, sizeof(*k));
    TR_GUARD(parse_common(body, PGP_PK_ECDH, PGP_OID_CV25519_LEGACY, sizeof(PGP_OID_CV25519_LEGACY),
                          created, k->point, &rest));
    uint8_t kdf[4];
    TR_GUARD(tr_read_bytes(&rest, 4, kdf));
    TR_ENSURE(kdf[0] == 3 && kdf[1] == 1, TR_ERR_PGP_UNSUPPORTED_KDF);
    TR_ENSURE(kdf[2] == PGP_HASH_SHA256 || kdf[2] == PGP_HASH_SHA384 || kdf[2] == PGP_HASH_SHA512,
              TR_ERR_PGP_UNSUPPORTED_KDF);
    TR_ENSURE(pgp_cipher_key_len(kdf[3]) != 0, TR_ERR_PGP_UNSUPPORTED_KDF);
    k->kdf_hash = kdf[2];
    k->kdf_sym = kdf[3];
    TR_GUARD(tr_reader_expect_end(&rest));
    k->algo = PGP_PK_ECDH;
    return pgp_keypkt_fingerprint(body, k->fpr);
}

/* Version 4, creation time, algorithm, then exactly 32 octets of native key
 * material (RFC 9580 5.5.5.7 X25519, 5.5.5.9 Ed25519). */
static tr_result parse_native(struct tr_slice body, uint8_t want_algo, uint32_t *created,
                              uint8_t pub[32])
{
    struct tr_reader r;
    tr_reader_init(&r, body.ptr, body.len);
    uint8_t version, algo;
    TR_GUARD(tr_read_u8(&r, &version));
    TR_ENSURE(version == 4, TR_ERR_PGP_UNSUPPORTED_VERSION);
    TR_GUARD(tr_read_be32(&r, created));
    TR_GUARD(tr_read_u8(&r, &algo));
    TR_ENSURE(algo == want_algo, TR_ERR_PGP_UNSUPPORTED_PUBKEY_ALGO);
    TR_ENSURE(tr_reader_remaining(&r) == 32, TR_ERR_PGP_BAD_KEY);
    return tr_read_bytes(&r, 32, pub);
}

tr_result pgp_keypkt_parse_ed25519_native(struct tr_slice body, uint32_t *created, uint8_t pub[32])
{
    return parse_native(body, PGP_PK_ED25519, created, pub);
}

tr_result pgp_keypkt_parse_x25519(struct tr_slice body, uint32_t *created, struct pgp_ecdh_pub *k)
{
    memset(k, 0, sizeof(*k));
    TR_GUARD(parse_native(body, PGP_PK_X25519, created, k->point));
    k->algo = PGP_PK_X25519;
    return pgp_keypkt_fingerprint(body, k->fpr);
}

/* The algorithm octet of a v4 key body (after version and creation time);
 * 0 when there is none, so the legacy parser reports the exact error. */
static uint8_t peek_algo(struct tr_slice body)
{
    return body.len >= 6 && body.ptr[0] == 4 ? body.ptr[5] : 0;
}

tr_result pgp_keypkt_parse_signer(struct tr_slice body, uint32_t *created, uint8_t *algo,
                                  uint8_t pub[32])
{
    *algo = peek_algo(body) == PGP_PK_ED25519 ? PGP_PK_ED25519 : PGP_PK_EDDSA_LEGACY;
    if (*algo == PGP_PK_ED25519)
        return pgp_keypkt_parse_ed25519_native(body, created, pub);
    return pgp_keypkt_parse_ed25519(body, created, pub);
}

tr_result pgp_keypkt_parse_enc(struct tr_slice body, uint32_t *created, struct pgp_ecdh_pub *k)
{
    if (peek_algo(body) == PGP_PK_X25519)
        return pgp_keypkt_parse_x25519(body, created, k);
    return pgp_keypkt_parse_ecdh(body, created, k);
}
