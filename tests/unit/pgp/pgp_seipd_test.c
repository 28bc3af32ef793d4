/* pgp_seipd.c, pgp_pkesk.c, pgp_ecdh.c: SEIPD v2 chunking and tags, SEIPD v1
 * MDC (built here with OpenSSL's CFB), PKESK v6 round trip to our subkey. */
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "harness.h"
#include "pgp/pgp_internal.h"
#include "pgp_test_util.h"

static uint8_t SK[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                         17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* Encrypts `n` pattern octets as a SEIPD v2 packet and returns its body. */
static void v2_packet(size_t n, uint8_t chunk_octet, struct tr_buf *pkt, struct tr_slice *body)
{
    uint8_t *pt = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        pt[i] = (uint8_t)(i * 7);
    tr_buf_clear(pkt);
    EXPECT_OK(pgp_seipd_encrypt_v2(SK, 32, chunk_octet, tr_slice_of(pt, n), pkt));
    free(pt);
    struct tr_reader r;
    struct tr_buf s;
    struct pgp_packet p;
    tr_buf_init(&s, 1);
    tr_reader_init(&r, pkt->data, pkt->len);
    EXPECT_OK(pgp_packet_read(&r, &s, &p));
    *body = p.body;
    tr_buf_free(&s);
}

static tr_result dec(struct tr_slice body, const struct pgp_session_key *sk, size_t *n)
{
    struct tr_buf out;
    struct tr_slice data;
    tr_buf_init_secret(&out, body.len + 1);
    tr_result r = pgp_seipd_decrypt(body, sk, &out, &data);
    *n = data.len;
    if (tr_ok(r))
        for (size_t i = 0; i < data.len; i++)
            if (data.ptr[i] != (uint8_t)(i * 7)) {
                *n = (size_t)-1;
                break;
            }
    if (!tr_ok(r) && out.len != 0)
        *n = (size_t)-2; /* leftovers */
    tr_buf_free(&out);
    return r;
}

static void test_v2_round_trip(void)
{
    struct pgp_session_key sk = {.version = 6, .len = 32};
    memcpy(sk.key, SK, 32);
    struct tr_buf pkt;
    tr_buf_init(&pkt, 1 << 22);
    size_t sizes[] = {0, 1, 63, 64, 65, 128, 1000, 300000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct tr_slice body;
        size_t n = 0;
        v2_packet(sizes[i], i < 7 ? 0 : 12, &pkt, &body);
        EXPECT_OK(dec(body, &sk, &n));
        EXPECT_EQ(n, sizes[i]);
    }
    tr_buf_free(&pkt);
}

static void test_v2_tampering(void)
{
    struct pgp_session_key sk = {.version = 6, .len = 32};
    memcpy(sk.key, SK, 32);
    struct tr_buf pkt, m;
    tr_buf_init(&pkt, 1 << 20);
    tr_buf_init(&m, 1 << 20);
    struct tr_slice body;
    size_t n;
    /* 200 octets in 64-octet chunks: 4 chunks (64,64,64,8) + final tag. */
    v2_packet(200, 0, &pkt, &body);
    EXPECT_EQ(body.len, 36 + 200 + 5 * 16);
    uint8_t *b = (uint8_t *)body.ptr;
    b[body.len - 1] ^= 1; /* final tag */
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_BAD_AEAD_TAG);
    EXPECT_EQ(n, 0);
    b[body.len - 1] ^= 1;
    b[36 + 80 + 5] ^= 1; /* second chunk */
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_BAD_AEAD_TAG);
    b[36 + 80 + 5] ^= 1;
    /* Swap chunks 1 and 2: nonces differ. */
    uint8_t tmp[80];
    memcpy(tmp, b + 36, 80);
    memcpy(b + 36, b + 116, 80);
    memcpy(b + 116, tmp, 80);
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_BAD_AEAD_TAG);
    memcpy(b + 116, b + 36, 80);
    memcpy(b + 36, tmp, 80);
    EXPECT_OK(dec(body, &sk, &n));
    /* Drop the last chunk (8 octets + tag): the final tag covers the length. */
    tr_buf_clear(&m);
    EXPECT_OK(tr_buf_append(&m, b, 36 + 3 * 80));
    EXPECT_OK(tr_buf_append(&m, b + body.len - 16, 16));
    EXPECT_ERR(dec(tr_buf_slice(&m), &sk, &n), TR_ERR_PGP_BAD_AEAD_TAG);
    /* A trailing empty chunk after full ones is not a layout we accept. */
    v2_packet(128, 0, &pkt, &body);
    tr_buf_clear(&m);
    EXPECT_OK(tr_buf_append(&m, body.ptr, body.len - 16));
    uint8_t junk[16] = {0};
    EXPECT_OK(tr_buf_append(&m, junk, 16));
    EXPECT_OK(tr_buf_append(&m, body.ptr + body.len - 16, 16));
    EXPECT_ERR(dec(tr_buf_slice(&m), &sk, &n), TR_ERR_PGP_BAD_CHUNK_SIZE);
    /* Too short for a chunk tag and the final tag. */
    EXPECT_ERR(dec(tr_slice_of(body.ptr, 36 + 31), &sk, &n), TR_ERR_TRUNCATED);
    /* Header fields. */
    b = (uint8_t *)body.ptr;
    b[3] = 17;
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_BAD_CHUNK_SIZE);
    b[3] = 0;
    b[2] = 1; /* EAX */
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_UNSUPPORTED_AEAD);
    b[2] = 2;
    b[1] = 10; /* Twofish */
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_UNSUPPORTED_CIPHER);
    b[1] = PGP_SYM_AES128; /* a 32-octet v6 session key does not fit AES-128 */
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_BAD_SESSION_KEY);
    b[1] = PGP_SYM_AES256;
    b[0] = 3;
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_UNSUPPORTED_VERSION);
    b[0] = 2;
    sk.version = 3; /* a v3 PKESK's key with a v2 SEIPD */
    EXPECT_ERR(dec(body, &sk, &n), TR_ERR_PGP_VERSION_MISMATCH);
    EXPECT_ERR(pgp_seipd_encrypt_v2(SK, 32, 17, tr_slice_of(SK, 1), &pkt),
               TR_ERR_PGP_BAD_CHUNK_SIZE);
    tr_buf_free(&pkt);
    tr_buf_free(&m);
}

/* SEIPD v1 body: 1 || CFB(zero IV, prefix(16) || repeat(2) || data || D3 14 || SHA-1). */
static size_t v1_body(const uint8_t *key, size_t n, int break_mdc, uint8_t *out)
{
    uint8_t pt[2048];
    size_t len = 0;
    RAND_bytes(pt, 16);
    pt[16] = pt[14];
    pt[17] = pt[15];
    len = 18;
    for (size_t i = 0; i < n; i++)
        pt[len++] = (uint8_t)(i * 7);
    pt[len++] = 0xD3;
    pt[len++] = 0x14;
    unsigned int hl = 0;
    EVP_Digest(pt, len, pt + len, &hl, EVP_sha1(), NULL);
    len += 20;
    if (break_mdc == 1)
        pt[len - 1] ^= 1;
    if (break_mdc == 2)
        pt[len - 22] = 0xD2;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    static const uint8_t iv[16] = {0};
    int o1 = 0, o2 = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_cfb128(), NULL, key, iv);
    EVP_EncryptUpdate(c, out + 1, &o1, pt, (int)len);
    EVP_EncryptFinal_ex(c, out + 1 + o1, &o2);
    EVP_CIPHER_CTX_free(c);
    out[0] = 1;
    return 1 + len;
}

static void test_v1(void)
{
    struct pgp_session_key sk = {.version = 3, .sym = PGP_SYM_AES128, .len = 16};
    memcpy(sk.key, SK, 16);
    uint8_t body[2048];
    size_t n = 0;
    for (size_t size = 0; size < 600; size += 199) {
        size_t bl = v1_body(SK, size, 0, body);
        EXPECT_OK(dec(tr_slice_of(body, bl), &sk, &n));
        EXPECT_EQ(n, size);
        body[bl / 2] ^= 0x80; /* anywhere in the ciphertext */
        EXPECT_ERR(dec(tr_slice_of(body, bl), &sk, &n), TR_ERR_PGP_BAD_MDC);
        EXPECT_EQ(n, 0);
    }
    size_t bl = v1_body(SK, 10, 1, body);
    EXPECT_ERR(dec(tr_slice_of(body, bl), &sk, &n), TR_ERR_PGP_BAD_MDC);
    bl = v1_body(SK, 10, 2, body);
    EXPECT_ERR(dec(tr_slice_of(body, bl), &sk, &n), TR_ERR_PGP_BAD_MDC);
    bl = v1_body(SK, 10, 0, body);
    EXPECT_ERR(dec(tr_slice_of(body, 1 + 18 + 21), &sk, &n), TR_ERR_TRUNCATED);
    sk.sym = 3; /* CAST5 */
    EXPECT_ERR(dec(tr_slice_of(body, bl), &sk, &n), TR_ERR_PGP_UNSUPPORTED_CIPHER);
    sk.sym = PGP_SYM_AES128;
    sk.version = 6;
    EXPECT_ERR(dec(tr_slice_of(body, bl), &sk, &n), TR_ERR_PGP_VERSION_MISMATCH);
}

static void test_pkesk(void)
{
    struct pgp_key *k = NULL, *other = NULL;
    EXPECT_OK(test_key(0, &k));
    EXPECT_OK(test_key(1, &other));
    if (!k || !other)
        return;
    struct tr_buf pkt;
    tr_buf_init(&pkt, 4096);
    EXPECT_OK(pgp_pkesk_write_v6(&k->sub, SK, 32, &pkt));
    struct tr_slice body = tr_slice_of(pkt.data + 2, pkt.len - 2);
    EXPECT_EQ(pkt.data[1], body.len);
    uint8_t v = 0;
    int for_us = 0;
    EXPECT_OK(pgp_pkesk_addressed(body, k->sub.fpr, &v, &for_us));
    EXPECT_EQ(v, 6);
    EXPECT_EQ(for_us, 1);
    EXPECT_OK(pgp_pkesk_addressed(body, other->sub.fpr, &v, &for_us));
    EXPECT_EQ(for_us, 0);
    struct pgp_session_key sk;
    EXPECT_OK(pgp_pkesk_decrypt(body, k->enc, &k->sub, &sk));
    EXPECT_EQ(sk.len, 32);
    EXPECT_MEM_EQ(sk.key, SK, 32);
    EXPECT_ERR(pgp_pkesk_decrypt(body, other->enc, &other->sub, &sk), TR_ERR_PGP_NOT_FOR_US);
    /* Our fingerprint but another private key: the unwrap fails. */
    EXPECT_ERR(pgp_pkesk_decrypt(body, other->enc, &k->sub, &sk), TR_ERR_PGP_BAD_SESSION_KEY);
    /* Anonymous recipient (no fingerprint) is tried. */
    uint8_t anon[256];
    anon[0] = 6;
    anon[1] = 0;
    memcpy(anon + 2, body.ptr + 23, body.len - 23);
    EXPECT_OK(pgp_pkesk_decrypt(tr_slice_of(anon, body.len - 21), k->enc, &k->sub, &sk));
    /* Trailing octet, unknown version. */
    memcpy(anon, body.ptr, body.len);
    anon[body.len] = 0;
    EXPECT_ERR(pgp_pkesk_decrypt(tr_slice_of(anon, body.len + 1), k->enc, &k->sub, &sk),
               TR_ERR_TRAILING);
    anon[0] = 5;
    EXPECT_ERR(pgp_pkesk_decrypt(tr_slice_of(anon, body.len), k->enc, &k->sub, &sk),
               TR_ERR_PGP_UNSUPPORTED_VERSION);
    EXPECT_ERR(pgp_pkesk_write_v6(&k->sub, SK, 20, &pkt), TR_ERR_USAGE);
    tr_buf_free(&pkt);
    pgp_key_free(k);
    pgp_key_free(other);
}

int main(void)
{
    RUN_TEST(test_v2_round_trip);
    RUN_TEST(test_v2_tampering);
    RUN_TEST(test_v1);
    RUN_TEST(test_pkesk);
    return TEST_SUMMARY();
}
