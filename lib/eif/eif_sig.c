/* The EIF signature section (nitro-cli --signing-certificate/--private-key)
 * and the PCR8 of its certificate.
 *
 * nitro-cli serialises Rust structs with serde_cbor, whose encoding of a
 * Vec<u8> is a CBOR array of small unsigned integers, not a byte string; no
 * library reproduces that container, so it is built and read here with
 * lib/cose's CBOR helpers (bounded load, builders). The COSE_Sign1 inside
 * is lib/cose's (untagged, protected {1: alg}, empty unprotected map, raw
 * r||s), with the algorithm of the signer's curve: ES384 for the P-384 keys
 * nitro-cli documents, ES256/ES512 for P-256/P-521.
 */
#include <string.h>

#include <cbor.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "teerex/cose.h"
#include "teerex/eif.h"

#define E_SECTION TR_ERR_EIF_BAD_SIGNATURE_SECTION

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

/* serde_cbor's Vec<u8>: an array of uints. */
static cbor_item_t *uint_array(const uint8_t *p, size_t n)
{
    cbor_item_t *a = cbor_new_definite_array(n);
    for (size_t i = 0; a != NULL && i < n; i++) {
        cbor_item_t *v = cbor_build_uint8(p[i]);
        bool ok = v != NULL && cbor_array_push(a, v);
        if (v != NULL)
            cbor_decref(&v);
        if (!ok)
            cbor_decref(&a);
    }
    return a;
}

/* PcrInfo {register_index: 0, register_value: pcr0}: what the COSE_Sign1
 * signs. */
static TR_RESULT pcr_payload(const uint8_t pcr0[EIF_PCR_LEN], struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    cbor_item_t *m = cbor_new_definite_map(2);
    TR_CHECK(m != NULL && cose_cbor_put(m, "register_index", cbor_build_uint8(0)) &&
                 cose_cbor_put(m, "register_value", uint_array(pcr0, EIF_PCR_LEN)),
             TR_ERR_NOMEM);
    TR_TRY(cose_cbor_serialize(m, out));
out:
    if (m != NULL)
        cbor_decref(&m);
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
    TR_ENSURE(key && cert_pem && pcr0 && out_section, TR_ERR_NULL_ARG);
    const struct cose_alg *alg = cose_alg_of_key(key);
    TR_ENSURE(alg != NULL, TR_ERR_EIF_BAD_KEY);
    tr_result res = TR_SUCCESS;
    X509 *cert = NULL;
    cbor_item_t *entry = NULL;
    struct tr_buf payload, cose;
    tr_buf_init(&payload, 4096);
    tr_buf_init(&cose, EIF_MAX_SIGNATURE_SECTION);
    TR_TRY(load_cert(cert_pem, cert_len, &cert));
    TR_CHECK(X509_check_private_key(cert, key) == 1, TR_ERR_EIF_BAD_CERT);
    TR_TRY(pcr_payload(pcr0, &payload));
    TR_TRY(cose_sign1_sign_alg(alg->id, payload.data, payload.len, key, &cose));
    /* [ {signing_certificate: [...], signature: [...]} ] */
    entry = cbor_new_definite_map(2);
    TR_CHECK(entry != NULL &&
                 cose_cbor_put(entry, "signing_certificate", uint_array(cert_pem, cert_len)) &&
                 cose_cbor_put(entry, "signature", uint_array(cose.data, cose.len)),
             TR_ERR_NOMEM);
    cbor_item_t *items[1] = {entry};
    entry = NULL; /* serialize_array takes it */
    TR_TRY(cose_cbor_serialize_array(items, 1, out_section));
out:
    if (entry != NULL)
        cbor_decref(&entry);
    X509_free(cert);
    tr_buf_free(&payload);
    tr_buf_free(&cose);
    return res;
}

/* ------------------------------------------------------------- parsing */

/* An array of uints <= 255 into bytes. */
static TR_RESULT uints_to_bytes(const cbor_item_t *a, struct tr_buf *out)
{
    TR_ENSURE(cbor_isa_array(a) && cbor_array_is_definite(a), E_SECTION);
    size_t n = cbor_array_size(a);
    cbor_item_t **items = cbor_array_handle(a);
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        TR_GUARD(cose_cbor_uint(items[i], E_SECTION, &v));
        TR_ENSURE(v <= 255, E_SECTION);
        TR_GUARD(tr_buf_append_u8(out, (uint8_t)v));
    }
    return TR_SUCCESS;
}

TR_RESULT eif_sig_parse(const uint8_t *p, size_t n, struct eif_signature *out)
{
    tr_result res = TR_SUCCESS;
    cbor_item_t *root = NULL;
    bool have_cert = false, have_sig = false;
    tr_buf_clear(&out->cert_pem);
    tr_buf_clear(&out->cose);
    TR_CHECK(p && n > 0 && n <= EIF_MAX_SIGNATURE_SECTION, E_SECTION);
    /* One item per octet at most: serde's byte arrays are one item each. */
    TR_TRY(cose_cbor_load_max(p, n, n, E_SECTION, &root));
    /* nitro-cli writes one entry (PCR0) and reads only the first. */
    TR_CHECK(cbor_isa_array(root) && cbor_array_is_definite(root) && cbor_array_size(root) >= 1,
             E_SECTION);
    const cbor_item_t *entry = cbor_array_handle(root)[0];
    TR_CHECK(cbor_isa_map(entry) && cbor_map_is_definite(entry), E_SECTION);
    struct cbor_pair *pairs = cbor_map_handle(entry);
    for (size_t i = 0; i < cbor_map_size(entry); i++) {
        if (cose_cbor_text_eq(pairs[i].key, "signing_certificate") && !have_cert) {
            TR_TRY(uints_to_bytes(pairs[i].value, &out->cert_pem));
            have_cert = true;
        } else if (cose_cbor_text_eq(pairs[i].key, "signature") && !have_sig) {
            TR_TRY(uints_to_bytes(pairs[i].value, &out->cose));
            have_sig = true;
        } else {
            TR_FAIL(E_SECTION);
        }
    }
    TR_CHECK(have_cert && have_sig && out->cert_pem.len > 0 && out->cose.len > 0, E_SECTION);
out:
    if (root)
        cbor_decref(&root);
    return res;
}

TR_RESULT eif_pcr8_from_der(const uint8_t *der, size_t n, uint8_t out[EIF_PCR_LEN])
{
    uint8_t d[EIF_PCR_LEN];
    unsigned int len = 0;
    TR_ENSURE_REF(der);
    TR_GUARD_OSSL(EVP_Digest(der, n, d, &len, EVP_sha384(), NULL), TR_ERR_OSSL);
    return eif_pcr_extend(d, out);
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

TR_RESULT eif_sig_verify(const struct eif_signature *s, const uint8_t pcr0[EIF_PCR_LEN])
{
    tr_result res = TR_SUCCESS;
    X509 *cert = NULL;
    EVP_PKEY *pub = NULL;
    struct cose_sign1 cose = {0};
    struct tr_buf expect;
    tr_buf_init(&expect, 4096);
    TR_TRY(load_cert(s->cert_pem.data, s->cert_pem.len, &cert));
    pub = X509_get_pubkey(cert);
    TR_CHECK(pub, TR_ERR_EIF_BAD_CERT);
    const struct cose_alg *alg = cose_alg_of_key(pub);
    TR_CHECK(alg != NULL, TR_ERR_EIF_BAD_KEY);
    TR_TRY(cose_sign1_decode(s->cose.data, s->cose.len, E_SECTION, &cose));
    /* The algorithm of the certificate's curve, over exactly PcrInfo{0, pcr0}. */
    TR_CHECK(cose.alg == alg->id, TR_ERR_EIF_SIGNATURE_INVALID);
    TR_TRY(pcr_payload(pcr0, &expect));
    TR_CHECK(cose.payload.len == expect.len &&
                 memcmp(cose.payload.ptr, expect.data, expect.len) == 0,
             TR_ERR_EIF_SIGNATURE_INVALID);
    TR_TRY(cose_sign1_verify_alg(&cose, pub, TR_ERR_EIF_SIGNATURE_INVALID));
out:
    cose_sign1_free(&cose);
    EVP_PKEY_free(pub);
    X509_free(cert);
    tr_buf_free(&expect);
    return res;
}
