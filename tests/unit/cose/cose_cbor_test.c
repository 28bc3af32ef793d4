/* cose_cbor: the bounded load (declared sizes, depth, item count, trailing
 * bytes, indefinite strings) and the checked accessors; cose_sign1 sign /
 * parse / verify round trip and its rejections. */
#include <string.h>

#include <cbor.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "harness.h"
#include "teerex/cose.h"
#include "teerex/limits.h"

#define E TR_ERR_ATTEST_INVALID_DOCUMENT

static int32_t load(const void *p, size_t n)
{
    struct cbor_item_t *it = NULL;
    tr_result r = cose_cbor_load(p, n, E, &it);
    if (it)
        cbor_decref(&it);
    return r.err;
}

static void test_load_limits(void)
{
    EXPECT_EQ(load("\x01", 1), TR_OK);
    EXPECT_EQ(load("", 0), E);
    EXPECT_EQ(load("\x01\x02", 2), E);                             /* trailing */
    EXPECT_EQ(load("\x82\x01", 2), E);                             /* truncated */
    EXPECT_EQ(load("\x9b\x00\x00\x00\x10\x00\x00\x00\x00", 9), E); /* 2^36 elements declared */
    EXPECT_EQ(load("\xbb\x00\x00\x00\x10\x00\x00\x00\x00", 9), E); /* 2^36 pairs declared */
    EXPECT_EQ(load("\x83\x01\x02", 3), E);                         /* 3 declared, 2 present */
    EXPECT_EQ(load("\x5f\x41\x00\xff", 4), E);                     /* indefinite byte string */
    EXPECT_EQ(load("\x7f\x61\x61\xff", 4), E);                     /* indefinite text string */
    EXPECT_EQ(load("\x9f\x01\x02\xff", 4), TR_OK);                 /* indefinite array */
    EXPECT_EQ(load("\xbf\x61\x61\x01\xff", 5), TR_OK);             /* indefinite map */
    EXPECT_EQ(load("\xbf\x61\x61\x01", 4), E);                     /* missing break */
    EXPECT_EQ(load("\x01\xff", 2), E);                             /* stray break */
    EXPECT_EQ(load("\xa1\x81\x01\x01", 4), E);                     /* array as a map key */
    EXPECT_EQ(load("\x1c", 1), E);                                 /* reserved additional info */
    /* depth: 8 nested arrays pass, 9 do not */
    uint8_t deep[16];
    memset(deep, 0x81, sizeof(deep));
    deep[8] = 0x01;
    EXPECT_EQ(load(deep, 9), TR_OK);
    deep[9] = 0x01;
    deep[8] = 0x81;
    EXPECT_EQ(load(deep, 10), E);
    /* item count: 4095 elements pass, 4096 + the array do not */
    uint8_t many[3 + 4100];
    many[0] = 0x99;
    many[1] = 0x0f;
    many[2] = 0xff; /* 4095 */
    memset(many + 3, 0x00, 4096);
    EXPECT_EQ(load(many, 3 + 4095), TR_OK);
    many[2] = 0x00;
    many[1] = 0x10; /* 4096 */
    EXPECT_EQ(load(many, 3 + 4096), E);
}

static void test_accessors(void)
{
    /* {"a": h'0102', "b": "xy", "c": -3, "d": null, "e": true, "f": 1.5, "a2": 7} */
    static const uint8_t m[] = {0xa7, 0x61, 'a',  0x42, 1,    2,    0x61, 'b',  0x62, 'x',
                                'y',  0x61, 'c',  0x22, 0x61, 'd',  0xf6, 0x61, 'e',  0xf5,
                                0x61, 'f',  0xf9, 0x3e, 0x00, 0x62, 'a',  '2',  0x07};
    struct cbor_item_t *map = NULL, *v = NULL;
    EXPECT_OK(cose_cbor_load(m, sizeof(m), E, &map));
    if (!map)
        return;
    struct tr_slice s;
    EXPECT_OK(cose_cbor_map_get(map, "a", E, &v));
    EXPECT_OK(cose_cbor_bytes(v, E, &s));
    EXPECT_EQ(s.len, 2);
    EXPECT_ERR(cose_cbor_text(v, E, &s), E);
    EXPECT_OK(cose_cbor_map_get(map, "b", E, &v));
    EXPECT_TRUE(cose_cbor_text_eq(v, "xy"));
    EXPECT_TRUE(!cose_cbor_text_eq(v, "x"));
    EXPECT_OK(cose_cbor_map_get(map, "c", E, &v));
    int64_t i64;
    uint64_t u64;
    EXPECT_OK(cose_cbor_int(v, E, &i64));
    EXPECT_EQ(i64, -3);
    EXPECT_ERR(cose_cbor_uint(v, E, &u64), E);
    EXPECT_OK(cose_cbor_map_get(map, "d", E, &v));
    EXPECT_TRUE(cose_cbor_is_null(v));
    EXPECT_OK(cose_cbor_map_get(map, "e", E, &v));
    bool b = false;
    EXPECT_OK(cose_cbor_bool(v, E, &b));
    EXPECT_TRUE(b);
    EXPECT_TRUE(!cose_cbor_is_null(v));
    /* a float is neither null nor bool (libcbor would assert) */
    EXPECT_OK(cose_cbor_map_get(map, "f", E, &v));
    EXPECT_TRUE(!cose_cbor_is_null(v));
    EXPECT_ERR(cose_cbor_bool(v, E, &b), E);
    EXPECT_OK(cose_cbor_map_get(map, "zz", E, &v));
    EXPECT_TRUE(v == NULL);
    EXPECT_OK(cose_cbor_map_unique(map, E));
    EXPECT_ERR(cose_cbor_map_get(v, "a", E, &v), E); /* not a map */
    cbor_decref(&map);
    /* duplicate keys */
    static const uint8_t dup[] = {0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02};
    EXPECT_OK(cose_cbor_load(dup, sizeof(dup), E, &map));
    EXPECT_ERR(cose_cbor_map_unique(map, E), E);
    EXPECT_ERR(cose_cbor_map_get(map, "a", E, &v), E);
    cbor_decref(&map);
    static const uint8_t dupi[] = {0xa2, 0x01, 0x01, 0x01, 0x02};
    EXPECT_OK(cose_cbor_load(dupi, sizeof(dupi), E, &map));
    EXPECT_ERR(cose_cbor_map_get_int(map, 1, E, &v), E);
    cbor_decref(&map);
}

static void test_sign1_roundtrip(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-384"), *k2 = EVP_EC_gen("P-384"), *p256 = EVP_EC_gen("P-256");
    struct tr_buf doc;
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    EXPECT_OK(cose_sign1_sign((const uint8_t *)"payload", 7, k, &doc));
    EXPECT_ERR(cose_sign1_sign((const uint8_t *)"payload", 7, p256, &doc), TR_ERR_USAGE);
    struct cose_sign1 s;
    EXPECT_OK(cose_sign1_parse(doc.data, doc.len, &s));
    EXPECT_EQ(s.alg, COSE_ALG_ES384);
    EXPECT_EQ(s.payload.len, 7);
    EXPECT_MEM_EQ(s.payload.ptr, "payload", 7);
    EXPECT_OK(cose_sign1_verify(&s, k));
    EXPECT_ERR(cose_sign1_verify(&s, k2), TR_ERR_ATTEST_SIGNATURE_FAILED);
    EXPECT_ERR(cose_sign1_verify(&s, p256), TR_ERR_ATTEST_SIGNATURE_FAILED);
    cose_sign1_free(&s);
    /* Sig_structure bytes: ["Signature1", h'a1013822', h'', h'7061796c6f6164'] */
    struct tr_buf tbs;
    tr_buf_init(&tbs, 1024);
    static const uint8_t prot[] = {0xa1, 0x01, 0x38, 0x22};
    EXPECT_OK(cose_sign1_tbs(tr_slice_of(prot, 4), tr_slice_of("payload", 7), &tbs));
    static const uint8_t want[] = {0x84, 0x6a, 'S', 'i',  'g',  'n',  'a',  't',  'u',
                                   'r',  'e',  '1', 0x44, 0xa1, 0x01, 0x38, 0x22, 0x40,
                                   0x47, 'p',  'a', 'y',  'l',  'o',  'a',  'd'};
    EXPECT_EQ(tbs.len, sizeof(want));
    EXPECT_MEM_EQ(tbs.data, want, sizeof(want));
    tr_buf_free(&tbs);
    /* tag 18 in both head encodings; tag 98 refused */
    uint8_t t[512];
    t[0] = 0xd2;
    memcpy(t + 1, doc.data, doc.len);
    EXPECT_OK(cose_sign1_parse(t, doc.len + 1, &s));
    EXPECT_TRUE(s.tagged);
    cose_sign1_free(&s);
    t[0] = 0xd8;
    t[1] = 0x12;
    memcpy(t + 2, doc.data, doc.len);
    EXPECT_OK(cose_sign1_parse(t, doc.len + 2, &s));
    cose_sign1_free(&s);
    t[1] = 0x62;
    EXPECT_ERR(cose_sign1_parse(t, doc.len + 2, &s), TR_ERR_ATTEST_INVALID_COSE);
    EXPECT_TRUE(s.root == NULL);
    EXPECT_ERR(cose_sign1_parse(NULL, 0, &s), TR_ERR_ATTEST_INVALID_COSE);
    tr_buf_free(&doc);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(p256);
}

/* The algorithm is a parameter (EIF signatures: the signer's curve). */
static void test_sign1_algs(void)
{
    const char *curves[] = {"P-256", "P-384", "P-521"};
    const int64_t ids[] = {COSE_ALG_ES256, COSE_ALG_ES384, COSE_ALG_ES512};
    const uint8_t prot[3][4] = {
        {0xa1, 0x01, 0x26}, {0xa1, 0x01, 0x38, 0x22}, {0xa1, 0x01, 0x38, 0x23}};
    const size_t prot_len[3] = {3, 4, 4};
    EVP_PKEY *keys[3];
    for (int i = 0; i < 3; i++)
        keys[i] = EVP_EC_gen(curves[i]);
    for (int i = 0; i < 3; i++) {
        const struct cose_alg *alg = cose_alg_of_key(keys[i]);
        EXPECT_TRUE(alg != NULL && alg->id == ids[i] && alg == cose_alg_find(ids[i]));
        struct tr_buf doc;
        tr_buf_init(&doc, 4096);
        EXPECT_OK(cose_sign1_sign_alg(ids[i], (const uint8_t *)"pcr", 3, keys[i], &doc));
        EXPECT_ERR(cose_sign1_sign_alg(ids[(i + 1) % 3], (const uint8_t *)"pcr", 3, keys[i], &doc),
                   TR_ERR_USAGE);
        struct cose_sign1 s;
        EXPECT_OK(cose_sign1_decode(doc.data, doc.len, E, &s));
        EXPECT_EQ(s.alg, ids[i]);
        EXPECT_EQ(s.signature.len, 2 * (alg ? alg->coord : 0));
        EXPECT_EQ(s.protected_hdr.len, prot_len[i]);
        EXPECT_MEM_EQ(s.protected_hdr.ptr, prot[i], prot_len[i]);
        EXPECT_OK(cose_sign1_verify_alg(&s, keys[i], E));
        /* A key on another curve, another key on the same curve. */
        EXPECT_ERR(cose_sign1_verify_alg(&s, keys[(i + 1) % 3], E), E);
        EVP_PKEY *other = EVP_EC_gen(curves[i]);
        EXPECT_ERR(cose_sign1_verify_alg(&s, other, E), E);
        EVP_PKEY_free(other);
        /* Attestation documents are ES384 only. */
        struct cose_sign1 t;
        EXPECT_ERR(cose_sign1_parse(doc.data, doc.len, &t),
                   ids[i] == COSE_ALG_ES384 ? TR_OK : TR_ERR_ATTEST_INVALID_COSE);
        cose_sign1_free(&t);
        /* A flipped bit of the signature. */
        ((uint8_t *)s.signature.ptr)[0] ^= 1;
        EXPECT_ERR(cose_sign1_verify_alg(&s, keys[i], E), E);
        cose_sign1_free(&s);
        tr_buf_free(&doc);
    }
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EXPECT_TRUE(cose_alg_of_key(ed) == NULL && cose_alg_find(-8) == NULL);
    struct tr_buf doc;
    tr_buf_init(&doc, 4096);
    EXPECT_ERR(cose_sign1_sign_alg(-8, (const uint8_t *)"x", 1, ed, &doc), TR_ERR_USAGE);
    /* [h'a0' (no alg), {}, h'', h''] and [h'a10126', {1: -7}, h'', h'']. */
    static const uint8_t no_alg[] = {0x84, 0x41, 0xa0, 0xa0, 0x40, 0x40};
    static const uint8_t alg_twice[] = {0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x01, 0x26, 0x40, 0x40};
    struct cose_sign1 s;
    EXPECT_ERR(cose_sign1_decode(no_alg, sizeof(no_alg), E, &s), E);
    EXPECT_ERR(cose_sign1_decode(alg_twice, sizeof(alg_twice), E, &s), E);
    EXPECT_TRUE(s.root == NULL);
    tr_buf_free(&doc);
    EVP_PKEY_free(ed);
    for (int i = 0; i < 3; i++)
        EVP_PKEY_free(keys[i]);
}

int main(void)
{
    RUN_TEST(test_load_limits);
    RUN_TEST(test_accessors);
    RUN_TEST(test_sign1_roundtrip);
    RUN_TEST(test_sign1_algs);
    return TEST_SUMMARY();
}
