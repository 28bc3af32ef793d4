/* pgp_decrypt.c and pgp_encrypt.c end to end: our encrypt -> our decrypt,
 * the outer message grammar, recipients, caps, and the rule that nothing is
 * appended to the caller's buffer on failure. */
#include "harness.h"
#include "pgp/pgp_internal.h"
#include "pgp_test_util.h"

static struct pgp_key *key, *other;
static struct pgp_pubkey *pub;

static tr_result dec(const struct tr_buf *msg, size_t max, struct tr_buf *out)
{
    struct pgp_decrypt_opts o = {.max_plaintext = max};
    return pgp_decrypt(key, msg->data, msg->len, &o, out);
}

static void setup(void)
{
    EXPECT_OK(test_key(0, &key));
    EXPECT_OK(test_key(1, &other));
    struct tr_buf arm;
    tr_buf_init(&arm, 1 << 16);
    EXPECT_OK(pgp_key_armored_public(key, &arm));
    EXPECT_OK(pgp_pubkey_parse_armored((const char *)arm.data, arm.len, &pub));
    tr_buf_free(&arm);
}

static void test_round_trip(void)
{
    size_t sizes[] = {0, 1, 65535, 262144, 262145, 1000003};
    uint8_t *pt = malloc(1000003);
    for (size_t i = 0; i < 1000003; i++)
        pt[i] = (uint8_t)(i ^ (i >> 9));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct tr_buf msg, out;
        tr_buf_init(&msg, 2 << 20);
        tr_buf_init_secret(&out, 2 << 20);
        EXPECT_OK(pgp_encrypt(pub, pt, sizes[i], &msg));
        /* PKESK v6 then SEIPD v2 AES-256-OCB. */
        EXPECT_EQ(msg.data[0], 0xC0 | PGP_TAG_PKESK);
        EXPECT_EQ(msg.data[2], 6);
        EXPECT_OK(dec(&msg, 0, &out));
        EXPECT_EQ(out.len, sizes[i]);
        EXPECT_TRUE(out.len == sizes[i] && memcmp(out.data, pt, sizes[i]) == 0);
        tr_buf_free(&msg);
        tr_buf_free(&out);
    }
    free(pt);
}

static void test_failures_leave_output(void)
{
    struct tr_buf msg, out, m;
    tr_buf_init(&msg, 1 << 20);
    tr_buf_init(&m, 1 << 20);
    tr_buf_init_secret(&out, 1 << 20);
    const uint8_t pt[1000] = {7};
    EXPECT_OK(pgp_encrypt(pub, pt, sizeof(pt), &msg));
    EXPECT_OK(tr_buf_append(&out, "keep", 4));
    /* Flipped bit in the last octet (final tag). */
    msg.data[msg.len - 1] ^= 1;
    EXPECT_ERR(dec(&msg, 0, &out), TR_ERR_PGP_BAD_AEAD_TAG);
    msg.data[msg.len - 1] ^= 1;
    EXPECT_EQ(out.len, 4);
    /* Truncated, extended, empty. */
    msg.len--;
    EXPECT_ERR(dec(&msg, 0, &out), TR_ERR_TRUNCATED);
    msg.len++;
    EXPECT_OK(tr_buf_append_u8(&msg, 0));
    EXPECT_ERR(dec(&msg, 0, &out), TR_ERR_TRAILING);
    msg.len--;
    EXPECT_ERR(pgp_decrypt(key, msg.data, 0, NULL, &out), TR_ERR_PGP_NO_DATA);
    EXPECT_ERR(pgp_decrypt(key, NULL, 5, NULL, &out), TR_ERR_NULL_ARG);
    /* Over the plaintext cap, and over the caller's buffer cap. */
    EXPECT_ERR(dec(&msg, 999, &out), TR_ERR_PGP_PLAINTEXT_LIMIT);
    struct tr_buf small;
    tr_buf_init_secret(&small, 500);
    EXPECT_ERR(dec(&msg, 0, &small), TR_ERR_TOO_BIG);
    EXPECT_EQ(small.len, 0);
    tr_buf_free(&small);
    EXPECT_EQ(out.len, 4);
    /* Another recipient. */
    EXPECT_ERR(pgp_decrypt(other, msg.data, msg.len, NULL, &out), TR_ERR_PGP_NOT_FOR_US);
    EXPECT_EQ(out.len, 4);
    EXPECT_OK(dec(&msg, 0, &out));
    EXPECT_EQ(out.len, 4 + sizeof(pt));
    tr_buf_free(&msg);
    tr_buf_free(&m);
    tr_buf_free(&out);
}

/* Outer grammar: marker/padding/SKESK skipped, tag 9 refused, packets after
 * the SEIPD refused, no SEIPD at all. */
static void test_outer_grammar(void)
{
    struct tr_buf msg, m, out;
    tr_buf_init(&msg, 1 << 20);
    tr_buf_init(&m, 1 << 20);
    tr_buf_init_secret(&out, 1 << 20);
    const uint8_t pt[10] = {1, 2, 3};
    EXPECT_OK(pgp_encrypt(pub, pt, sizeof(pt), &msg));
    size_t pkesk_len = 2 + msg.data[1];
    static const uint8_t marker[] = {0xC0 | PGP_TAG_MARKER, 3, 'P', 'G', 'P'};
    static const uint8_t padding[] = {0xC0 | PGP_TAG_PADDING, 2, 0, 0};
    EXPECT_OK(tr_buf_append(&m, marker, sizeof(marker)));
    EXPECT_OK(tr_buf_append(&m, msg.data, pkesk_len));
    EXPECT_OK(tr_buf_append(&m, padding, sizeof(padding)));
    EXPECT_OK(tr_buf_append(&m, msg.data + pkesk_len, msg.len - pkesk_len));
    EXPECT_OK(dec(&m, 0, &out));
    EXPECT_EQ(out.len, sizeof(pt));
    tr_buf_clear(&out);
    /* A second PKESK addressed to someone else, first. */
    struct tr_buf other_msg;
    tr_buf_init(&other_msg, 1 << 20);
    struct tr_buf arm;
    tr_buf_init(&arm, 1 << 16);
    struct pgp_pubkey *opub = NULL;
    EXPECT_OK(pgp_key_armored_public(other, &arm));
    EXPECT_OK(pgp_pubkey_parse_armored((const char *)arm.data, arm.len, &opub));
    EXPECT_OK(pgp_encrypt(opub, pt, sizeof(pt), &other_msg));
    tr_buf_clear(&m);
    EXPECT_OK(tr_buf_append(&m, other_msg.data, 2 + other_msg.data[1]));
    EXPECT_OK(tr_buf_append(&m, msg.data, msg.len));
    EXPECT_OK(dec(&m, 0, &out));
    /* Only the other's PKESK. */
    EXPECT_ERR(dec(&other_msg, 0, &out), TR_ERR_PGP_NOT_FOR_US);
    /* Tag 9 instead of 18. */
    tr_buf_clear(&m);
    EXPECT_OK(tr_buf_append(&m, msg.data, msg.len));
    m.data[pkesk_len] = 0xC0 | PGP_TAG_SED;
    EXPECT_ERR(dec(&m, 0, &out), TR_ERR_PGP_SED_REJECTED);
    /* Literal data outside encryption. */
    m.data[pkesk_len] = 0xC0 | PGP_TAG_LITERAL;
    EXPECT_ERR(dec(&m, 0, &out), TR_ERR_PGP_UNEXPECTED_PACKET);
    /* Only PKESKs. */
    tr_buf_clear(&m);
    EXPECT_OK(tr_buf_append(&m, msg.data, pkesk_len));
    EXPECT_ERR(dec(&m, 0, &out), TR_ERR_PGP_NO_DATA);
    /* Too many PKESKs. */
    tr_buf_clear(&m);
    for (int i = 0; i < 17; i++)
        EXPECT_OK(tr_buf_append(&m, msg.data, pkesk_len));
    EXPECT_ERR(dec(&m, 0, &out), TR_ERR_PGP_TOO_MANY_PACKETS);
    pgp_pubkey_free(opub);
    tr_buf_free(&arm);
    tr_buf_free(&other_msg);
    tr_buf_free(&msg);
    tr_buf_free(&m);
    tr_buf_free(&out);
}

int main(void)
{
    setup();
    if (!key || !other || !pub)
        return TEST_SUMMARY();
    RUN_TEST(test_round_trip);
    RUN_TEST(test_failures_leave_output);
    RUN_TEST(test_outer_grammar);
    pgp_pubkey_free(pub);
    pgp_key_free(key);
    pgp_key_free(other);
    return TEST_SUMMARY();
}
