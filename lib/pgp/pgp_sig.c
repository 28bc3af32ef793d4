/* v4 signatures made and checked with an Ed25519 primary (EdDSALegacy,
 * RFC 9580 5.2.3, 5.2.4): the user ID positive certification and the subkey
 * binding, with the subpackets openpgp.js looks for (key flags, features
 * SEIPDv1+v2, preferred ciphers, AEAD ciphersuites, compression, hashes).
 * Checked only (recipients' keys): the same signatures by an RFC 9580 native
 * Ed25519 (algorithm 27) primary, whose signature is 64 raw octets.
 *
 * Why hand-written: signature packets are OpenPGP framing; Ed25519 and
 * SHA-2 are OpenSSL's (see include/teerex/pgp.h).
 */
#include <string.h>

#include "pgp_internal.h"

static const EVP_MD *hash_md(uint8_t id)
{
    switch (id) {
    case PGP_HASH_SHA256: return EVP_sha256();
    case PGP_HASH_SHA384: return EVP_sha384();
    case PGP_HASH_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

static tr_result sub(struct tr_buf *b, uint8_t type, const uint8_t *p, size_t n)
{
    TR_GUARD(tr_buf_append_u8(b, (uint8_t)(n + 1)));
    TR_GUARD(tr_buf_append_u8(b, type));
    return tr_buf_append(b, p, n);
}

static tr_result hashed_subpackets(struct tr_buf *b, uint8_t type, uint32_t created,
                                   const uint8_t fpr[PGP_FPR_LEN])
{
    uint8_t t[4] = {(uint8_t)(created >> 24), (uint8_t)(created >> 16), (uint8_t)(created >> 8),
                    (uint8_t)created};
    TR_GUARD(sub(b, 2, t, 4)); /* signature creation time */
    uint8_t issuer[1 + PGP_FPR_LEN] = {4};
    memcpy(issuer + 1, fpr, PGP_FPR_LEN);
    TR_GUARD(sub(b, 33, issuer, sizeof(issuer))); /* issuer fingerprint */
    if (type == PGP_SIGTYPE_SUBKEY_BINDING) {
        uint8_t flags = 0x0C; /* encrypt communications + storage */
        return sub(b, 27, &flags, 1);
    }
    uint8_t flags = 0x03; /* certify + sign */
    TR_GUARD(sub(b, 27, &flags, 1));
    static const uint8_t sym[] = {PGP_SYM_AES256, PGP_SYM_AES192, PGP_SYM_AES128};
    TR_GUARD(sub(b, 11, sym, sizeof(sym)));
    static const uint8_t aead[] = {PGP_SYM_AES256, PGP_AEAD_OCB,   PGP_SYM_AES256,
                                   PGP_AEAD_GCM,   PGP_SYM_AES128, PGP_AEAD_OCB};
    TR_GUARD(sub(b, 39, aead, sizeof(aead))); /* preferred AEAD ciphersuites */
    static const uint8_t hashes[] = {PGP_HASH_SHA512, PGP_HASH_SHA256};
    TR_GUARD(sub(b, 21, hashes, sizeof(hashes)));
    static const uint8_t comp[] = {PGP_COMP_NONE, PGP_COMP_ZLIB, PGP_COMP_ZIP};
    TR_GUARD(sub(b, 22, comp, sizeof(comp)));
    uint8_t features = 0x01 | 0x08; /* SEIPD v1 (MDC) + SEIPD v2 */
    return sub(b, 30, &features, 1);
}

/* Hash over the signed material and the v4 trailer (RFC 9580 5.2.4). */
static tr_result sig_digest(uint8_t hash_id, struct tr_slice primary, uint8_t type,
                            struct tr_slice target, struct tr_slice sig_prefix, uint8_t *out,
                            size_t *out_len)
{
    const EVP_MD *md = hash_md(hash_id);
    TR_ENSURE(md != NULL, TR_ERR_PGP_BAD_SIGNATURE_PACKET);
    TR_ENSURE(primary.len <= 0xFFFF && target.len <= 0xFFFF && sig_prefix.len <= 0xFFFF,
              TR_ERR_PGP_BAD_KEY);
    tr_result res = TR_SUCCESS;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    TR_CHECK(c != NULL, TR_ERR_NOMEM);
    uint8_t h[5] = {0x99, (uint8_t)(primary.len >> 8), (uint8_t)primary.len};
    TR_CHECK_OSSL(EVP_DigestInit_ex(c, md, NULL), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, h, 3), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, primary.ptr, primary.len), TR_ERR_OSSL);
    if (type == PGP_SIGTYPE_SUBKEY_BINDING) {
        h[0] = 0x99;
        h[1] = (uint8_t)(target.len >> 8);
        h[2] = (uint8_t)target.len;
        TR_CHECK_OSSL(EVP_DigestUpdate(c, h, 3), TR_ERR_OSSL);
    } else {
        h[0] = 0xB4;
        h[1] = 0;
        h[2] = 0;
        h[3] = (uint8_t)(target.len >> 8);
        h[4] = (uint8_t)target.len;
        TR_CHECK_OSSL(EVP_DigestUpdate(c, h, 5), TR_ERR_OSSL);
    }
    TR_CHECK_OSSL(EVP_DigestUpdate(c, target.ptr, target.len), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestUpdate(c, sig_prefix.ptr, sig_prefix.len), TR_ERR_OSSL);
    uint8_t trailer[6] = {4, 0xFF, 0, 0, (uint8_t)(sig_prefix.len >> 8), (uint8_t)sig_prefix.len};
    TR_CHECK_OSSL(EVP_DigestUpdate(c, trailer, 6), TR_ERR_OSSL);
    unsigned int n = 0;
    TR_CHECK_OSSL(EVP_DigestFinal_ex(c, out, &n), TR_ERR_OSSL);
    *out_len = n;
out:
    EVP_MD_CTX_free(c);
    return res;
}

tr_result pgp_sig_make(EVP_PKEY *signer, const uint8_t signer_fpr[PGP_FPR_LEN], uint8_t type,
                       uint32_t created, struct tr_slice primary_body, struct tr_slice target,
                       struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf body, hashed;
    tr_buf_init(&body, 4096);
    tr_buf_init(&hashed, 1024);
    EVP_MD_CTX *mctx = NULL;
    TR_TRY(hashed_subpackets(&hashed, type, created, signer_fpr));
    uint8_t head[4] = {4, type, PGP_PK_EDDSA_LEGACY, PGP_HASH_SHA256};
    TR_TRY(tr_buf_append(&body, head, 4));
    TR_TRY(tr_buf_append_be16(&body, (uint16_t)hashed.len));
    TR_TRY(tr_buf_append(&body, hashed.data, hashed.len));
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t dlen = 0;
    TR_TRY(sig_digest(PGP_HASH_SHA256, primary_body, type, target, tr_buf_slice(&body), digest,
                      &dlen));
    /* Unhashed: issuer key ID (low 8 octets of the fingerprint). */
    uint8_t unhashed[10] = {9, 16};
    memcpy(unhashed + 2, signer_fpr + 12, 8);
    TR_TRY(tr_buf_append_be16(&body, sizeof(unhashed)));
    TR_TRY(tr_buf_append(&body, unhashed, sizeof(unhashed)));
    TR_TRY(tr_buf_append(&body, digest, 2));
    /* EdDSALegacy signs the digest itself (RFC 9580 5.2.3.3). */
    uint8_t sig[64];
    size_t siglen = sizeof(sig);
    mctx = EVP_MD_CTX_new();
    TR_CHECK(mctx != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestSignInit(mctx, NULL, NULL, NULL, signer), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestSign(mctx, sig, &siglen, digest, dlen), TR_ERR_OSSL);
    TR_CHECK(siglen == 64, TR_ERR_OSSL);
    TR_TRY(pgp_mpi_write(&body, sig, 32));
    TR_TRY(pgp_mpi_write(&body, sig + 32, 32));
    TR_TRY(pgp_packet_write_header(out, PGP_TAG_SIGNATURE, body.len));
    TR_TRY(tr_buf_append(out, body.data, body.len));
out:
    EVP_MD_CTX_free(mctx);
    tr_buf_free(&body);
    tr_buf_free(&hashed);
    return res;
}

tr_result pgp_sig_verify(EVP_PKEY *signer, uint8_t type, struct tr_slice primary_body,
                         struct tr_slice target, struct tr_slice sig_body)
{
    return pgp_sig_verify_alg(signer, PGP_PK_EDDSA_LEGACY, type, primary_body, target, sig_body);
}

/* EdDSALegacy: r and s as MPIs (leading zeros stripped, RFC 9580 5.2.3.3);
 * Ed25519: the 64-octet native signature (5.2.3.4). */
static tr_result read_sig_value(struct tr_reader *r, uint8_t key_algo, uint8_t sig[64])
{
    memset(sig, 0, 64);
    if (key_algo == PGP_PK_ED25519) {
        TR_GUARD(tr_read_bytes(r, 64, sig));
        return tr_reader_expect_end(r);
    }
    struct tr_slice rs, ss;
    TR_GUARD(pgp_mpi_read(r, &rs));
    TR_GUARD(pgp_mpi_read(r, &ss));
    TR_GUARD(tr_reader_expect_end(r));
    TR_ENSURE(rs.len <= 32 && ss.len <= 32, TR_ERR_PGP_BAD_SIGNATURE_PACKET);
    memcpy(sig + 32 - rs.len, rs.ptr, rs.len);
    memcpy(sig + 64 - ss.len, ss.ptr, ss.len);
    return TR_SUCCESS;
}

tr_result pgp_sig_verify_alg(EVP_PKEY *signer, uint8_t key_algo, uint8_t type,
                             struct tr_slice primary_body, struct tr_slice target,
                             struct tr_slice sig_body)
{
    TR_ENSURE(key_algo == PGP_PK_EDDSA_LEGACY || key_algo == PGP_PK_ED25519, TR_ERR_USAGE);
    struct tr_reader r;
    tr_reader_init(&r, sig_body.ptr, sig_body.len);
    uint8_t version, stype, pkalgo, hash;
    uint16_t hlen, ulen;
    TR_GUARD(tr_read_u8(&r, &version));
    TR_ENSURE(version == 4, TR_ERR_PGP_UNSUPPORTED_VERSION);
    TR_GUARD(tr_read_u8(&r, &stype));
    TR_ENSURE(stype == type, TR_ERR_PGP_BAD_SIGNATURE_PACKET);
    TR_GUARD(tr_read_u8(&r, &pkalgo));
    TR_ENSURE(pkalgo == key_algo, TR_ERR_PGP_UNSUPPORTED_PUBKEY_ALGO);
    TR_GUARD(tr_read_u8(&r, &hash));
    TR_ENSURE(hash_md(hash) != NULL, TR_ERR_PGP_BAD_SIGNATURE_PACKET);
    TR_GUARD(tr_read_be16(&r, &hlen));
    TR_GUARD(tr_read_skip(&r, hlen));
    struct tr_slice prefix = tr_slice_of(sig_body.ptr, r.pos);
    TR_GUARD(tr_read_be16(&r, &ulen));
    TR_GUARD(tr_read_skip(&r, ulen));
    uint8_t left[2];
    TR_GUARD(tr_read_bytes(&r, 2, left));
    uint8_t sig[64];
    TR_GUARD(read_sig_value(&r, key_algo, sig));
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t dlen = 0;
    TR_GUARD(sig_digest(hash, primary_body, type, target, prefix, digest, &dlen));
    TR_ENSURE(memcmp(digest, left, 2) == 0, TR_ERR_PGP_BAD_SIGNATURE);
    tr_result res = TR_SUCCESS;
    /* Both forms sign the digest itself with PureEdDSA (5.2.3.3, 5.2.3.4). */
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    TR_CHECK(mctx != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, signer), TR_ERR_OSSL);
    TR_CHECK(EVP_DigestVerify(mctx, sig, 64, digest, dlen) == 1, TR_ERR_PGP_BAD_SIGNATURE);
out:
    EVP_MD_CTX_free(mctx);
    return res;
}
