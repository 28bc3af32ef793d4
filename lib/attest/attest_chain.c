/* Certificate chain of an attestation document: a trusted root (the pinned
 * AWS root, fingerprint-checked, or a root the caller passes explicitly) ->
 * cabundle[1..] -> leaf, with OpenSSL's X509 verification at a given time. */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest_internal.h"

#define E_CHAIN TR_ERR_ATTEST_CHAIN_FAILED

static X509 *aws_root;
static int aws_root_err;
static pthread_once_t aws_root_once = PTHREAD_ONCE_INIT;

static void load_aws_root(void)
{
    const char *pem = attest_aws_root_pem();
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    uint8_t fp[32];
    unsigned int fplen = 0;
    if (x == NULL || X509_digest(x, EVP_sha256(), fp, &fplen) != 1 || fplen != sizeof(fp) ||
        CRYPTO_memcmp(fp, ATTEST_AWS_ROOT_SHA256, sizeof(fp)) != 0) {
        X509_free(x);
        aws_root_err = TR_ERR_ATTEST_ROOT_PIN;
        return;
    }
    aws_root = x;
}

static tr_result get_aws_root(X509 **out)
{
    *out = NULL;
    TR_ENSURE(pthread_once(&aws_root_once, load_aws_root) == 0, TR_ERR_SYS);
    TR_ENSURE(aws_root != NULL, aws_root_err ? aws_root_err : TR_ERR_ATTEST_ROOT_PIN);
    *out = aws_root;
    return TR_SUCCESS;
}

static X509 *der_to_x509(struct tr_slice s)
{
    const unsigned char *p = s.ptr;
    if (s.len == 0 || s.len > TR_MAX_ATTEST_DOC)
        return NULL;
    X509 *x = d2i_X509(NULL, &p, (long)s.len);
    if (x != NULL && p != s.ptr + s.len) { /* trailing bytes after the certificate */
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool same_cert(X509 *x, struct tr_slice der)
{
    unsigned char *buf = NULL;
    int n = i2d_X509(x, &buf);
    bool eq = n > 0 && (size_t)n == der.len && memcmp(buf, der.ptr, der.len) == 0;
    OPENSSL_free(buf);
    return eq;
}

static int64_t asn1_to_unix(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void describe_leaf(X509 *leaf, struct attest_result *out)
{
    X509_NAME_oneline(X509_get_subject_name(leaf), out->cert_subject, sizeof(out->cert_subject));
    out->cert_not_before = asn1_to_unix(X509_get0_notBefore(leaf));
    out->cert_not_after = asn1_to_unix(X509_get0_notAfter(leaf));
}

static bool time_error(int e)
{
    return e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID;
}

tr_result attest_chain_verify(const struct attest_parsed *p, const struct attest_expect *exp,
                              time_t at, struct attest_result *out, EVP_PKEY **leaf_key)
{
    TR_ENSURE_REF(leaf_key);
    *leaf_key = NULL;
    tr_result res = TR_SUCCESS;
    X509 *leaf = NULL, *extra = NULL, *aws = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;

    leaf = der_to_x509(p->cert);
    if (leaf == NULL) {
        attest_detail(out, "the leaf certificate is not DER X.509");
        TR_FAIL(E_CHAIN);
    }
    describe_leaf(leaf, out);
    if (exp->extra_root_pem != NULL) {
        BIO *bio = BIO_new_mem_buf(exp->extra_root_pem, -1);
        extra = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (extra == NULL) {
            attest_detail(out, "the extra root is not a PEM certificate");
            TR_FAIL(TR_ERR_ATTEST_BAD_ROOT);
        }
    }
    if (!exp->only_extra_root)
        TR_TRY(get_aws_root(&aws));
    TR_CHECK(aws != NULL || extra != NULL, TR_ERR_ATTEST_BAD_ROOT);
    if (p->n_cabundle == 0) {
        attest_detail(out, "cabundle is null or empty: no path to a trusted root");
        TR_FAIL(E_CHAIN);
    }
    if (!((aws && same_cert(aws, p->cabundle[0])) || (extra && same_cert(extra, p->cabundle[0])))) {
        attest_detail(out, "cabundle[0] is not a trusted root");
        TR_FAIL(E_CHAIN);
    }
    untrusted = sk_X509_new_null();
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    TR_CHECK(untrusted != NULL && store != NULL && ctx != NULL, TR_ERR_NOMEM);
    for (size_t i = 1; i < p->n_cabundle; i++) {
        X509 *x = der_to_x509(p->cabundle[i]);
        if (x == NULL) {
            attest_detail(out, "cabundle[%zu] is not DER X.509", i);
            TR_FAIL(E_CHAIN);
        }
        if (!sk_X509_push(untrusted, x)) {
            X509_free(x);
            TR_FAIL(TR_ERR_NOMEM);
        }
    }
    if (aws != NULL)
        TR_CHECK_OSSL(X509_STORE_add_cert(store, aws), TR_ERR_OSSL);
    if (extra != NULL)
        TR_CHECK_OSSL(X509_STORE_add_cert(store, extra), TR_ERR_OSSL);
    TR_CHECK_OSSL(X509_STORE_CTX_init(ctx, store, leaf, untrusted), TR_ERR_OSSL);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, at);
    /* Not X509_V_FLAG_X509_STRICT: AWS leaf certificates carry no Authority
     * Key Identifier. CA basic constraints, path length and the issuers'
     * keyCertSign usage are checked by OpenSSL's default verification. */
    X509_VERIFY_PARAM_set_depth(param, ATTEST_MAX_CABUNDLE);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        attest_detail(out, "X.509 verification at %lld: %s (depth %d)", (long long)at,
                      X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
        TR_FAIL(time_error(e) ? TR_ERR_ATTEST_EXPIRED : E_CHAIN);
    }
    /* The leaf signs documents: not a CA, digitalSignature when key usage is present. */
    uint32_t xflags = X509_get_extension_flags(leaf);
    if (X509_check_ca(leaf) != 0 ||
        ((xflags & EXFLAG_KUSAGE) && !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))) {
        attest_detail(out, "the leaf certificate is a CA or may not sign");
        TR_FAIL(E_CHAIN);
    }
    *leaf_key = X509_get_pubkey(leaf);
    TR_CHECK(*leaf_key != NULL, E_CHAIN);
    out->chain_ok = true;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(extra);
    X509_free(leaf);
    return res;
}
