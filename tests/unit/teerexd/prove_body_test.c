/* src/teerexd/prove_body.c: a /prove body fed in pieces split anywhere must
 * get exactly the verdicts of the buffered path (http_prove_body_parse, then
 * pgp_decrypt) and the same plaintext: a differential test over the SDK's
 * shape, bodies that leave it at every point (escapes, members after data, a
 * later data member, blanks, truncation) and broken base64 or ciphertext. */
#include <stdbool.h>

#include "harness.h"
#include "prove_body.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/pgp.h"

static struct pgp_key *key;
static struct pgp_pubkey *pub;
static bool slow; /* valgrind: fewer split points */

struct outcome {
    int32_t judge, decrypt;
    struct tr_buf plain;
};

static void outcome_init(struct outcome *o)
{
    o->judge = o->decrypt = TR_OK;
    tr_buf_init_secret(&o->plain, 1 << 24);
}

/* The buffered path, as routes_prove.c ran it before streaming. */
static void reference(const char *body, size_t len, struct outcome *o)
{
    struct tr_buf cipher;
    tr_buf_init(&cipher, 1 << 24);
    o->judge = http_prove_body_parse((const uint8_t *)body, len, &cipher).err;
    if (o->judge == TR_OK) {
        struct pgp_decrypt_opts opts = {0};
        o->decrypt = pgp_decrypt(key, cipher.data, cipher.len, &opts, &o->plain).err;
    }
    tr_buf_free(&cipher);
}

/* The body fed in pieces ending at cuts[0] < cuts[1] < ... < len. */
static void streamed(const char *body, size_t len, const size_t *cuts, size_t ncuts, bool declared,
                     struct outcome *o)
{
    struct prove_body *pb = NULL;
    tr_result r = prove_body_new(key, declared ? len : 0, 1 << 24, &pb);
    if (!tr_ok(r)) {
        o->judge = r.err;
        return;
    }
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        if (!tr_ok(prove_body_feed(pb, body + at, to - at)))
            o->judge = TR_ERR_NOMEM;
        at = to;
    }
    /* What it holds: about the plaintext, never the body and the plaintext. */
    if (declared && prove_body_streaming(pb))
        EXPECT_TRUE(prove_body_held(pb) <= len);
    if (o->judge == TR_OK)
        o->judge = prove_body_judge(pb).err;
    if (o->judge == TR_OK) {
        struct tr_slice p;
        o->decrypt = prove_body_decrypt(pb, &p).err;
        if (o->decrypt == TR_OK)
            tr_ignore(tr_buf_append(&o->plain, p.ptr, p.len));
    }
    prove_body_free(pb);
}

static int mismatches;

static void same(const struct outcome *want, const struct outcome *got, const char *what,
                 size_t cut)
{
    bool ok =
        want->judge == got->judge && want->decrypt == got->decrypt &&
        want->plain.len == got->plain.len &&
        (want->plain.len == 0 || memcmp(want->plain.data, got->plain.data, want->plain.len) == 0);
    if (!ok && mismatches++ < 8)
        fprintf(stderr, "%s (cut %zu): want %s/%s (%zu bytes), got %s/%s (%zu bytes)\n", what, cut,
                tr_err_name(want->judge), tr_err_name(want->decrypt), want->plain.len,
                tr_err_name(got->judge), tr_err_name(got->decrypt), got->plain.len);
    EXPECT_TRUE(ok);
}

/* Every split into two pieces, three-piece splits around the interesting
 * points, byte by byte, and without a declared length (buffered). */
static void check_body(const char *body, size_t len, const char *what)
{
    struct outcome want, got;
    outcome_init(&want);
    reference(body, len, &want);
    size_t step = slow && len > 64 ? len / 16 : 1;
    for (size_t cut = 0; cut <= len; cut += step) {
        outcome_init(&got);
        streamed(body, len, &cut, 1, true, &got);
        same(&want, &got, what, cut);
        tr_buf_free(&got.plain);
    }
    size_t pts[] = {1, 5, 8, 9, 10, 11, 13, len / 2, len - 3, len - 2, len - 1};
    for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
        if (len < 4 || pts[i] >= len - 1)
            continue;
        size_t cuts[2] = {pts[i], pts[i] + 1};
        outcome_init(&got);
        streamed(body, len, cuts, 2, true, &got);
        same(&want, &got, what, cuts[0]);
        tr_buf_free(&got.plain);
    }
    if (!slow || len < 4096) {
        size_t *cuts = malloc(len * sizeof(*cuts) + 1);
        for (size_t i = 0; i + 1 < len; i++)
            cuts[i] = i + 1;
        outcome_init(&got);
        streamed(body, len, cuts, len ? len - 1 : 0, true, &got);
        same(&want, &got, what, 1);
        tr_buf_free(&got.plain);
        free(cuts);
    }
    outcome_init(&got);
    streamed(body, len, NULL, 0, false, &got);
    same(&want, &got, what, len);
    tr_buf_free(&got.plain);
    tr_buf_free(&want.plain);
}

static char *b64_of(const struct tr_buf *bin)
{
    struct tr_buf t;
    tr_buf_init(&t, 1 << 25);
    if (!tr_ok(tr_b64_encode(bin->data, bin->len, &t)))
        return NULL;
    char *s = strdup((const char *)t.data);
    tr_buf_free(&t);
    return s;
}

/* The body made of the given parts, joined. */
static void check_parts(const char *what, const char *const *parts, size_t n)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(parts[i]);
    char *body = malloc(cap), *q = body;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        memcpy(q, parts[i], l);
        q += l;
    }
    *q = 0;
    check_body(body, (size_t)(q - body), what);
    free(body);
}
#define CHECK(what, ...)                                                                           \
    check_parts(what, (const char *const[]){__VA_ARGS__},                                          \
                sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void test_shapes(void)
{
    uint8_t pt[300];
    for (size_t i = 0; i < sizeof(pt); i++)
        pt[i] = (uint8_t)(i * 7 + 1);
    struct tr_buf msg;
    tr_buf_init(&msg, 1 << 20);
    EXPECT_OK(pgp_encrypt(pub, pt, sizeof(pt), &msg));
    char *good = b64_of(&msg);
    msg.data[msg.len / 2] ^= 0x40; /* a corrupted chunk in the middle */
    char *bad = b64_of(&msg);
    if (!good || !bad)
        return;
    /* PHP escapes '/': the same text with every '/' as \/, and one \u0041. */
    size_t gl = strlen(good);
    char *php = malloc(2 * gl + 8), *q = php;
    for (size_t i = 0; i < gl; i++) {
        if (good[i] == '/')
            *q++ = '\\';
        *q++ = good[i];
    }
    *q = 0;
    char *uesc = malloc(gl + 8);
    snprintf(uesc, gl + 8, "\\u00%02x%s", (unsigned)good[0], good + 1);

    CHECK("SDK shape", "{\"data\":\"", good, "\"}");
    CHECK("corrupted ciphertext", "{\"data\":\"", bad, "\"}");
    CHECK("blanks after", "{\"data\":\"", good, "\" } \r\n");
    CHECK("extra member after", "{\"data\":\"", good, "\",\"x\":[1,{\"y\":null}]}");
    CHECK("extra member, corrupted", "{\"data\":\"", bad, "\",\"x\":1}");
    CHECK("later data replaces", "{\"data\":\"", bad, "\",\"data\":\"", good, "\"}");
    CHECK("later data bad base64", "{\"data\":\"", good, "\",\"data\":\"!!\"}");
    CHECK("later data empty", "{\"data\":\"", good, "\",\"data\":\"\"}");
    CHECK("later data a number", "{\"data\":\"", good, "\",\"data\":5}");
    CHECK("garbage after", "{\"data\":\"", good, "\"}x");
    CHECK("two objects", "{\"data\":\"", good, "\"}{}");
    CHECK("no closing brace", "{\"data\":\"", good, "\"");
    CHECK("unterminated string", "{\"data\":\"", good);
    CHECK("PHP escapes", "{\"data\":\"", php, "\"}");
    CHECK("\\u escape", "{\"data\":\"", uesc, "\"}");
    CHECK("newline escape", "{\"data\":\"", good, "\\n\"}");
    CHECK("bad escape", "{\"data\":\"", good, "\\x\"}");
    CHECK("bad \\u escape", "{\"data\":\"AB\\u00zz", good, "\"}");
    CHECK("control character", "{\"data\":\"AB\t", good, "\"}");
    CHECK("UTF-8 in data", "{\"data\":\"", good, "\xc3\xa9\"}");
    CHECK("bad UTF-8 in data", "{\"data\":\"", good, "\xc3\"}");
    CHECK("blanks inside", "{ \"data\" : \"", good, "\" }");
    CHECK("member before", "{\"x\":1,\"data\":\"", good, "\"}");
    /* Base64 broken after text the decryptor already refused. */
    CHECK("bad base64 late", "{\"data\":\"QUJDREVG", good, "==QUJD\"}");
    CHECK("pad in the middle", "{\"data\":\"", good, "QQ==QUJD\"}");
    CHECK("not whole quads", "{\"data\":\"", good, "QUJ\"}");
    CHECK("three pads", "{\"data\":\"", good, "Q===\"}");
    const char *small[] = {"",
                           "{",
                           "{\"da",
                           "{\"data\":\"",
                           "{\"data\":\"\"}",
                           "{\"data\":\"\"",
                           "{\"data\":\"QUJD\"}",
                           "{\"data\":\"!!!\"}",
                           "{\"data\":5}",
                           "[1]",
                           "not json",
                           "{\"data\":\"\\/\\/\\/\\/\"}",
                           "{\"data\":\"\\u0022\"}",
                           "{\"data\":\"\\u\"}"};
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
        check_body(small[i], strlen(small[i]), small[i]);
    free(php);
    free(uesc);
    free(good);
    free(bad);
    tr_buf_free(&msg);
}

/* A message of many chunks in pieces of odd sizes: same plaintext; the
 * plaintext is all it holds (held stays about 3/4 of the body). */
static void test_large(void)
{
    size_t n = slow ? 300000 : 3000000;
    uint8_t *pt = malloc(n);
    for (size_t i = 0; i < n; i++)
        pt[i] = (uint8_t)(i ^ (i >> 11));
    struct tr_buf msg;
    tr_buf_init(&msg, 1 << 24);
    EXPECT_OK(pgp_encrypt(pub, pt, n, &msg));
    char *b64 = b64_of(&msg);
    size_t len = strlen(b64) + 11;
    char *body = malloc(len + 1);
    snprintf(body, len + 1, "{\"data\":\"%s\"}", b64);
    struct prove_body *pb;
    EXPECT_OK(prove_body_new(key, len, 1 << 25, &pb));
    uint64_t most = 0;
    for (size_t at = 0, k = 1; at < len; k = k * 7 % 65521 + 1) {
        size_t step = k < len - at ? k : len - at;
        EXPECT_OK(prove_body_feed(pb, body + at, step));
        at += step;
        uint64_t h = prove_body_held(pb);
        most = h > most ? h : most;
    }
    EXPECT_TRUE(prove_body_streaming(pb));
    EXPECT_TRUE(most <= len * 3 / 4 + 3);
    EXPECT_OK(prove_body_judge(pb));
    struct tr_slice p;
    EXPECT_OK(prove_body_decrypt(pb, &p));
    EXPECT_TRUE(p.len == n && memcmp(p.ptr, pt, n) == 0);
    prove_body_free(pb);
    /* Abandoned mid-body (a client gone): freed without judge. */
    EXPECT_OK(prove_body_new(key, len, 1 << 25, &pb));
    EXPECT_OK(prove_body_feed(pb, body, len / 2));
    prove_body_free(pb);
    free(body);
    free(b64);
    free(pt);
    tr_buf_free(&msg);
}

int main(void)
{
    slow = getenv("TR_VALGRIND") != NULL;
    const uint8_t ed[32] = {1}, x[32] = {2};
    EXPECT_OK(pgp_key_from_seed("prove_body test", ed, x, 1700000000, &key));
    struct tr_buf arm;
    tr_buf_init(&arm, 1 << 16);
    EXPECT_OK(pgp_key_armored_public(key, &arm));
    EXPECT_OK(pgp_pubkey_parse_armored((const char *)arm.data, arm.len, &pub));
    tr_buf_free(&arm);
    if (!key || !pub)
        return TEST_SUMMARY();
    RUN_TEST(test_shapes);
    RUN_TEST(test_large);
    pgp_pubkey_free(pub);
    pgp_key_free(key);
    return TEST_SUMMARY();
}
