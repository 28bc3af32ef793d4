/* The EIF signature section (nitro-cli --signing-certificate/--private-key)
 * and PCR8.
 *
 * nitro-cli serialises Rust structs with serde_cbor, whose encoding of a
 * Vec<u8> is a CBOR array of small unsigned integers, not a byte string; no
 * COSE library reproduces that payload, so the structure is built and read
 * here over libcbor. The COSE_Sign1 itself follows RFC 9052 (untagged,
 * protected header {1: alg}, empty unprotected map, raw r||s signature).
 */
#include <string.h>

#include <cbor.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "eif_cbor.h"
#include "teerex/eif.h"

#define COSE_ALG_ES256 (-7)
#define COSE_ALG_ES384 (-35)
#define COSE_ALG_ES512 (-36)

static const uint8_t EMPTY[1] = {0};

void eif_signature_init(struct eif_signature *s)
{
    tr_buf_init(&s->cert_pem, EIF_MAX_SIGNATURE_SECTION);
    tr_buf_init(&s->cose, EIF_MAX_SIGNATURE_SECTION);
}

void eif_signature_free(struct eif_signature *s)
{
    tr_buf_free(&s->cert_pem);
    tr_buf_free(&s->cose);
}

/* ------------------------------------------------------------ encoding */

/* Takes ownership of item (decref) in every case. */
static bool push(cbor_item_t *arr, cbor_item_t *item)
{
    if (!item)
        return false;
    bool ok = cbor_array_push(arr, item);
    cbor_decref(&item);
    return ok;
}

static bool map_put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
    bool ok = k && v && cbor_map_add(map, (struct cbor_pair){.key = k, .value = v});
    if (k)
        cbor_decref(&k);
    if (v)
        cbor_decref(&v);
    return ok;
}

/* serde_cbor's Vec<u8>: an array of uints. */
static cbor_item_t *uint_array(const uint8_t *p, size_t n)
{
    cbor_item_t *a = cbor_new_definite_array(n);
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!push(a, cbor_build_uint8(p[i]))) {
            cbor_decref(&a);
            return NULL;
        }
    }
    return a;
}

static TR_RESULT serialize(const cbor_item_t *item, struct tr_buf *out)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    TR_ENSURE(item != NULL, TR_ERR_NOMEM);
    size_t len = cbor_serialize_alloc(item, &buf, &cap);
    TR_ENSURE(len > 0 && buf, TR_ERR_NOMEM);
    tr_result r = tr_buf_append(out, buf, len);
    free(buf);
    return r;
}

/* PcrInfo {register_index: 0, register_value: pcr0}. */
static TR_RESULT pcr_payload(const uint8_t pcr0[EIF_PCR_LEN], struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    cbor_item_t *m = cbor_new_definite_map(2);
    TR_CHECK(m && map_put(m, cbor_build_string("register_index"), cbor_build_uint8(0)) &&
                 map_put(m, cbor_build_string("register_value"), uint_array(pcr0, EIF_PCR_LEN)),
             TR_ERR_NOMEM);
    TR_TRY(serialize(m, out));
out:
    if (m)
        cbor_decref(&m);
    return res;
}

/* COSE algorithm, digest and coordinate size for an EC key. */
static TR_RESULT key_alg(EVP_PKEY *key, int *alg, const EVP_MD **md, size_t *coord)
{
    TR_ENSURE(EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, TR_ERR_EIF_BAD_KEY);
    switch (EVP_PKEY_get_bits(key)) {
    case 256: *alg = COSE_ALG_ES256, *md = EVP_sha256(), *coord = 32; return TR_SUCCESS;
    case 384: *alg = COSE_ALG_ES384, *md = EVP_sha384(), *coord = 48; return TR_SUCCESS;
    case 521: *alg = COSE_ALG_ES512, *md = EVP_sha512(), *coord = 66; return TR_SUCCESS;
    default: TR_BAIL(TR_ERR_EIF_BAD_KEY);
    }
}

static cbor_item_t *protected_map(int alg)
{
    cbor_item_t *m = cbor_new_definite_map(1);
    if (m && !map_put(m, cbor_build_uint8(1), cbor_build_negint8((uint8_t)(-1 - alg))))
        cbor_decref(&m);
    return m;
}

/* Sig_structure = ["Signature1", protected, h'', payload]. */
static TR_RESULT sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
                               size_t payload_len, struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    cbor_item_t *a = cbor_new_definite_array(4);
    TR_CHECK(a && push(a, cbor_build_string("Signature1")) &&
                 push(a, cbor_build_bytestring(prot, prot_len)) &&
                 push(a, cbor_build_bytestring(EMPTY, 0)) &&
                 push(a, cbor_build_bytestring(payload, payload_len)),
             TR_ERR_NOMEM);
    TR_TRY(serialize(a, out));
out:
    if (a)
        cbor_decref(&a);
    return res;
}

static TR_RESULT load_cert(const uint8_t *pem, size_t len, X509 **out)
{
    *out = NULL;
    TR_ENSURE(len > 0 && len <= EIF_MAX_SIGNATURE_SECTION, TR_ERR_EIF_BAD_CERT);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    TR_ENSURE(bio, TR_ERR_NOMEM);
    *out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    TR_ENSURE(*out, TR_ERR_EIF_BAD_CERT);
    return TR_SUCCESS;
}

TR_RESULT eif_sig_build(EVP_PKEY *key, const uint8_t *cert_pem, size_t cert_len,
                        const uint8_t pcr0[EIF_PCR_LEN], struct tr_buf *out_section)
{
    tr_result res = TR_SUCCESS;
    int alg = 0;
    const EVP_MD *md = NULL;
    size_t coord = 0, der_len = 0;
    X509 *cert = NULL;
    EVP_MD_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    unsigned char *der = NULL;
    const unsigned char *dp = NULL;
    cbor_item_t *prot = NULL, *cose = NULL, *list = NULL, *entry = NULL;
    struct tr_buf payload, tbs, prot_bytes, cose_bytes;
    uint8_t raw[2 * 66];
    tr_buf_init(&payload, 4096);
    tr_buf_init(&tbs, 8192);
    tr_buf_init(&prot_bytes, 64);
    tr_buf_init(&cose_bytes, EIF_MAX_SIGNATURE_SECTION);

    TR_CHECK(key && cert_pem && pcr0 && out_section, TR_ERR_NULL_ARG);
    TR_TRY(key_alg(key, &alg, &md, &coord));
    TR_TRY(load_cert(cert_pem, cert_len, &cert));
    TR_CHECK(X509_check_private_key(cert, key) == 1, TR_ERR_EIF_BAD_CERT);

    TR_TRY(pcr_payload(pcr0, &payload));
    prot = protected_map(alg);
    TR_TRY(serialize(prot, &prot_bytes));
    TR_TRY(sig_structure(prot_bytes.data, prot_bytes.len, payload.data, payload.len, &tbs));

    /* Sign, then convert the DER ECDSA-Sig-Value to COSE's raw r || s. */
    ctx = EVP_MD_CTX_new();
    TR_CHECK(ctx, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestSignInit(ctx, NULL, md, NULL, key), TR_ERR_OSSL);
    TR_CHECK_OSSL(EVP_DigestSign(ctx, NULL, &der_len, tbs.data, tbs.len), TR_ERR_OSSL);
    der = OPENSSL_malloc(der_len);
    TR_CHECK(der, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestSign(ctx, der, &der_len, tbs.data, tbs.len), TR_ERR_OSSL);
    dp = der;
    es = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
    TR_CHECK(es, TR_ERR_OSSL);
    TR_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)coord) == (int)coord &&
                 BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + coord, (int)coord) == (int)coord,
             TR_ERR_OSSL);

    cose = cbor_new_definite_array(4);
    TR_CHECK(cose && push(cose, cbor_build_bytestring(prot_bytes.data, prot_bytes.len)) &&
                 push(cose, cbor_new_definite_map(0)) &&
                 push(cose, cbor_build_bytestring(payload.data, payload.len)) &&
                 push(cose, cbor_build_bytestring(raw, 2 * coord)),
             TR_ERR_NOMEM);
    TR_TRY(serialize(cose, &cose_bytes));

    /* [ {signing_certificate: [...], signature: [...]} ] */
    entry = cbor_new_definite_map(2);
    TR_CHECK(entry &&
                 map_put(entry, cbor_build_string("signing_certificate"),
                         uint_array(cert_pem, cert_len)) &&
                 map_put(entry, cbor_build_string("signature"),
                         uint_array(cose_bytes.data, cose_bytes.len)),
             TR_ERR_NOMEM);
    list = cbor_new_definite_array(1);
    TR_CHECK(list && cbor_array_push(list, entry), TR_ERR_NOMEM);
    TR_TRY(serialize(list, out_section));
out:
    if (prot)
        cbor_decref(&prot);
    if (cose)
        cbor_decref(&cose);
    if (entry)
        cbor_decref(&entry);
    if (list)
        cbor_decref(&list);
    ECDSA_SIG_free(es);
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    X509_free(cert);
    tr_buf_free(&payload);
    tr_buf_free(&tbs);
    tr_buf_free(&prot_bytes);
    tr_buf_free(&cose_bytes);
    return res;
}

/* ------------------------------------------------------------- parsing */

static bool text_is(const cbor_item_t *k, const char *s)
{
    size_t n = strlen(s);
    return cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == n &&
           memcmp(cbor_string_handle(k), s, n) == 0;
}

/* An array of uints <= 255 into bytes. */
static TR_RESULT uints_to_bytes(const cbor_item_t *a, struct tr_buf *out)
{
    TR_ENSURE(cbor_isa_array(a) && cbor_array_is_definite(a), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    size_t n = cbor_array_size(a);
    cbor_item_t **items = cbor_array_handle(a);
    for (size_t i = 0; i < n; i++) {
        TR_ENSURE(cbor_isa_uint(items[i]) && cbor_get_int(items[i]) <= 255,
                  TR_ERR_EIF_BAD_SIGNATURE_SECTION);
        TR_GUARD(tr_buf_append_u8(out, (uint8_t)cbor_get_int(items[i])));
    }
    return TR_SUCCESS;
}

TR_RESULT eif_sig_parse(const uint8_t *p, size_t n, struct eif_signature *out)
{
    tr_result res = TR_SUCCESS;
    struct cbor_load_result lr;
    cbor_item_t *root = NULL;
    bool have_cert = false, have_sig = false;
    tr_buf_clear(&out->cert_pem);
    tr_buf_clear(&out->cose);
    TR_CHECK(p && n > 0 && n <= EIF_MAX_SIGNATURE_SECTION, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    TR_TRY(eif_cbor_check(p, n));
    root = cbor_load(p, n, &lr);
    TR_CHECK(root && lr.error.code == CBOR_ERR_NONE && lr.read == n,
             TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    /* nitro-cli writes one entry (PCR0) and reads only the first. */
    TR_CHECK(cbor_isa_array(root) && cbor_array_is_definite(root) && cbor_array_size(root) >= 1,
             TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    const cbor_item_t *entry = cbor_array_handle(root)[0];
    TR_CHECK(cbor_isa_map(entry) && cbor_map_is_definite(entry), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    struct cbor_pair *pairs = cbor_map_handle(entry);
    for (size_t i = 0; i < cbor_map_size(entry); i++) {
        if (text_is(pairs[i].key, "signing_certificate") && !have_cert) {
            TR_TRY(uints_to_bytes(pairs[i].value, &out->cert_pem));
            have_cert = true;
        } else if (text_is(pairs[i].key, "signature") && !have_sig) {
            TR_TRY(uints_to_bytes(pairs[i].value, &out->cose));
            have_sig = true;
        } else {
            TR_FAIL(TR_ERR_EIF_BAD_SIGNATURE_SECTION);
        }
    }
    TR_CHECK(have_cert && have_sig && out->cert_pem.len > 0 && out->cose.len > 0,
             TR_ERR_EIF_BAD_SIGNATURE_SECTION);
out:
    if (root)
        cbor_decref(&root);
    return res;
}

TR_RESULT eif_sig_pcr8(const struct eif_signature *s, uint8_t out[EIF_PCR_LEN])
{
    X509 *cert = NULL;
    unsigned char *der = NULL;
    TR_GUARD(load_cert(s->cert_pem.data, s->cert_pem.len, &cert));
    int len = i2d_X509(cert, &der);
    X509_free(cert);
    TR_ENSURE(len > 0 && der, TR_ERR_EIF_BAD_CERT);
    tr_result r = eif_pcr8_from_der(der, (size_t)len, out);
    OPENSSL_free(der);
    return r;
}

static bool definite_bytes(const cbor_item_t *i)
{
    return cbor_isa_bytestring(i) && cbor_bytestring_is_definite(i);
}

TR_RESULT eif_sig_verify(const struct eif_signature *s, const uint8_t pcr0[EIF_PCR_LEN])
{
    tr_result res = TR_SUCCESS;
    X509 *cert = NULL;
    EVP_PKEY *pub = NULL;
    EVP_MD_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *sv = NULL;
    unsigned char *der = NULL;
    cbor_item_t *cose = NULL, *prot = NULL;
    struct cbor_load_result lr;
    struct tr_buf expect, tbs;
    int alg = 0, want_alg = 0;
    const EVP_MD *md = NULL;
    size_t coord = 0;
    tr_buf_init(&expect, 4096);
    tr_buf_init(&tbs, EIF_MAX_SIGNATURE_SECTION);

    TR_TRY(load_cert(s->cert_pem.data, s->cert_pem.len, &cert));
    pub = X509_get_pubkey(cert);
    TR_CHECK(pub, TR_ERR_EIF_BAD_CERT);
    TR_TRY(key_alg(pub, &want_alg, &md, &coord));

    TR_TRY(eif_cbor_check(s->cose.data, s->cose.len));
    cose = cbor_load(s->cose.data, s->cose.len, &lr);
    TR_CHECK(cose && lr.error.code == CBOR_ERR_NONE && lr.read == s->cose.len,
             TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    TR_CHECK(cbor_isa_array(cose) && cbor_array_is_definite(cose) && cbor_array_size(cose) == 4,
             TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    cbor_item_t **f = cbor_array_handle(cose);
    TR_CHECK(definite_bytes(f[0]) && cbor_isa_map(f[1]) && definite_bytes(f[2]) &&
                 definite_bytes(f[3]),
             TR_ERR_EIF_BAD_SIGNATURE_SECTION);

    /* Protected header: {1: alg}, alg matching the certificate's curve. */
    TR_TRY(eif_cbor_check(cbor_bytestring_handle(f[0]), cbor_bytestring_length(f[0])));
    prot = cbor_load(cbor_bytestring_handle(f[0]), cbor_bytestring_length(f[0]), &lr);
    TR_CHECK(prot && lr.error.code == CBOR_ERR_NONE && lr.read == cbor_bytestring_length(f[0]) &&
                 cbor_isa_map(prot) && cbor_map_is_definite(prot),
             TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    struct cbor_pair *pp = cbor_map_handle(prot);
    for (size_t i = 0; i < cbor_map_size(prot); i++) {
        if (cbor_isa_uint(pp[i].key) && cbor_get_int(pp[i].key) == 1 &&
            cbor_isa_negint(pp[i].value) && cbor_get_int(pp[i].value) < 64)
            alg = -1 - (int)cbor_get_int(pp[i].value);
    }
    TR_CHECK(alg != 0 && alg == want_alg, TR_ERR_EIF_SIGNATURE_INVALID);

    /* The payload must be exactly PcrInfo{0, pcr0}. */
    TR_TRY(pcr_payload(pcr0, &expect));
    TR_CHECK(cbor_bytestring_length(f[2]) == expect.len &&
                 memcmp(cbor_bytestring_handle(f[2]), expect.data, expect.len) == 0,
             TR_ERR_EIF_SIGNATURE_INVALID);
    TR_CHECK(cbor_bytestring_length(f[3]) == 2 * coord, TR_ERR_EIF_SIGNATURE_INVALID);

    TR_TRY(sig_structure(cbor_bytestring_handle(f[0]), cbor_bytestring_length(f[0]),
                         cbor_bytestring_handle(f[2]), cbor_bytestring_length(f[2]), &tbs));
    const uint8_t *raw = cbor_bytestring_handle(f[3]);
    es = ECDSA_SIG_new();
    r = BN_bin2bn(raw, (int)coord, NULL);
    sv = BN_bin2bn(raw + coord, (int)coord, NULL);
    TR_CHECK(es && r && sv && ECDSA_SIG_set0(es, r, sv) == 1, TR_ERR_NOMEM);
    r = sv = NULL; /* owned by es */
    int der_len = i2d_ECDSA_SIG(es, &der);
    TR_CHECK(der_len > 0, TR_ERR_OSSL);
    ctx = EVP_MD_CTX_new();
    TR_CHECK(ctx, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestVerifyInit(ctx, NULL, md, NULL, pub), TR_ERR_OSSL);
    TR_CHECK(EVP_DigestVerify(ctx, der, (size_t)der_len, tbs.data, tbs.len) == 1,
             TR_ERR_EIF_SIGNATURE_INVALID);
out:
    if (cose)
        cbor_decref(&cose);
    if (prot)
        cbor_decref(&prot);
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(es);
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
    X509_free(cert);
    tr_buf_free(&expect);
    tr_buf_free(&tbs);
    return res;
}
