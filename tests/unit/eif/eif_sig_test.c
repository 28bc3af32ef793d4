/* Signature section: nitro-cli's CBOR shape, COSE_Sign1 verification,
 * PCR8, and rejection of tampered or foreign inputs. */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "eif_testutil.h"
#include "harness.h"

static uint8_t pcr0[48];

static void test_p384_round_trip(void)
{
    EVP_PKEY *key = tu_ec_key("P-384");
    size_t cert_len;
    char *cert = tu_self_signed_pem(key, &cert_len);
    struct tr_buf sec;
    struct eif_signature s;
    tr_buf_init(&sec, EIF_MAX_SIGNATURE_SECTION);
    eif_signature_init(&s);
    EXPECT_TRUE(key && cert);
    EXPECT_OK(eif_sig_build(key, (const uint8_t *)cert, cert_len, pcr0, &sec));
    /* [ {"signing_certificate": [..]: 0x81 0xa2 0x73 "signing_certificate" */
    EXPECT_TRUE(sec.len > 30 && sec.data[0] == 0x81 && sec.data[1] == 0xa2 && sec.data[2] == 0x73);
    EXPECT_MEM_EQ(sec.data + 3, "signing_certificate", 19);
    EXPECT_OK(eif_sig_parse(sec.data, sec.len, &s));
    EXPECT_EQ(s.cert_pem.len, cert_len);
    EXPECT_MEM_EQ(s.cert_pem.data, cert, cert_len);
    /* COSE_Sign1, untagged: array(4), bstr protected = {1: -35} (a1 01 38 22). */
    EXPECT_TRUE(s.cose.len > 8 && s.cose.data[0] == 0x84 && s.cose.data[1] == 0x44);
    EXPECT_MEM_EQ(s.cose.data + 2, "\xa1\x01\x38\x22", 4);
    /* Payload: {"register_index": 0, "register_value": [48 uints]} */
    static const char payload_head[] = "\xa2\x6eregister_index\x00\x6eregister_value\x98\x30";
    EXPECT_TRUE(memmem(s.cose.data, s.cose.len, payload_head, sizeof(payload_head) - 1) != NULL);
    EXPECT_OK(eif_sig_verify(&s, pcr0));

    /* PCR8 = extend(SHA-384(DER)) */
    uint8_t p8[48], d[48], buf[96] = {0};
    unsigned int dl;
    EXPECT_OK(eif_sig_pcr8(&s, p8));
    BIO *bio = BIO_new_mem_buf(cert, (int)cert_len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    unsigned char *der = NULL;
    int der_len = i2d_X509(x, &der);
    EVP_Digest(der, (size_t)der_len, buf + 48, &dl, EVP_sha384(), NULL);
    EVP_Digest(buf, 96, d, &dl, EVP_sha384(), NULL);
    EXPECT_MEM_EQ(p8, d, 48);
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);

    /* Another PCR0 does not verify. */
    uint8_t other[48];
    memcpy(other, pcr0, 48);
    other[47] ^= 1;
    EXPECT_ERR(eif_sig_verify(&s, other), TR_ERR_EIF_SIGNATURE_INVALID);
    /* A flipped bit in the raw signature (the COSE's last byte). */
    s.cose.data[s.cose.len - 1] ^= 1;
    EXPECT_ERR(eif_sig_verify(&s, pcr0), TR_ERR_EIF_SIGNATURE_INVALID);
    s.cose.data[s.cose.len - 1] ^= 1;
    /* A cut COSE is malformed. */
    s.cose.len -= 1;
    EXPECT_ERR(eif_sig_verify(&s, pcr0), TR_ERR_EIF_BAD_SIGNATURE_SECTION);

    /* A cut section, trailing bytes, a wrong key name. */
    struct eif_signature t;
    eif_signature_init(&t);
    EXPECT_ERR(eif_sig_parse(sec.data, sec.len - 1, &t), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_OK(tr_buf_append_u8(&sec, 0));
    EXPECT_ERR(eif_sig_parse(sec.data, sec.len, &t), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    sec.len--;
    sec.data[3] = 'S';
    EXPECT_ERR(eif_sig_parse(sec.data, sec.len, &t), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_ERR(eif_sig_parse(sec.data, 0, &t), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    eif_signature_free(&t);

    eif_signature_free(&s);
    tr_buf_free(&sec);
    free(cert);
    EVP_PKEY_free(key);
}

static void test_p256_and_mismatch(void)
{
    EVP_PKEY *k256 = tu_ec_key("P-256"), *k384 = tu_ec_key("P-384");
    size_t l256, l384;
    char *c256 = tu_self_signed_pem(k256, &l256), *c384 = tu_self_signed_pem(k384, &l384);
    struct tr_buf sec;
    struct eif_signature s;
    tr_buf_init(&sec, EIF_MAX_SIGNATURE_SECTION);
    eif_signature_init(&s);
    EXPECT_OK(eif_sig_build(k256, (const uint8_t *)c256, l256, pcr0, &sec));
    EXPECT_OK(eif_sig_parse(sec.data, sec.len, &s));
    EXPECT_OK(eif_sig_verify(&s, pcr0));
    /* The ES256 COSE_Sign1 with a P-384 certificate: the algorithm must be
     * the certificate's. */
    tr_buf_clear(&s.cert_pem);
    EXPECT_OK(tr_buf_append(&s.cert_pem, c384, l384));
    EXPECT_ERR(eif_sig_verify(&s, pcr0), TR_ERR_EIF_SIGNATURE_INVALID);
    tr_buf_clear(&sec);
    /* P-521: ES512. */
    EVP_PKEY *k521 = tu_ec_key("P-521");
    size_t l521;
    char *c521 = tu_self_signed_pem(k521, &l521);
    EXPECT_OK(eif_sig_build(k521, (const uint8_t *)c521, l521, pcr0, &sec));
    EXPECT_OK(eif_sig_parse(sec.data, sec.len, &s));
    EXPECT_TRUE(s.cose.len > 8 && memcmp(s.cose.data + 2, "\xa1\x01\x38\x23", 4) == 0);
    EXPECT_OK(eif_sig_verify(&s, pcr0));
    free(c521);
    EVP_PKEY_free(k521);
    tr_buf_clear(&sec);
    /* Certificate of another key. */
    EXPECT_ERR(eif_sig_build(k256, (const uint8_t *)c384, l384, pcr0, &sec), TR_ERR_EIF_BAD_CERT);
    EXPECT_ERR(eif_sig_build(k256, (const uint8_t *)"junk", 4, pcr0, &sec), TR_ERR_EIF_BAD_CERT);
    /* Not an EC key. */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EXPECT_ERR(eif_sig_build(ed, (const uint8_t *)c256, l256, pcr0, &sec), TR_ERR_EIF_BAD_KEY);
    EVP_PKEY_free(ed);
    eif_signature_free(&s);
    tr_buf_free(&sec);
    free(c256);
    free(c384);
    EVP_PKEY_free(k256);
    EVP_PKEY_free(k384);
}

static void test_signed_image(void)
{
    EVP_PKEY *key = tu_ec_key("P-384");
    size_t cert_len, len;
    char *cert = tu_self_signed_pem(key, &cert_len);
    uint8_t kernel[256], rd[128];
    struct eif_build b;
    struct eif_pcrs w, r;
    struct eif_image img;
    tu_fill(kernel, sizeof(kernel), 5);
    tu_fill(rd, sizeof(rd), 6);
    eif_build_init(&b);
    b.kernel = eif_blob_mem(kernel, sizeof(kernel));
    b.cmdline = eif_blob_mem("c", 1);
    b.metadata = eif_blob_mem("{}", 2);
    b.ramdisks[0] = eif_blob_mem(rd, sizeof(rd));
    b.n_ramdisks = 1;
    b.sign_key = key;
    b.sign_cert_pem = (const uint8_t *)cert;
    b.sign_cert_len = cert_len;
    int fd = tu_memfd();
    EXPECT_OK(eif_write(&b, fd, &w));
    uint8_t *p = tu_slurp(fd, &len);
    EXPECT_OK(eif_parse(p, len, &img));
    EXPECT_EQ(img.signature, 4);
    EXPECT_OK(eif_image_pcrs(&img, &r));
    EXPECT_TRUE(w.has_pcr8 && r.has_pcr8);
    EXPECT_MEM_EQ(&w, &r, sizeof(w));
    struct eif_signature s;
    eif_signature_init(&s);
    const struct tr_slice *sd = &img.sections[img.signature].data;
    EXPECT_OK(eif_sig_parse(sd->ptr, sd->len, &s));
    EXPECT_OK(eif_sig_verify(&s, r.pcr0));
    eif_signature_free(&s);
    free(p);
    close(fd);
    free(cert);
    EVP_PKEY_free(key);
}

static void test_hostile_cbor(void)
{
    struct eif_signature s;
    eif_signature_init(&s);
    /* An array claiming 2^40 elements (libcbor would allocate them first). */
    static const uint8_t huge_array[] = {0x9b, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    static const uint8_t huge_map[] = {0x81, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0};
    static const uint8_t huge_bytes[] = {0x81, 0x5a, 0xff, 0xff, 0xff, 0xff, 0};
    static const uint8_t indefinite[] = {0x9f, 0xa0, 0xff};
    static const uint8_t reserved[] = {0x1c};
    uint8_t deep[40];
    memset(deep, 0x81, sizeof(deep));
    deep[sizeof(deep) - 1] = 0xa0;
    EXPECT_ERR(eif_sig_parse(huge_array, sizeof(huge_array), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_ERR(eif_sig_parse(huge_map, sizeof(huge_map), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_ERR(eif_sig_parse(huge_bytes, sizeof(huge_bytes), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_ERR(eif_sig_parse(indefinite, sizeof(indefinite), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_ERR(eif_sig_parse(reserved, sizeof(reserved), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_ERR(eif_sig_parse(deep, sizeof(deep), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    /* Well-formed but not nitro's shape: [{}], [{"signature": [256]}]. */
    static const uint8_t empty_map[] = {0x81, 0xa0};
    static const uint8_t big_uint[] = {0x81, 0xa1, 0x69, 's', 'i',  'g',  'n',  'a',
                                       't',  'u',  'r',  'e', 0x81, 0x19, 0x01, 0x00};
    EXPECT_ERR(eif_sig_parse(empty_map, sizeof(empty_map), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    EXPECT_ERR(eif_sig_parse(big_uint, sizeof(big_uint), &s), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    eif_signature_free(&s);
}

int main(void)
{
    tu_fill(pcr0, sizeof(pcr0), 42);
    RUN_TEST(test_p384_round_trip);
    RUN_TEST(test_p256_and_mismatch);
    RUN_TEST(test_signed_image);
    RUN_TEST(test_hostile_cbor);
    return TEST_SUMMARY();
}
