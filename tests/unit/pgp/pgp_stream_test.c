/* pgp_decrypt.c (pgp_stream_*), pgp_seipd_open.c, pgp_plain.c, pgp_frame.c:
 * a message fed in pieces, as binary or base64, gives exactly what the
 * one-piece decryption gives (plaintext or error code); the plaintext is
 * placed in the caller's buffer after what it held and wiped on failure;
 * API misuse is refused. openpgp.js and GnuPG messages split everywhere are
 * the pgp_stream fuzz target's seeds (replayed by ctest). */
#include "harness.h"
#include "pgp/pgp_internal.h"
#include "pgp_test_util.h"
#include "teerex/codec.h"

static struct pgp_key *key;
static struct pgp_pubkey *pub;
static int under_valgrind; /* fewer cases: the same paths, a tenth of the time */

static void setup(void)
{
    under_valgrind = getenv("TR_VALGRIND") != NULL;
    EXPECT_OK(test_key(0, &key));
    struct tr_buf arm;
    tr_buf_init(&arm, 1 << 16);
    EXPECT_OK(pgp_key_armored_public(key, &arm));
    EXPECT_OK(pgp_pubkey_parse_armored((const char *)arm.data, arm.len, &pub));
    tr_buf_free(&arm);
}

/* Feeds msg in pieces of the given lengths (cycled), as binary or as its
 * base64 text, into out; returns final's result and the plaintext slice. */
static tr_result stream(const struct tr_buf *msg, int b64, const size_t *pieces, size_t n_pieces,
                        size_t max, struct tr_buf *out, struct tr_slice *plain)
{
    struct pgp_stream *s = NULL;
    struct pgp_decrypt_opts o = {.max_plaintext = max, .message_bound = msg->len};
    struct tr_buf text;
    tr_buf_init(&text, 0);
    tr_result r = pgp_stream_new(key, &o, out, &s);
    const uint8_t *p = msg->data;
    size_t n = msg->len;
    if (tr_ok(r) && b64) {
        r = tr_b64_encode(msg->data, msg->len, &text);
        p = text.data;
        n = text.len;
    }
    for (size_t off = 0, i = 0; off < n && tr_ok(r); i++) {
        size_t k = pieces[i % n_pieces];
        k = k < n - off ? k : n - off;
        r = b64 ? pgp_stream_update_b64(s, (const char *)p + off, k)
                : pgp_stream_update(s, p + off, k);
        off += k;
    }
    tr_result f = pgp_stream_final(s, plain);
    if (tr_ok(r) && f.err != r.err)
        r = f;
    /* After a failed update, final answers the same failure. */
    if (!tr_ok(r) && f.err != r.err)
        r = tr_fail_at(TR_ERR_USAGE, __FILE__, __LINE__);
    pgp_stream_free(s);
    tr_buf_free(&text);
    return r;
}

static const size_t SPLITS[][4] = {{1, 1, 1, 1},      {7, 3, 250, 1},       {16, 16, 16, 16},
                                   {511, 4096, 2, 9}, {65536, 1, 65535, 3}, {1 << 24, 0, 0, 0}};

static void test_round_trip_split(void)
{
    size_t sizes[] = {0, 1, 100, 262144, 262145, 700001};
    uint8_t *pt = malloc(700001);
    for (size_t i = 0; i < 700001; i++)
        pt[i] = (uint8_t)(i * 13 ^ (i >> 11));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct tr_buf msg;
        tr_buf_init(&msg, 2 << 20);
        EXPECT_OK(pgp_encrypt(pub, pt, sizes[i], &msg));
        for (size_t sp = 0; sp < sizeof(SPLITS) / sizeof(SPLITS[0]); sp++) {
            if (sizes[i] > 300000 && (SPLITS[sp][0] == 1 || under_valgrind))
                continue; /* octet by octet: covered by the smaller sizes */
            if (under_valgrind && sizes[i] > 1000 && SPLITS[sp][0] < 16)
                continue;
            for (int b64 = 0; b64 < 2; b64++) {
                struct tr_buf out;
                struct tr_slice plain;
                tr_buf_init_secret(&out, 2 << 20);
                EXPECT_OK(tr_buf_append(&out, "keep", 4));
                size_t np = SPLITS[sp][1] ? 4 : 1;
                EXPECT_OK(stream(&msg, b64, SPLITS[sp], np, 0, &out, &plain));
                /* After what out held; the slice is out's tail. */
                EXPECT_TRUE(memcmp(out.data, "keep", 4) == 0);
                EXPECT_EQ(plain.len, sizes[i]);
                EXPECT_TRUE(plain.ptr == out.data + 4 && out.len == 4 + sizes[i]);
                EXPECT_TRUE(plain.len == sizes[i] && memcmp(plain.ptr, pt, sizes[i]) == 0);
                tr_buf_free(&out);
            }
        }
        tr_buf_free(&msg);
    }
    free(pt);
}

/* Every error of the one-piece decryption comes out of the stream too,
 * whatever the pieces, and nothing is left in out. */
static void test_errors_match_one_shot(void)
{
    const uint8_t pt[3000] = {1, 2, 3};
    struct tr_buf msg, m, out;
    tr_buf_init(&msg, 1 << 20);
    tr_buf_init(&m, 1 << 20);
    tr_buf_init_secret(&out, 1 << 20);
    EXPECT_OK(pgp_encrypt(pub, pt, sizeof(pt), &msg));
    int mismatches = 0, checked = 0;
    size_t slope = under_valgrind ? 2 : 16;
    for (size_t pos = 0; pos < msg.len + 3; pos += 1 + pos / slope) {
        for (int kind = 0; kind < 3; kind++) {
            tr_buf_clear(&m);
            EXPECT_OK(tr_buf_append(&m, msg.data, msg.len));
            if (kind == 0 && pos < m.len)
                m.data[pos] ^= 0x01; /* flip */
            else if (kind == 1 && pos < m.len)
                m.len = pos; /* truncate */
            else if (kind == 2)
                EXPECT_OK(tr_buf_append(&m, "\xca\x03PGP", 5)); /* a marker after the data */
            tr_buf_clear(&out);
            tr_result one = pgp_decrypt(key, m.data, m.len, NULL, &out);
            size_t one_len = out.len;
            for (size_t sp = 1; sp < 5; sp++) {
                struct tr_slice plain;
                tr_buf_clear(&out);
                tr_result r = stream(&m, sp % 2, SPLITS[sp], 4, 0, &out, &plain);
                checked++;
                if (r.err != one.err || out.len != one_len) {
                    mismatches++;
                    fprintf(stderr, "kind %d pos %zu split %zu: one-shot %s, stream %s\n", kind,
                            pos, sp, tr_err_name(one.err), tr_err_name(r.err));
                }
            }
        }
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_TRUE(checked > (under_valgrind ? 100 : 1000));
    tr_buf_free(&msg);
    tr_buf_free(&m);
    tr_buf_free(&out);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* The whole plaintext is in out before the final tag is checked: a failing
 * tag (or a stream freed before its end) wipes it. */
static void test_failure_wipes(void)
{
    size_t n = 100000;
    uint8_t *pt = malloc(n);
    memset(pt, 0xA5, n);
    struct tr_buf msg, out;
    tr_buf_init(&msg, 1 << 20);
    tr_buf_init_secret(&out, 1 << 20);
    EXPECT_OK(pgp_encrypt(pub, pt, n, &msg));
    EXPECT_OK(tr_buf_append(&out, "keep", 4));
    msg.data[msg.len - 1] ^= 1; /* final tag */
    struct pgp_stream *s;
    struct tr_slice plain;
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_OK(pgp_stream_update(s, msg.data, msg.len - 1));
    EXPECT_TRUE(out.len > 4 + n / 2); /* unauthenticated plaintext, not released */
    EXPECT_OK(pgp_stream_update(s, msg.data + msg.len - 1, 1));
    EXPECT_ERR(pgp_stream_final(s, &plain), TR_ERR_PGP_BAD_AEAD_TAG);
    EXPECT_EQ(plain.len, 0);
    EXPECT_EQ(out.len, 4);
    EXPECT_TRUE(out.cap > 4 + n && all_zero(out.data + 4, n));
    pgp_stream_free(s);
    msg.data[msg.len - 1] ^= 1;
    /* Freed without final: wiped too. */
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_OK(pgp_stream_update(s, msg.data, msg.len - 20));
    EXPECT_TRUE(out.len > 4 + n / 2);
    pgp_stream_free(s);
    EXPECT_EQ(out.len, 4);
    EXPECT_TRUE(all_zero(out.data + 4, n));
    pgp_stream_free(NULL);
    free(pt);
    tr_buf_free(&msg);
    tr_buf_free(&out);
}

/* The output is sized once from the literal packet's length, bounded by
 * the message (a wrong bound only costs a regrowth). */
static void test_sizing(void)
{
    size_t n = 3 << 20;
    uint8_t *pt = calloc(1, n);
    struct tr_buf msg, out;
    tr_buf_init(&msg, 4 << 20);
    EXPECT_OK(pgp_encrypt(pub, pt, n, &msg));
    size_t bounds[] = {0, 10, msg.len};
    for (size_t i = 0; i < 3; i++) {
        struct pgp_stream *s;
        struct tr_slice plain;
        struct pgp_decrypt_opts o = {.message_bound = bounds[i]};
        tr_buf_init_secret(&out, 8 << 20);
        EXPECT_OK(pgp_stream_new(key, &o, &out, &s));
        for (size_t off = 0; off < msg.len; off += 65536)
            EXPECT_OK(pgp_stream_update(s, msg.data + off,
                                        msg.len - off < 65536 ? msg.len - off : 65536));
        EXPECT_OK(pgp_stream_final(s, &plain));
        EXPECT_EQ(plain.len, n);
        if (bounds[i] == msg.len)
            EXPECT_TRUE(out.cap <= n + 4096 + 1); /* one exact reservation */
        pgp_stream_free(s);
        tr_buf_free(&out);
    }
    free(pt);
    tr_buf_free(&msg);
}

static void test_misuse_and_base64(void)
{
    const uint8_t pt[10] = {0};
    struct tr_buf msg, out, plainbuf, text;
    struct pgp_stream *s;
    struct tr_slice plain;
    tr_buf_init(&msg, 1 << 16);
    tr_buf_init(&text, 1 << 16);
    tr_buf_init_secret(&out, 1 << 16);
    tr_buf_init(&plainbuf, 1 << 16);
    EXPECT_OK(pgp_encrypt(pub, pt, sizeof(pt), &msg));
    EXPECT_OK(tr_b64_encode(msg.data, msg.len, &text));
    EXPECT_ERR(pgp_stream_new(key, NULL, &plainbuf, &s), TR_ERR_USAGE); /* not secret */
    EXPECT_TRUE(s == NULL);
    EXPECT_ERR(pgp_stream_new(NULL, NULL, &out, &s), TR_ERR_NULL_ARG);
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_OK(pgp_stream_update(s, msg.data, 3));
    EXPECT_ERR(pgp_stream_update_b64(s, "AAAA", 4), TR_ERR_USAGE);
    EXPECT_OK(pgp_stream_update(s, msg.data + 3, msg.len - 3));
    EXPECT_ERR(pgp_stream_update(s, NULL, 1), TR_ERR_NULL_ARG);
    EXPECT_OK(pgp_stream_final(s, &plain));
    EXPECT_EQ(plain.len, sizeof(pt));
    EXPECT_ERR(pgp_stream_final(s, &plain), TR_ERR_USAGE);
    EXPECT_ERR(pgp_stream_update(s, msg.data, 1), TR_ERR_USAGE);
    pgp_stream_free(s);
    EXPECT_EQ(out.len, sizeof(pt)); /* a successful stream leaves its plaintext */
    tr_buf_clear(&out);
    /* Base64: a bad character fails at once; a dangling quad at the end. */
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_OK(pgp_stream_update_b64(s, (const char *)text.data, 8));
    EXPECT_ERR(pgp_stream_update_b64(s, "A A=", 4), TR_ERR_BAD_BASE64);
    EXPECT_ERR(pgp_stream_update_b64(s, "AAAA", 4), TR_ERR_BAD_BASE64);
    EXPECT_ERR(pgp_stream_final(s, &plain), TR_ERR_BAD_BASE64);
    pgp_stream_free(s);
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_OK(pgp_stream_update_b64(s, (const char *)text.data, text.len));
    EXPECT_OK(pgp_stream_update_b64(s, "QQ", 2));
    EXPECT_ERR(pgp_stream_final(s, &plain), TR_ERR_BAD_BASE64);
    pgp_stream_free(s);
    /* Broken structure fails at once: bytes after the message. */
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_OK(pgp_stream_update(s, msg.data, msg.len));
    EXPECT_ERR(pgp_stream_update(s, (const uint8_t *)"\0", 1), TR_ERR_TRAILING);
    EXPECT_ERR(pgp_stream_final(s, &plain), TR_ERR_TRAILING);
    pgp_stream_free(s);
    /* Nothing at all; only a PKESK. */
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_ERR(pgp_stream_final(s, &plain), TR_ERR_PGP_NO_DATA);
    pgp_stream_free(s);
    EXPECT_OK(pgp_stream_new(key, NULL, &out, &s));
    EXPECT_OK(pgp_stream_update(s, msg.data, (size_t)msg.data[1] + 2));
    EXPECT_ERR(pgp_stream_final(s, &plain), TR_ERR_PGP_NO_DATA);
    pgp_stream_free(s);
    EXPECT_EQ(out.len, 0);
    tr_buf_free(&msg);
    tr_buf_free(&text);
    tr_buf_free(&out);
    tr_buf_free(&plainbuf);
}

int main(void)
{
    setup();
    RUN_TEST(test_round_trip_split);
    RUN_TEST(test_errors_match_one_shot);
    RUN_TEST(test_failure_wipes);
    RUN_TEST(test_sizing);
    RUN_TEST(test_misuse_and_base64);
    pgp_key_free(key);
    pgp_pubkey_free(pub);
    return TEST_SUMMARY();
}
