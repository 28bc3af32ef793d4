/* COSE_Sign1 with ES384, the only form AWS Nitro attestation documents use.
 * No C COSE library is packaged for Debian 12 with a strict, bounded parser
 * we could rely on, so the four-element structure is read here over libcbor
 * and the signature checked with OpenSSL. */
#include <string.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "teerex/cose.h"
#include "teerex/limits.h"

#define E_COSE TR_ERR_ATTEST_INVALID_COSE

void cose_sign1_free(struct cose_sign1 *s)
{
    if (s == NULL)
        return;
    if (s->root != NULL)
        cbor_decref(&s->root);
    memset(s, 0, sizeof(*s));
}

static tr_result check_protected(struct tr_slice prot, int64_t *alg)
{
    cbor_item_t *hdr = NULL;
    struct cbor_item_t *a = NULL;
    tr_result res = TR_SUCCESS;
    TR_TRY(cose_cbor_load(prot.ptr, prot.len, E_COSE, &hdr));
    TR_CHECK(cbor_isa_map(hdr), E_COSE);
    TR_TRY(cose_cbor_map_unique(hdr, E_COSE));
    TR_TRY(cose_cbor_map_get_int(hdr, 1, E_COSE, &a));
    TR_CHECK(a != NULL, E_COSE);
    TR_TRY(cose_cbor_int(a, E_COSE, alg));
    TR_CHECK(*alg == COSE_ALG_ES384, E_COSE);
out:
    if (hdr != NULL)
        cbor_decref(&hdr);
    return res;
}

TR_RESULT cose_sign1_parse(const uint8_t *p, size_t n, struct cose_sign1 *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(n <= TR_MAX_ATTEST_DOC, TR_ERR_ATTEST_TOO_BIG);
    TR_ENSURE(p != NULL && n > 0, E_COSE);
    tr_result res = TR_SUCCESS;
    cbor_item_t *root = NULL;
    /* Tag 18 (COSE_Sign1) is read here from the head bytes: libcbor 0.8.0
     * (Debian 12) cannot build any tagged item (cbor_load reports
     * CBOR_ERR_MALFORMATED for every tag), so a tag is taken off before the
     * load; any other tag then fails the load, which is what we want. */
    size_t skip = 0;
    if (n >= 1 && p[0] == 0xc0 + COSE_TAG_SIGN1)
        skip = 1;
    else if (n >= 2 && p[0] == 0xd8 && p[1] == COSE_TAG_SIGN1)
        skip = 2;
    out->tagged = skip > 0;
    TR_TRY(cose_cbor_load(p + skip, n - skip, E_COSE, &root));
    TR_CHECK(cbor_isa_array(root) && cbor_array_size(root) == 4, E_COSE);
    cbor_item_t **a = cbor_array_handle(root);
    TR_TRY(cose_cbor_bytes(a[0], E_COSE, &out->protected_hdr));
    TR_TRY(check_protected(out->protected_hdr, &out->alg));
    /* Unprotected header: a map with unique labels, not repeating alg. CBOR
     * null is read as an empty map: some non-AWS producers write it, and
     * the SDK's verifier ignores this element, so such documents must fail
     * where the SDK fails them (the chain), not earlier. */
    if (!cose_cbor_is_null(a[1])) {
        struct cbor_item_t *ualg = NULL;
        TR_CHECK(cbor_isa_map(a[1]), E_COSE);
        TR_TRY(cose_cbor_map_unique(a[1], E_COSE));
        TR_TRY(cose_cbor_map_get_int(a[1], 1, E_COSE, &ualg));
        TR_CHECK(ualg == NULL, E_COSE);
    }
    TR_TRY(cose_cbor_bytes(a[2], E_COSE, &out->payload)); /* nil = detached: unsupported */
    TR_TRY(cose_cbor_bytes(a[3], E_COSE, &out->signature));
    TR_CHECK(out->signature.len == COSE_ES384_SIG_LEN, E_COSE);
    out->root = root;
    root = NULL;
out:
    if (root != NULL)
        cbor_decref(&root);
    if (!tr_ok(res)) {
        bool tagged = out->tagged;
        memset(out, 0, sizeof(*out));
        out->tagged = tagged;
    }
    return res;
}

TR_RESULT cose_sign1_tbs(struct tr_slice protected_hdr, struct tr_slice payload, struct tr_buf *out)
{
    TR_ENSURE_REF(out);
    cbor_item_t *parts[4] = {
        cbor_build_string("Signature1"),
        cose_cbor_new_bytes(protected_hdr.ptr, protected_hdr.len),
        cose_cbor_new_bytes(NULL, 0),
        cose_cbor_new_bytes(payload.ptr, payload.len),
    };
    return cose_cbor_serialize_array(parts, 4, out);
}

static bool is_p384(EVP_PKEY *k)
{
    char group[64];
    size_t glen = 0;
    if (!EVP_PKEY_is_a(k, "EC"))
        return false;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1)
        return false;
    return strcmp(group, "secp384r1") == 0;
}

TR_RESULT cose_sign1_verify(const struct cose_sign1 *s, EVP_PKEY *pub)
{
    TR_ENSURE_REF(s);
    TR_ENSURE_REF(pub);
    TR_ENSURE(s->signature.len == COSE_ES384_SIG_LEN, TR_ERR_ATTEST_INVALID_COSE);
    TR_ENSURE(is_p384(pub), TR_ERR_ATTEST_SIGNATURE_FAILED);
    tr_result res = TR_SUCCESS;
    struct tr_buf tbs;
    tr_buf_init(&tbs, TR_MAX_ATTEST_DOC + 64);
    ECDSA_SIG *sig = NULL;
    BIGNUM *r = NULL, *sv = NULL;
    unsigned char *der = NULL;
    EVP_MD_CTX *md = NULL;
    TR_TRY(cose_sign1_tbs(s->protected_hdr, s->payload, &tbs));
    r = BN_bin2bn(s->signature.ptr, 48, NULL);
    sv = BN_bin2bn(s->signature.ptr + 48, 48, NULL);
    sig = ECDSA_SIG_new();
    TR_CHECK(r != NULL && sv != NULL && sig != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(ECDSA_SIG_set0(sig, r, sv), TR_ERR_OSSL);
    r = sv = NULL;
    int derlen = i2d_ECDSA_SIG(sig, &der);
    TR_CHECK(derlen > 0, TR_ERR_OSSL);
    md = EVP_MD_CTX_new();
    TR_CHECK(md != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestVerifyInit_ex(md, NULL, "SHA384", NULL, NULL, pub, NULL), TR_ERR_OSSL);
    TR_CHECK(EVP_DigestVerify(md, der, (size_t)derlen, tbs.data, tbs.len) == 1,
             TR_ERR_ATTEST_SIGNATURE_FAILED);
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    BN_free(r);
    BN_free(sv);
    tr_buf_free(&tbs);
    return res;
}

/* Serialises [protected, {}, payload, signature] with libcbor. */
static tr_result build_sign1(struct tr_slice prot, struct tr_slice payload, const uint8_t *sig,
                             struct tr_buf *out)
{
    cbor_item_t *parts[4] = {
        cose_cbor_new_bytes(prot.ptr, prot.len),
        cbor_new_definite_map(0),
        cose_cbor_new_bytes(payload.ptr, payload.len),
        cose_cbor_new_bytes(sig, COSE_ES384_SIG_LEN),
    };
    return cose_cbor_serialize_array(parts, 4, out);
}

TR_RESULT cose_sign1_sign(const uint8_t *payload, size_t n, EVP_PKEY *key, struct tr_buf *out)
{
    TR_ENSURE_REF(payload);
    TR_ENSURE_REF(key);
    TR_ENSURE_REF(out);
    TR_ENSURE(is_p384(key), TR_ERR_USAGE);
    static const uint8_t prot[] = {0xa1, 0x01, 0x38, 0x22}; /* {1: -35} */
    tr_result res = TR_SUCCESS;
    struct tr_buf tbs;
    tr_buf_init(&tbs, TR_MAX_ATTEST_DOC + 64);
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    ECDSA_SIG *sig = NULL;
    uint8_t raw[COSE_ES384_SIG_LEN];
    TR_TRY(cose_sign1_tbs(tr_slice_of(prot, sizeof(prot)), tr_slice_of(payload, n), &tbs));
    md = EVP_MD_CTX_new();
    TR_CHECK(md != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestSignInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL), TR_ERR_OSSL);
    size_t derlen = 0;
    TR_CHECK_OSSL(EVP_DigestSign(md, NULL, &derlen, tbs.data, tbs.len), TR_ERR_OSSL);
    der = OPENSSL_malloc(derlen);
    TR_CHECK(der != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestSign(md, der, &derlen, tbs.data, tbs.len), TR_ERR_OSSL);
    const unsigned char *dp = der;
    sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
    TR_CHECK(sig != NULL, TR_ERR_OSSL);
    TR_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 48) == 48, TR_ERR_OSSL);
    TR_CHECK(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 48, 48) == 48, TR_ERR_OSSL);
    TR_TRY(build_sign1(tr_slice_of(prot, sizeof(prot)), tr_slice_of(payload, n), raw, out));
out:
    ECDSA_SIG_free(sig);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    tr_buf_free(&tbs);
    return res;
}
