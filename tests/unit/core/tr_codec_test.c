#include "harness.h"
#include "teerex/codec.h"

static void test_base64(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 0);
    EXPECT_OK(tr_b64_encode((const uint8_t *)"hello", 5, &b));
    EXPECT_STR_EQ((char *)b.data, "aGVsbG8=");
    tr_buf_clear(&b);
    EXPECT_OK(tr_b64_decode("aGVsbG8=", 8, &b));
    EXPECT_EQ(b.len, 5);
    EXPECT_MEM_EQ(b.data, "hello", 5);
    tr_buf_clear(&b);
    EXPECT_OK(tr_b64_decode("aGk=", 4, &b));
    EXPECT_EQ(b.len, 2);
    tr_buf_clear(&b);
    EXPECT_OK(tr_b64_decode("", 0, &b));
    EXPECT_EQ(b.len, 0);
    EXPECT_ERR(tr_b64_decode("aGVsbG8", 7, &b), TR_ERR_BAD_BASE64);
    EXPECT_ERR(tr_b64_decode("aGV sbG8", 8, &b), TR_ERR_BAD_BASE64);
    EXPECT_ERR(tr_b64_decode("a=Vs", 4, &b), TR_ERR_BAD_BASE64);
    EXPECT_ERR(tr_b64_decode("aGV\n", 4, &b), TR_ERR_BAD_BASE64);
    tr_buf_free(&b);

    /* Round trip across the internal 3 MiB step. */
    size_t n = 7 * 1024 * 1024 + 1;
    uint8_t *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    struct tr_buf enc, dec;
    tr_buf_init(&enc, 0);
    tr_buf_init(&dec, 0);
    EXPECT_OK(tr_b64_encode(big, n, &enc));
    EXPECT_OK(tr_b64_decode((char *)enc.data, enc.len, &dec));
    EXPECT_EQ(dec.len, n);
    EXPECT_TRUE(dec.len == n && memcmp(dec.data, big, n) == 0);
    free(big);
    tr_buf_free(&enc);
    tr_buf_free(&dec);
}

/* The streaming decoder over every split of a text into two or three
 * pieces gives what the one-shot decoder gives. */
static void stream_all_splits(const char *text, int ok, const char *want, size_t want_len)
{
    size_t n = strlen(text);
    uint8_t dec[64];
    int mismatches = 0;
    for (size_t a = 0; a <= n; a++)
        for (size_t b = a; b <= n; b++) {
            struct tr_b64_stream st;
            tr_b64_stream_init(&st);
            size_t got = 0, w = 0;
            size_t cut[4] = {0, a, b, n};
            tr_result r = TR_SUCCESS;
            for (int i = 0; i < 3 && tr_ok(r); i++) {
                r = tr_b64_stream_update(&st, text + cut[i], cut[i + 1] - cut[i], dec + got, &w);
                got += w;
            }
            if (tr_ok(r))
                r = tr_b64_stream_final(&st);
            if (tr_ok(r) != ok || (ok && (got != want_len || memcmp(dec, want, got) != 0)))
                mismatches++;
            if (!ok && !tr_ok(r) && r.err != TR_ERR_BAD_BASE64)
                mismatches++;
        }
    TH_REPORT(mismatches == 0, "stream \"%s\": %d splits disagree", text, mismatches);
}

static void test_base64_stream(void)
{
    stream_all_splits("", 1, "", 0);
    stream_all_splits("aGVsbG8=", 1, "hello", 5);
    stream_all_splits("aGk=", 1, "hi", 2);
    stream_all_splits("aA==", 1, "h", 1);
    stream_all_splits("aGVsbG8gd29ybGQh", 1, "hello world!", 12);
    stream_all_splits("+/+/", 1, "\xfb\xff\xbf", 3);
    const char *bad[] = {"aGVsbG8", "aGV sbG8",  "a=Vs", "aGV\n",         "aGk=aGk=",
                         "aGk=a",   "a===",      "====", "aG=k",          "aGVsbG8=A",
                         "-_-_",    "aGVsbG8==", "=aGk", "aGVsb\xc3\xa9="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tr_buf b;
        tr_buf_init(&b, 0);
        EXPECT_ERR(tr_b64_decode(bad[i], strlen(bad[i]), &b), TR_ERR_BAD_BASE64);
        EXPECT_EQ(b.len, 0);
        tr_buf_free(&b);
        stream_all_splits(bad[i], 0, NULL, 0);
    }
    /* Non-zero bits under the padding are ignored, as OpenSSL did. */
    stream_all_splits("aB==", 1, "h", 1);
    /* After a failure nothing else is decoded; a padded quad ends the text. */
    struct tr_b64_stream st;
    uint8_t out[16];
    size_t w;
    tr_b64_stream_init(&st);
    EXPECT_OK(tr_b64_stream_update(&st, "aGk=", 4, out, &w));
    EXPECT_EQ(w, 2);
    EXPECT_ERR(tr_b64_stream_update(&st, "a", 1, out, &w), TR_ERR_BAD_BASE64);
}

static void test_hex(void)
{
    struct tr_buf b;
    uint8_t fixed[2];
    tr_buf_init(&b, 0);
    EXPECT_OK(tr_hex_decode("00fFa1", 6, &b));
    EXPECT_EQ(b.len, 3);
    EXPECT_EQ(b.data[1], 0xff);
    EXPECT_ERR(tr_hex_decode("0", 1, &b), TR_ERR_BAD_HEX);
    EXPECT_ERR(tr_hex_decode("0g", 2, &b), TR_ERR_BAD_HEX);
    tr_buf_clear(&b);
    EXPECT_OK(tr_hex_encode((const uint8_t *)"\x01\xab", 2, &b));
    EXPECT_STR_EQ((char *)b.data, "01ab");
    EXPECT_OK(tr_hex_decode_fixed("beef", fixed, 2));
    EXPECT_EQ(fixed[0], 0xbe);
    EXPECT_ERR(tr_hex_decode_fixed("bee", fixed, 2), TR_ERR_BAD_HEX);
    tr_buf_free(&b);
}

static void test_numbers(void)
{
    uint64_t v;
    EXPECT_OK(tr_parse_u64("18446744073709551615", UINT64_MAX, &v));
    EXPECT_TRUE(v == UINT64_MAX);
    EXPECT_ERR(tr_parse_u64("18446744073709551616", UINT64_MAX, &v), TR_ERR_BAD_NUMBER);
    EXPECT_ERR(tr_parse_u64("11", 10, &v), TR_ERR_BAD_NUMBER);
    EXPECT_ERR(tr_parse_u64("-1", 10, &v), TR_ERR_BAD_NUMBER);
    EXPECT_ERR(tr_parse_u64("", 10, &v), TR_ERR_BAD_NUMBER);
    EXPECT_ERR(tr_parse_u64("1x", 10, &v), TR_ERR_BAD_NUMBER);
    /* A digit above a small max: (max - d) must not wrap (issue 16). */
    EXPECT_ERR(tr_parse_u64("9", 5, &v), TR_ERR_BAD_NUMBER);
    EXPECT_ERR(tr_parse_u64("1", 0, &v), TR_ERR_BAD_NUMBER);
    EXPECT_ERR(tr_parse_u64("19", 5, &v), TR_ERR_BAD_NUMBER);
    EXPECT_OK(tr_parse_u64("5", 5, &v));
    EXPECT_EQ(v, 5);
    EXPECT_OK(tr_parse_u64("0", 0, &v));
    EXPECT_EQ(v, 0);
    EXPECT_OK(tr_parse_duration_ms("5m", &v));
    EXPECT_EQ(v, 300000);
    EXPECT_OK(tr_parse_duration_ms("250ms", &v));
    EXPECT_EQ(v, 250);
    EXPECT_OK(tr_parse_duration_ms("30", &v));
    EXPECT_EQ(v, 30000);
    EXPECT_ERR(tr_parse_duration_ms("5 m", &v), TR_ERR_BAD_NUMBER);
    EXPECT_ERR(tr_parse_duration_ms("m", &v), TR_ERR_BAD_NUMBER);
}

int main(void)
{
    RUN_TEST(test_base64);
    RUN_TEST(test_base64_stream);
    RUN_TEST(test_hex);
    RUN_TEST(test_numbers);
    return TEST_SUMMARY();
}
