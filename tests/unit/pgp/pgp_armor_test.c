/* pgp_armor.c: CRC-24, armor encode, pgp_dearmor. */
#include "harness.h"
#include "pgp/pgp_internal.h"

static void test_crc24(void)
{
    EXPECT_EQ(pgp_crc24((const uint8_t *)"", 0), 0xB704CE);
    /* CRC-24/OPENPGP check value. */
    EXPECT_EQ(pgp_crc24((const uint8_t *)"123456789", 9), 0x21CF02);
}

static tr_result dearmor_str(const char *s, struct tr_buf *out)
{
    tr_buf_clear(out);
    return pgp_dearmor(s, strlen(s), out);
}

static void test_round_trip(void)
{
    struct tr_buf a, b;
    tr_buf_init(&a, 1 << 20);
    tr_buf_init(&b, 1 << 20);
    uint8_t data[200];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31);
    EXPECT_OK(pgp_armor_encode("MESSAGE", data, sizeof(data), &a));
    EXPECT_TRUE(strncmp((char *)a.data, "-----BEGIN PGP MESSAGE-----\n\n", 29) == 0);
    EXPECT_TRUE(strstr((char *)a.data, "\n-----END PGP MESSAGE-----\n") != NULL);
    EXPECT_OK(pgp_dearmor((char *)a.data, a.len, &b));
    EXPECT_EQ(b.len, sizeof(data));
    EXPECT_MEM_EQ(b.data, data, sizeof(data));
    tr_buf_free(&a);
    tr_buf_free(&b);
}

static void test_variants(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 1024);
    /* "hello" = aGVsbG8=, CRC-24 of "hello" = 0x47F58A -> R/WK */
    EXPECT_OK(dearmor_str("\r\n-----BEGIN PGP MESSAGE-----\r\nVersion: x\r\nComment: y\r\n\r\n"
                          "aGVs\r\nbG8=\r\n=R/WK\r\n-----END PGP MESSAGE-----\r\n\n",
                          &b));
    EXPECT_EQ(b.len, 5);
    EXPECT_MEM_EQ(b.data, "hello", 5);
    /* No checksum line, no blank line after BEGIN. */
    EXPECT_OK(dearmor_str("-----BEGIN PGP MESSAGE-----\naGVsbG8=\n-----END PGP MESSAGE-----", &b));
    EXPECT_EQ(b.len, 5);
    EXPECT_ERR(
        dearmor_str("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n=R/WL\n-----END PGP MESSAGE-----\n",
                    &b),
        TR_ERR_PGP_BAD_CRC);
    EXPECT_ERR(
        dearmor_str("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n=R/W\n-----END PGP MESSAGE-----\n",
                    &b),
        TR_ERR_PGP_BAD_ARMOR);
    EXPECT_ERR(
        dearmor_str("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n-----END PGP SIGNATURE-----\n", &b),
        TR_ERR_PGP_BAD_ARMOR);
    EXPECT_ERR(dearmor_str("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n", &b), TR_ERR_PGP_BAD_ARMOR);
    EXPECT_ERR(
        dearmor_str("-----BEGIN PGP MESSAGE-----\n\naGVsb*8=\n-----END PGP MESSAGE-----\n", &b),
        TR_ERR_PGP_BAD_ARMOR);
    EXPECT_ERR(dearmor_str("-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n", &b),
               TR_ERR_PGP_BAD_ARMOR);
    EXPECT_ERR(
        dearmor_str("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n-----END PGP MESSAGE-----\nx\n", &b),
        TR_ERR_TRAILING);
    EXPECT_ERR(dearmor_str("BEGIN PGP MESSAGE\n", &b), TR_ERR_PGP_BAD_ARMOR);
    EXPECT_ERR(dearmor_str("", &b), TR_ERR_PGP_BAD_ARMOR);
    /* Data after the checksum line. */
    EXPECT_ERR(
        dearmor_str("-----BEGIN PGP MESSAGE-----\n\n=R/WK\naGVsbG8=\n-----END PGP MESSAGE-----\n",
                    &b),
        TR_ERR_PGP_BAD_ARMOR);
    /* The output cap applies. */
    struct tr_buf small;
    tr_buf_init(&small, 3);
    EXPECT_ERR(
        dearmor_str("-----BEGIN PGP MESSAGE-----\n\naGVsbG8=\n-----END PGP MESSAGE-----\n", &small),
        TR_ERR_TOO_BIG);
    EXPECT_EQ(small.len, 0);
    tr_buf_free(&small);
    tr_buf_free(&b);
}

int main(void)
{
    RUN_TEST(test_crc24);
    RUN_TEST(test_round_trip);
    RUN_TEST(test_variants);
    return TEST_SUMMARY();
}
