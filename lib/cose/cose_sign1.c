/* COSE_Sign1 (RFC 9052 4.2) with the ECDSA algorithms of RFC 9053 2.1:
 * ES384 for AWS Nitro attestation documents, ES256/384/512 for EIF
 * signatures (lib/eif). No C COSE library is packaged for Debian 12 with a
 * strict, bounded parser we could rely on, so the four-element structure is
 * read here over libcbor (cose_cbor_load) and the signature made and checked
 * with OpenSSL; COSE's raw r||s is converted to and from the DER
 * ECDSA-Sig-Value OpenSSL speaks. */
#include <string.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "teerex/cose.h"
#include "teerex/limits.h"

#define E_COSE TR_ERR_ATTEST_INVALID_COSE

static const struct cose_alg ALGS[] = {
    {COSE_ALG_ES256, "prime256v1", "SHA256", 32},
    {COSE_ALG_ES384, "secp384r1", "SHA384", 48},
    {COSE_ALG_ES512, "secp521r1", "SHA512", 66},
};

const struct cose_alg *cose_alg_find(int64_t id)
{
    for (size_t i = 0; i < sizeof(ALGS) / sizeof(ALGS[0]); i++) {
        if (ALGS[i].id == id)
            return &ALGS[i];
    }
    return NULL;
}

const struct cose_alg *cose_alg_of_key(EVP_PKEY *key)
{
    char group[64];
    size_t glen = 0;
    if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1)
        return NULL;
    for (size_t i = 0; i < sizeof(ALGS) / sizeof(ALGS[0]); i++) {
        if (strcmp(group, ALGS[i].curve) == 0)
            return &ALGS[i];
    }
    return NULL;
}

void cose_sign1_free(struct cose_sign1 *s)
{
    if (s == NULL)
        return;
    if (s->root != NULL)
        cbor_decref(&s->root);
    memset(s, 0, sizeof(*s));
}

static tr_result read_alg(struct tr_slice prot, int32_t err, int64_t *alg)
{
    cbor_item_t *hdr = NULL;
    struct cbor_item_t *a = NULL;
    tr_result res = TR_SUCCESS;
    TR_TRY(cose_cbor_load(prot.ptr, prot.len, err, &hdr));
    TR_CHECK(cbor_isa_map(hdr), err);
    TR_TRY(cose_cbor_map_unique(hdr, err));
    TR_TRY(cose_cbor_map_get_int(hdr, 1, err, &a));
    TR_CHECK(a != NULL, err);
    TR_TRY(cose_cbor_int(a, err, alg));
out:
    if (hdr != NULL)
        cbor_decref(&hdr);
    return res;
}

TR_RESULT cose_sign1_decode(const uint8_t *p, size_t n, int32_t err, struct cose_sign1 *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(p != NULL && n > 0, err);
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
    TR_TRY(cose_cbor_load(p + skip, n - skip, err, &root));
    TR_CHECK(cbor_isa_array(root) && cbor_array_size(root) == 4, err);
    cbor_item_t **a = cbor_array_handle(root);
    TR_TRY(cose_cbor_bytes(a[0], err, &out->protected_hdr));
    TR_TRY(read_alg(out->protected_hdr, err, &out->alg));
    /* Unprotected header: a map with unique labels, not repeating alg. CBOR
     * null is read as an empty map: some non-AWS producers write it, and
     * the SDK's verifier ignores this element, so such documents must fail
     * where the SDK fails them (the chain), not earlier. */
    if (!cose_cbor_is_null(a[1])) {
        struct cbor_item_t *ualg = NULL;
        TR_CHECK(cbor_isa_map(a[1]), err);
        TR_TRY(cose_cbor_map_unique(a[1], err));
        TR_TRY(cose_cbor_map_get_int(a[1], 1, err, &ualg));
        TR_CHECK(ualg == NULL, err);
    }
    TR_TRY(cose_cbor_bytes(a[2], err, &out->payload)); /* nil = detached: unsupported */
    TR_TRY(cose_cbor_bytes(a[3], err, &out->signature));
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

TR_RESULT cose_sign1_parse(const uint8_t *p, size_t n, struct cose_sign1 *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(n <= TR_MAX_ATTEST_DOC, TR_ERR_ATTEST_TOO_BIG);
    TR_GUARD(cose_sign1_decode(p, n, E_COSE, out));
    if (out->alg != COSE_ALG_ES384 || out->signature.len != COSE_ES384_SIG_LEN) {
        bool tagged = out->tagged;
        cose_sign1_free(out);
        out->tagged = tagged;
        TR_BAIL(E_COSE);
    }
    return TR_SUCCESS;
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

/* Sig_structure of a protected header and payload, in a buffer sized for it. */
static tr_result tbs_of(struct tr_slice prot, struct tr_slice payload, struct tr_buf *tbs)
{
    tr_buf_init(tbs, prot.len + payload.len + 64);
    return cose_sign1_tbs(prot, payload, tbs);
}

TR_RESULT cose_sign1_verify_alg(const struct cose_sign1 *s, EVP_PKEY *pub, int32_t err)
{
    TR_ENSURE_REF(s);
    TR_ENSURE_REF(pub);
    const struct cose_alg *alg = cose_alg_find(s->alg);
    TR_ENSURE(alg != NULL && s->signature.len == 2 * alg->coord, err);
    TR_ENSURE(cose_alg_of_key(pub) == alg, err);
    tr_result res = TR_SUCCESS;
    struct tr_buf tbs;
    ECDSA_SIG *sig = NULL;
    BIGNUM *r = NULL, *sv = NULL;
    unsigned char *der = NULL;
    EVP_MD_CTX *md = NULL;
    TR_TRY(tbs_of(s->protected_hdr, s->payload, &tbs));
    /* COSE's r||s (fixed width) to the DER ECDSA-Sig-Value OpenSSL checks. */
    r = BN_bin2bn(s->signature.ptr, (int)alg->coord, NULL);
    sv = BN_bin2bn(s->signature.ptr + alg->coord, (int)alg->coord, NULL);
    sig = ECDSA_SIG_new();
    TR_CHECK(r != NULL && sv != NULL && sig != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(ECDSA_SIG_set0(sig, r, sv), TR_ERR_OSSL);
    r = sv = NULL;
    int derlen = i2d_ECDSA_SIG(sig, &der);
    TR_CHECK(derlen > 0, TR_ERR_OSSL);
    md = EVP_MD_CTX_new();
    TR_CHECK(md != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestVerifyInit_ex(md, NULL, alg->digest, NULL, NULL, pub, NULL),
                  TR_ERR_OSSL);
    TR_CHECK(EVP_DigestVerify(md, der, (size_t)derlen, tbs.data, tbs.len) == 1, err);
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    BN_free(r);
    BN_free(sv);
    tr_buf_free(&tbs);
    return res;
}

TR_RESULT cose_sign1_verify(const struct cose_sign1 *s, EVP_PKEY *pub)
{
    TR_ENSURE_REF(s);
    TR_ENSURE(s->signature.len == COSE_ES384_SIG_LEN, TR_ERR_ATTEST_INVALID_COSE);
    TR_ENSURE(s->alg == COSE_ALG_ES384, TR_ERR_ATTEST_SIGNATURE_FAILED);
    return cose_sign1_verify_alg(s, pub, TR_ERR_ATTEST_SIGNATURE_FAILED);
}

/* The protected header {1: alg} as libcbor encodes it (the bytes the
 * signature covers and nitro-cli's EIF signatures carry: a1 01 38 22 for
 * ES384). */
static tr_result protected_of(int64_t alg, struct tr_buf *out)
{
    cbor_item_t *m = cbor_new_definite_map(1);
    cbor_item_t *k = cbor_build_uint8(1), *v = cbor_build_negint8((uint8_t)(-1 - alg));
    bool ok = m && k && v && cbor_map_add(m, (struct cbor_pair){.key = k, .value = v});
    if (k)
        cbor_decref(&k);
    if (v)
        cbor_decref(&v);
    tr_result r = ok ? cose_cbor_serialize(m, out) : tr_fail_at(TR_ERR_NOMEM, __FILE__, __LINE__);
    if (m)
        cbor_decref(&m);
    return r;
}

TR_RESULT cose_sign1_sign_alg(int64_t alg_id, const uint8_t *payload, size_t n, EVP_PKEY *key,
                              struct tr_buf *out)
{
    TR_ENSURE_REF(payload);
    TR_ENSURE_REF(key);
    TR_ENSURE_REF(out);
    const struct cose_alg *alg = cose_alg_find(alg_id);
    TR_ENSURE(alg != NULL && cose_alg_of_key(key) == alg, TR_ERR_USAGE);
    tr_result res = TR_SUCCESS;
    struct tr_buf prot, tbs;
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    ECDSA_SIG *sig = NULL;
    uint8_t raw[2 * 66];
    size_t c = alg->coord;
    tr_buf_init(&prot, 16);
    tr_buf_init(&tbs, 0);
    TR_TRY(protected_of(alg->id, &prot));
    TR_TRY(tbs_of(tr_buf_slice(&prot), tr_slice_of(payload, n), &tbs));
    md = EVP_MD_CTX_new();
    TR_CHECK(md != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestSignInit_ex(md, NULL, alg->digest, NULL, NULL, key, NULL), TR_ERR_OSSL);
    size_t derlen = 0;
    TR_CHECK_OSSL(EVP_DigestSign(md, NULL, &derlen, tbs.data, tbs.len), TR_ERR_OSSL);
    der = OPENSSL_malloc(derlen);
    TR_CHECK(der != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestSign(md, der, &derlen, tbs.data, tbs.len), TR_ERR_OSSL);
    /* DER ECDSA-Sig-Value to COSE's raw r||s. */
    const unsigned char *dp = der;
    sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
    TR_CHECK(sig != NULL, TR_ERR_OSSL);
    TR_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, (int)c) == (int)c &&
                 BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + c, (int)c) == (int)c,
             TR_ERR_OSSL);
    cbor_item_t *parts[4] = {
        cose_cbor_new_bytes(prot.data, prot.len),
        cbor_new_definite_map(0),
        cose_cbor_new_bytes(payload, n),
        cose_cbor_new_bytes(raw, 2 * c),
    };
    TR_TRY(cose_cbor_serialize_array(parts, 4, out));
out:
    ECDSA_SIG_free(sig);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    tr_buf_free(&prot);
    tr_buf_free(&tbs);
    return res;
}

TR_RESULT cose_sign1_sign(const uint8_t *payload, size_t n, EVP_PKEY *key, struct tr_buf *out)
{
    return cose_sign1_sign_alg(COSE_ALG_ES384, payload, n, key, out);
}
