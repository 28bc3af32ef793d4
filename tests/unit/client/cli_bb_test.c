/* teerex bb's parsers of untrusted text: the npm registry's version
 * document (every seed of tests/fuzz/corpus/client_npm with its verdict)
 * and the loader's --list output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bb.h"
#include "harness.h"

static size_t slurp(const char *path, uint8_t **out)
{
    FILE *f = fopen(path, "rb");
    *out = malloc(1 << 16);
    size_t n = f ? fread(*out, 1, 1 << 16, f) : 0;
    if (f)
        fclose(f);
    return n;
}

static void test_npm_seeds(void)
{
    const char *src = getenv("TR_SOURCE_DIR");
    if (!src)
        return;
    static const struct {
        const char *name;
        int32_t err;
    } CASES[] = {
        {"ok", TR_OK},
        {"ok_multi", TR_OK},
        {"other_version", TR_ERR_CLIENT_BB_REGISTRY},
        {"sha1_only", TR_ERR_CLIENT_BB_REGISTRY},
        {"file_url", TR_ERR_CLIENT_BB_REGISTRY},
        {"other_name", TR_ERR_CLIENT_BB_REGISTRY},
        {"dup_key", TR_ERR_CLIENT_BB_REGISTRY},
        {"short_hash", TR_ERR_CLIENT_BB_REGISTRY},
        {"truncated", TR_ERR_CLIENT_BB_REGISTRY},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        char p[600];
        uint8_t *d;
        snprintf(p, sizeof(p), "%s/tests/fuzz/corpus/client_npm/%s", src, CASES[i].name);
        size_t n = slurp(p, &d);
        struct cli_npm_dist dist;
        tr_result r =
            n ? cli_npm_parse(d + 1, n - 1, d[0] & 1 ? "4.1.2" : NULL, &dist) : (tr_result){-1};
        TH_REPORT(r.err == CASES[i].err, "%s: expected %s, got %s", CASES[i].name,
                  tr_err_name(CASES[i].err), tr_err_name(r.err));
        if (tr_ok(r) && strcmp(CASES[i].name, "ok") == 0) {
            EXPECT_STR_EQ(dist.version, "4.1.2");
            EXPECT_STR_EQ(dist.tarball,
                          "https://registry.npmjs.org/@aztec/bb.js/-/bb.js-4.1.2.tgz");
        }
        free(d);
    }
}

struct seen {
    char names[8][64];
    char paths[8][128];
    int n;
};

static tr_result each(void *ctx, const char *name, const char *path)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->names[s->n], 64, "%s", name);
        snprintf(s->paths[s->n], 128, "%s", path);
        s->n++;
    }
    return TR_SUCCESS;
}

static void test_ldlist(void)
{
    const char *ok = "\tlinux-vdso.so.1 (0x00007ffd5c1f2000)\n"
                     "\tlibstdc++.so.6 => /s/libstdc++.so.6 (0x00007f5ed0600000)\n"
                     "\tlibc.so.6 => /s/libc.so.6 (0x00007f5ed040c000)\n"
                     "\t/lib64/ld-linux-x86-64.so.2 => /s/ld-linux-x86-64.so.2 (0x00007f5e)\n";
    struct seen s = {0};
    char missing[64];
    EXPECT_OK(cli_ldlist_parse(ok, strlen(ok), each, &s, missing, sizeof(missing)));
    EXPECT_EQ(s.n, 3);
    EXPECT_STR_EQ(s.names[0], "libstdc++.so.6");
    EXPECT_STR_EQ(s.paths[0], "/s/libstdc++.so.6");
    EXPECT_STR_EQ(s.names[2], "/lib64/ld-linux-x86-64.so.2");
    const char *bad = "\tlibfoo.so.1 => not found\n";
    memset(&s, 0, sizeof(s));
    EXPECT_ERR(cli_ldlist_parse(bad, strlen(bad), each, &s, missing, sizeof(missing)),
               TR_ERR_CLIENT_BB_RUNTIME);
    EXPECT_STR_EQ(missing, "libfoo.so.1");
    const char *rel = "\tlibx.so => relative (0x1)\n";
    EXPECT_ERR(cli_ldlist_parse(rel, strlen(rel), each, &s, missing, sizeof(missing)),
               TR_ERR_CLIENT_BB_RUNTIME);
}

int main(void)
{
    RUN_TEST(test_npm_seeds);
    RUN_TEST(test_ldlist);
    return TEST_SUMMARY();
}
