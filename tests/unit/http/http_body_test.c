/* http_prove_body_parse, http_container_*, validators and CIDR matching. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "harness.h"
#include "teerex/http.h"

static void test_body(void)
{
    struct tr_buf out;
    tr_buf_init(&out, 1024);
    const char *ok = " {\"data\":\"aGVsbG8=\",\"extra\":1}";
    EXPECT_OK(http_prove_body_parse((const uint8_t *)ok, strlen(ok), &out));
    EXPECT_EQ(out.len, 5);
    EXPECT_MEM_EQ(out.data, "hello", 5);
    tr_buf_clear(&out);
    struct {
        const char *body;
        int32_t err;
    } cases[] = {
        {"", TR_ERR_HTTP_BODY_BAD_SHAPE},
        {"hello", TR_ERR_HTTP_BODY_NOT_JSON},
        {"\"str\"", TR_ERR_HTTP_BODY_NOT_JSON},
        {"{\"data\":", TR_ERR_HTTP_BODY_NOT_JSON},
        {"{\"data\":\"QQ==\"} x", TR_ERR_HTTP_BODY_NOT_JSON},
        {"[]", TR_ERR_HTTP_BODY_BAD_SHAPE},
        {"{}", TR_ERR_HTTP_BODY_BAD_SHAPE},
        {"{\"data\":1}", TR_ERR_HTTP_BODY_BAD_SHAPE},
        {"{\"data\":null}", TR_ERR_HTTP_BODY_BAD_SHAPE},
        {"{\"Data\":\"QQ==\"}", TR_ERR_HTTP_BODY_BAD_SHAPE},
        {"{\"data\":\"QQ=\"}", TR_ERR_HTTP_BODY_BAD_BASE64},
        {"{\"data\":\"Q Q==\"}", TR_ERR_HTTP_BODY_BAD_BASE64},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EXPECT_ERR(
            http_prove_body_parse((const uint8_t *)cases[i].body, strlen(cases[i].body), &out),
            cases[i].err);
        EXPECT_EQ(out.len, 0);
    }
    /* cap of the output buffer applies */
    struct tr_buf small;
    tr_buf_init(&small, 2);
    const char *big = "{\"data\":\"aGVsbG8=\"}";
    EXPECT_ERR(http_prove_body_parse((const uint8_t *)big, strlen(big), &small), TR_ERR_TOO_BIG);
    tr_buf_free(&small);
    tr_buf_free(&out);
}

/* Shapes the event parser judges: only the top-level object's `data` counts,
 * the last one wins, escapes are decoded, and hostile nesting costs no tree
 * (a million levels parse in one pass). */
static void test_body_shapes(void)
{
    struct tr_buf o;
    tr_buf_init(&o, 0);
    static const struct {
        const char *body;
        int32_t err;
        const char *want;
    } cases[] = {
        {"{\"x\":{\"data\":\"aGk=\"}}", TR_ERR_HTTP_BODY_BAD_SHAPE, NULL},
        {"[{\"data\":\"aGk=\"}]", TR_ERR_HTTP_BODY_BAD_SHAPE, NULL},
        {"{\"data\":\"aGk=\",\"data\":5}", TR_ERR_HTTP_BODY_BAD_SHAPE, NULL},
        {"{\"data\":\"aGk=\",\"data\":[1]}", TR_ERR_HTTP_BODY_BAD_SHAPE, NULL},
        {"{\"data\":{\"data\":\"aGk=\"}}", TR_ERR_HTTP_BODY_BAD_SHAPE, NULL},
        {"{\"data\":7,\"data\":\"aGk=\"}", TR_OK, "hi"},
        {"{\"a\":[{},[],{\"data\":1}],\"data\":\"aGk=\",\"b\":null}", TR_OK, "hi"},
        {"{\"data\":\"aGVs\\/bG8=\"}", TR_ERR_HTTP_BODY_BAD_BASE64, NULL},
        {"{\"data\":\"a\\u0047k=\"}", TR_OK, "hi"},
        {"{\"data\":\"aGk=\"}\n", TR_OK, "hi"},
        {"{\"data\":\"aGk=\"}{}", TR_ERR_HTTP_BODY_NOT_JSON, NULL},
        {"{\"data\":\"aGk=\",}", TR_ERR_HTTP_BODY_NOT_JSON, NULL},
        {"{\"data\":\"\xff\"}", TR_ERR_HTTP_BODY_NOT_JSON, NULL},
        {"{\"n\":123456789012345678901234567890e999,\"data\":\"aGk=\"}", TR_OK, "hi"},
        {"[1,2", TR_ERR_HTTP_BODY_NOT_JSON, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tr_buf_clear(&o);
        tr_result r =
            http_prove_body_parse((const uint8_t *)cases[i].body, strlen(cases[i].body), &o);
        TH_REPORT(r.err == cases[i].err, "case %zu %s: got %s", i, cases[i].body,
                  tr_err_name(r.err));
        if (cases[i].want)
            EXPECT_TRUE(o.len == strlen(cases[i].want) &&
                        memcmp(o.data, cases[i].want, o.len) == 0);
        else
            EXPECT_EQ(o.len, 0);
    }
    /* [[[...]]] a million deep, then unclosed. */
    size_t depth = 1000000;
    uint8_t *deep = malloc(2 * depth);
    if (deep) {
        memset(deep, '[', depth);
        memset(deep + depth, ']', depth);
        tr_buf_clear(&o);
        EXPECT_ERR(http_prove_body_parse(deep, 2 * depth, &o), TR_ERR_HTTP_BODY_BAD_SHAPE);
        EXPECT_ERR(http_prove_body_parse(deep, 2 * depth - 1, &o), TR_ERR_HTTP_BODY_NOT_JSON);
        EXPECT_EQ(o.len, 0);
        free(deep);
    }
    tr_buf_free(&o);
}

/* The exact-shape fast path and the event-parser path give the same answers. */
static void test_body_fast_path_agrees(void)
{
    static const char *const same[][2] = {
        {"{\"data\":\"aGVsbG8=\"}", "{ \"data\" : \"aGVsbG8=\" }"},
        {"{\"data\":\"\"}", "{\"data\": \"\"}"},
        {"{\"data\":\"aGVsbG8\"}", "{\"data\" :\"aGVsbG8\"}"},
        {"{\"data\":\"a=Vs\"}", "\n{\"data\":\"a=Vs\"}"},
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        struct tr_buf a, b;
        tr_buf_init(&a, 0);
        tr_buf_init(&b, 0);
        tr_result ra = http_prove_body_parse((const uint8_t *)same[i][0], strlen(same[i][0]), &a);
        tr_result rb = http_prove_body_parse((const uint8_t *)same[i][1], strlen(same[i][1]), &b);
        EXPECT_EQ(ra.err, rb.err);
        EXPECT_EQ(a.len, b.len);
        EXPECT_TRUE(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
        tr_buf_free(&a);
        tr_buf_free(&b);
    }
    struct tr_buf o;
    tr_buf_init(&o, 0);
    EXPECT_OK(http_prove_body_parse((const uint8_t *)"{\"data\":\"aGVsbG8=\"}", 19, &o));
    EXPECT_EQ(o.len, 5);
    EXPECT_ERR(http_prove_body_parse((const uint8_t *)"{\"data\":\"aGVsbG8\"}", 18, &o),
               TR_ERR_HTTP_BODY_BAD_BASE64);
    EXPECT_EQ(o.len, 5);
    /* A duplicate key is not the exact shape: the parser decides (last one wins). */
    const char *dup = "{\"data\":\"aGk=\",\"data\":\"aGVsbG8=\"}";
    tr_buf_clear(&o);
    EXPECT_OK(http_prove_body_parse((const uint8_t *)dup, strlen(dup), &o));
    EXPECT_EQ(o.len, 5);
    tr_buf_free(&o);
}

static void test_container(void)
{
    struct http_container c = {.count = 2};
    snprintf(c.entries[0].name, sizeof(c.entries[0].name), "program.json");
    c.entries[0].data = tr_slice_of("{}", 2);
    snprintf(c.entries[1].name, sizeof(c.entries[1].name), "witness.gz");
    c.entries[1].data = tr_slice_of("WW", 2);
    struct tr_buf b;
    tr_buf_init(&b, 1024);
    EXPECT_OK(http_container_write(&c, &b));
    EXPECT_EQ(b.len, 4 + 2 + (1 + 12 + 4 + 2) + (1 + 10 + 4 + 2));
    struct http_container p;
    EXPECT_OK(http_container_parse(b.data, b.len, HTTP_CONTAINER_ULTRA_HONK, &p));
    EXPECT_EQ(p.count, 2);
    EXPECT_STR_EQ(p.entries[1].name, "witness.gz");
    EXPECT_EQ(p.entries[1].data.len, 2);
    for (size_t n = 0; n < b.len; n++) {
        tr_result r = http_container_parse(b.data, n, HTTP_CONTAINER_ULTRA_HONK, &p);
        EXPECT_TRUE(!tr_ok(r));
    }
    EXPECT_ERR(http_container_parse(b.data, 3, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_TRUNCATED);
    uint8_t t[256];
    memcpy(t, b.data, b.len);
    t[b.len] = 0;
    EXPECT_ERR(http_container_parse(t, b.len + 1, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_TRAILING);
    t[0] = 'X';
    EXPECT_ERR(http_container_parse(t, b.len, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_BAD_MAGIC);
    memcpy(t, b.data, b.len);
    t[4] = 2;
    EXPECT_ERR(http_container_parse(t, b.len, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_BAD_VERSION);
    memcpy(t, b.data, b.len);
    memcpy(t + 7, "../gram.json", 12); /* same length, traversal */
    EXPECT_ERR(http_container_parse(t, b.len, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_BAD_NAME);
    memcpy(t, b.data, b.len);
    memcpy(t + 7, "Program.json", 12); /* upper case not allowed */
    EXPECT_ERR(http_container_parse(t, b.len, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_BAD_NAME);
    memcpy(t, b.data, b.len);
    memcpy(t + 7, "progrem.json", 12); /* fine characters, not on the list */
    EXPECT_ERR(http_container_parse(t, b.len, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_BAD_NAME);
    /* duplicate and missing */
    snprintf(c.entries[1].name, sizeof(c.entries[1].name), "program.json");
    tr_buf_clear(&b);
    EXPECT_OK(http_container_write(&c, &b));
    EXPECT_ERR(http_container_parse(b.data, b.len, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_DUPLICATE);
    c.count = 1;
    tr_buf_clear(&b);
    EXPECT_OK(http_container_write(&c, &b));
    EXPECT_ERR(http_container_parse(b.data, b.len, HTTP_CONTAINER_ULTRA_HONK, &p),
               TR_ERR_HTTP_CONTAINER_MISSING);
    /* the writer refuses bad names */
    snprintf(c.entries[0].name, sizeof(c.entries[0].name), "a/../b");
    tr_buf_clear(&b);
    EXPECT_ERR(http_container_write(&c, &b), TR_ERR_HTTP_CONTAINER_BAD_NAME);
    EXPECT_EQ(b.len, 0);
    tr_buf_free(&b);
}

static void test_validators(void)
{
    EXPECT_OK(http_version_validate("4.1.2-rc.1"));
    EXPECT_OK(http_version_validate("5.0.0-nightly.20260710+build_1"));
    const char *bad[] = {"", "../x", "..", ".", "a/b", "a b", "a\\b", "1..2", "ä"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        EXPECT_ERR(http_version_validate(bad[i]), TR_ERR_HTTP_BAD_VERSION_STRING);
    char longv[80];
    memset(longv, 'a', sizeof(longv));
    longv[65] = '\0';
    EXPECT_ERR(http_version_validate(longv), TR_ERR_HTTP_BAD_VERSION_STRING);
    longv[64] = '\0';
    EXPECT_OK(http_version_validate(longv));
    EXPECT_ERR(http_version_validate(NULL), TR_ERR_HTTP_BAD_VERSION_STRING);

    struct tr_buf n;
    tr_buf_init(&n, 512);
    EXPECT_OK(http_nonce_parse("00ffAB", &n));
    EXPECT_EQ(n.len, 3);
    tr_buf_clear(&n);
    EXPECT_ERR(http_nonce_parse("abc", &n), TR_ERR_HTTP_BAD_NONCE);
    EXPECT_ERR(http_nonce_parse("zz", &n), TR_ERR_HTTP_BAD_NONCE);
    char big[1030];
    memset(big, 'a', 1026);
    big[1026] = '\0';
    EXPECT_ERR(http_nonce_parse(big, &n), TR_ERR_HTTP_BAD_NONCE);
    big[1024] = '\0';
    tr_buf_clear(&n);
    EXPECT_OK(http_nonce_parse(big, &n));
    EXPECT_EQ(n.len, 512);
    tr_buf_free(&n);
}

static void test_cidr(void)
{
    struct http_cidr c;
    struct sockaddr_in a = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    EXPECT_OK(http_cidr_parse("10.0.0.0/8", &c));
    inet_pton(AF_INET, "10.200.3.4", &a.sin_addr);
    EXPECT_TRUE(http_cidr_match(&c, (struct sockaddr *)&a));
    inet_pton(AF_INET, "11.0.0.1", &a.sin_addr);
    EXPECT_TRUE(!http_cidr_match(&c, (struct sockaddr *)&a));
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &a6.sin6_addr); /* v4-mapped */
    EXPECT_TRUE(http_cidr_match(&c, (struct sockaddr *)&a6));
    EXPECT_OK(http_cidr_parse("127.0.0.1", &c));
    EXPECT_EQ(c.prefix, 32);
    EXPECT_OK(http_cidr_parse("2001:db8::/33", &c));
    inet_pton(AF_INET6, "2001:db8:7fff::1", &a6.sin6_addr);
    EXPECT_TRUE(http_cidr_match(&c, (struct sockaddr *)&a6));
    inet_pton(AF_INET6, "2001:db8:8000::1", &a6.sin6_addr);
    EXPECT_TRUE(!http_cidr_match(&c, (struct sockaddr *)&a6));
    const char *bad[] = {"", "10.0.0.0/33", "10.0.0.0/", "host", "::/129", "1.2.3.4/8x", "1.2.3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        EXPECT_ERR(http_cidr_parse(bad[i], &c), TR_ERR_HTTP_BAD_CIDR);
}

/* X-Forwarded-For from the right: trusted hops skipped, the first untrusted
 * entry is the client, whatever the client wrote further left. */
static void test_forwarded(void)
{
    struct http_cidr t[2];
    EXPECT_OK(http_cidr_parse("127.0.0.1", &t[0]));
    EXPECT_OK(http_cidr_parse("10.0.0.0/8", &t[1]));
    static const struct {
        const char *lines[3];
        size_t n;
        const char *want; /* NULL: the peer stays the client */
    } cases[] = {
        {{"203.0.113.9"}, 1, "203.0.113.9"},
        {{"1.1.1.1, 203.0.113.9, 10.1.1.1"}, 1, "203.0.113.9"},
        {{"garbage, 203.0.113.9,10.0.0.2 ,\t10.0.0.3"}, 1, "203.0.113.9"},
        {{"10.0.0.9, 10.0.0.8"}, 1, "10.0.0.9"}, /* all trusted: the left-most */
        {{"127.0.0.1"}, 1, "127.0.0.1"},         /* a claim, trusted: it is the client */
        {{"203.0.113.9", "198.51.100.1, 10.0.0.1"}, 2, "198.51.100.1"},
        {{"203.0.113.9", "10.0.0.1"}, 2, "203.0.113.9"}, /* lines concatenate */
        {{"[2001:db8::1]:443, 10.0.0.1"}, 1, "2001:db8::1"},
        {{"2001:db8::7"}, 1, "2001:db8::7"},
        {{"198.51.100.7:8080"}, 1, "198.51.100.7"},
        {{"203.0.113.9, bogus"}, 1, NULL}, /* the right-most is unreadable */
        {{"203.0.113.9, unknown, 10.0.0.1"}, 1, "10.0.0.1"},
        {{""}, 1, NULL},
        {{"1.2.3.4,"}, 1, NULL},
        {{"[2001:db8::1"}, 1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        ss.ss_family = AF_UNIX; /* stands for "the peer" */
        bool replaced = true;
        EXPECT_OK(http_forwarded_client(cases[i].lines, cases[i].n, t, 2, &ss, &replaced));
        char got[64] = "peer";
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, got, sizeof(got));
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, got, sizeof(got));
        const char *want = cases[i].want ? cases[i].want : "peer";
        TH_REPORT(strcmp(got, want) == 0 && replaced == (cases[i].want != NULL),
                  "case %zu: got %s (replaced %d), want %s", i, got, replaced, want);
    }
    /* 40 trusted hops: the walk stops after HTTP_FORWARDED_MAX_HOPS. */
    char many[40 * 12 + 16] = "203.0.113.9";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), ", 10.0.0.%d", i);
    const char *one[] = {many};
    struct sockaddr_storage ss = {.ss_family = AF_UNIX};
    bool replaced = false;
    EXPECT_OK(http_forwarded_client(one, 1, t, 2, &ss, &replaced));
    EXPECT_TRUE(replaced && ss.ss_family == AF_INET);
    /* A line longer than HTTP_FORWARDED_MAX_VALUE is refused. */
    char *huge = malloc(HTTP_FORWARDED_MAX_VALUE + 2);
    if (huge) {
        memset(huge, '1', HTTP_FORWARDED_MAX_VALUE + 1);
        huge[HTTP_FORWARDED_MAX_VALUE + 1] = '\0';
        const char *h[] = {huge};
        EXPECT_ERR(http_forwarded_client(h, 1, t, 2, &ss, &replaced), TR_ERR_HTTP_BAD_FORWARDED);
        free(huge);
    }
}

int main(void)
{
    RUN_TEST(test_body);
    RUN_TEST(test_body_shapes);
    RUN_TEST(test_body_fast_path_agrees);
    RUN_TEST(test_container);
    RUN_TEST(test_validators);
    RUN_TEST(test_cidr);
    RUN_TEST(test_forwarded);
    return TEST_SUMMARY();
}
