/* lib/bundle: layout, argv, manifest and digest (with an independent
 * computation of the documented formula), tampering, the allow-list. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "harness.h"
#include "teerex/file.h"
#include "teerex/bundle.h"

static char root[256];

static void put(const char *rel, const char *content, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
        perror(p);
        exit(1);
    }
    close(fd);
    chmod(p, mode);
}

static void sha_hex(const char *s, char out[65])
{
    uint8_t d[32];
    SHA256((const uint8_t *)s, strlen(s), d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void make_bundle(void)
{
    char p[512];
    tr_tree_remove(root, 0);
    mkdir(root, 0755);
    snprintf(p, sizeof(p), "%s/lib", root);
    mkdir(p, 0755);
    put("bb", "the prover", 0755);
    put("lib/ld-linux-x86-64.so.2", "the loader", 0755);
    put("lib/libc.so.6", "libc", 0644);
    put("lib/libstdc++.so.6", "libstdc++", 0644);
}

static void digest_of(const char *path, char out[BUNDLE_DIGEST_HEX])
{
    memset(out, 0, BUNDLE_DIGEST_HEX);
    EXPECT_OK(bundle_digest_path(path, out));
}

static void test_layout_and_argv(void)
{
    make_bundle();
    struct bundle b;
    EXPECT_OK(bundle_open(root, &b));
    EXPECT_EQ(b.kind, BUNDLE_LOADER_DIR);
    const char *argv[BUNDLE_ARGV_PREFIX + 1];
    EXPECT_EQ(bundle_argv(&b, argv), 5);
    char want[512];
    snprintf(want, sizeof(want), "%s/lib/ld-linux-x86-64.so.2", root);
    EXPECT_STR_EQ(argv[0], want);
    EXPECT_STR_EQ(argv[1], "--inhibit-cache");
    EXPECT_STR_EQ(argv[2], "--library-path");
    snprintf(want, sizeof(want), "%s/lib", root);
    EXPECT_STR_EQ(argv[3], want);
    snprintf(want, sizeof(want), "%s/bb", root);
    EXPECT_STR_EQ(argv[4], want);
    EXPECT_TRUE(argv[5] == NULL);
    EXPECT_STR_EQ(b.root, root);

    /* the file itself: a one-file bundle run directly */
    EXPECT_OK(bundle_open(want, &b));
    EXPECT_EQ(b.kind, BUNDLE_FILE);
    EXPECT_EQ(bundle_argv(&b, argv), 1);
    EXPECT_STR_EQ(argv[0], want);

    /* without lib/: bb runs directly */
    char lib[512];
    snprintf(lib, sizeof(lib), "%s/lib", root);
    tr_tree_remove(lib, 0);
    EXPECT_OK(bundle_open(root, &b));
    EXPECT_EQ(b.kind, BUNDLE_BARE);
    EXPECT_EQ(bundle_argv(&b, argv), 1);
    EXPECT_STR_EQ(argv[0], want);
}

/* The documented formula, computed here independently of bundle_digest.c. */
static void test_manifest_and_digest(void)
{
    make_bundle();
    char h_bb[65], h_ld[65], h_c[65], h_cxx[65], manifest[1024], want[65];
    sha_hex("the prover", h_bb);
    sha_hex("the loader", h_ld);
    sha_hex("libc", h_c);
    sha_hex("libstdc++", h_cxx);
    snprintf(manifest, sizeof(manifest),
             "teerex-bundle-v1\n755 %s bb\n755 %s lib/ld-linux-x86-64.so.2\n644 %s "
             "lib/libc.so.6\n644 %s lib/libstdc++.so.6\n",
             h_bb, h_ld, h_c, h_cxx);
    struct bundle b;
    struct tr_buf m;
    tr_buf_init(&m, 1 << 16);
    EXPECT_OK(bundle_open(root, &b));
    EXPECT_OK(bundle_manifest(&b, &m));
    EXPECT_TRUE(m.len == strlen(manifest) && memcmp(m.data, manifest, m.len) == 0);
    tr_buf_free(&m);
    sha_hex(manifest, want);
    char got[BUNDLE_DIGEST_HEX];
    digest_of(root, got);
    EXPECT_STR_EQ(got, want);
    EXPECT_TRUE(bundle_digest_valid(got));

    /* a bare file has the digest of a bundle holding only that bb */
    char bbpath[512], bare[BUNDLE_DIGEST_HEX];
    snprintf(bbpath, sizeof(bbpath), "%s/bb", root);
    digest_of(bbpath, bare);
    snprintf(manifest, sizeof(manifest), "teerex-bundle-v1\n755 %s bb\n", h_bb);
    sha_hex(manifest, want);
    EXPECT_STR_EQ(bare, want);
}

static void test_tamper(void)
{
    char base[BUNDLE_DIGEST_HEX], d[BUNDLE_DIGEST_HEX], p[512];
    make_bundle();
    digest_of(root, base);
    /* same content again: same digest */
    make_bundle();
    digest_of(root, d);
    EXPECT_STR_EQ(d, base);
    /* one byte of a library */
    put("lib/libc.so.6", "libC", 0644);
    digest_of(root, d);
    EXPECT_TRUE(strcmp(d, base) != 0);
    /* a mode bit */
    make_bundle();
    snprintf(p, sizeof(p), "%s/lib/libc.so.6", root);
    chmod(p, 0755);
    digest_of(root, d);
    EXPECT_TRUE(strcmp(d, base) != 0);
    /* group/other bits do not count (only the owner's execute bit) */
    chmod(p, 0600);
    digest_of(root, d);
    EXPECT_STR_EQ(d, base);
    /* an added library */
    make_bundle();
    put("lib/libextra.so.1", "x", 0644);
    digest_of(root, d);
    EXPECT_TRUE(strcmp(d, base) != 0);
    /* a renamed library */
    make_bundle();
    char q[512];
    snprintf(p, sizeof(p), "%s/lib/libc.so.6", root);
    snprintf(q, sizeof(q), "%s/lib/libc.so.7", root);
    rename(p, q);
    digest_of(root, d);
    EXPECT_TRUE(strcmp(d, base) != 0);
}

static void test_refused_layouts(void)
{
    struct bundle b;
    char p[512], q[512], d[BUNDLE_DIGEST_HEX];
    EXPECT_ERR(bundle_open("/nonexistent/bundle", &b), TR_ERR_BUNDLE_NOT_FOUND);
    /* a symlink inside lib/ */
    make_bundle();
    snprintf(p, sizeof(p), "%s/lib/libm.so.6", root);
    EXPECT_TRUE(symlink("/lib/x86_64-linux-gnu/libm.so.6", p) == 0);
    EXPECT_ERR(bundle_digest_path(root, d), TR_ERR_BUNDLE_LAYOUT);
    /* bb as a symlink */
    make_bundle();
    snprintf(p, sizeof(p), "%s/bb", root);
    unlink(p);
    EXPECT_TRUE(symlink("/bin/true", p) == 0);
    EXPECT_ERR(bundle_open(root, &b), TR_ERR_BUNDLE_LAYOUT);
    /* bb not executable */
    make_bundle();
    chmod(p, 0644);
    EXPECT_ERR(bundle_open(root, &b), TR_ERR_BUNDLE_LAYOUT);
    /* no bb */
    make_bundle();
    unlink(p);
    EXPECT_ERR(bundle_open(root, &b), TR_ERR_BUNDLE_LAYOUT);
    /* lib/ without the loader */
    make_bundle();
    snprintf(q, sizeof(q), "%s/lib/ld-linux-x86-64.so.2", root);
    unlink(q);
    EXPECT_ERR(bundle_open(root, &b), TR_ERR_BUNDLE_LAYOUT);
    /* an extra top-level file, a hidden file, a sub-directory */
    make_bundle();
    put("README", "x", 0644);
    EXPECT_ERR(bundle_digest_path(root, d), TR_ERR_BUNDLE_LAYOUT);
    make_bundle();
    put("lib/.hidden", "x", 0644);
    EXPECT_ERR(bundle_digest_path(root, d), TR_ERR_BUNDLE_LAYOUT);
    make_bundle();
    snprintf(p, sizeof(p), "%s/lib/sub", root);
    mkdir(p, 0755);
    EXPECT_ERR(bundle_digest_path(root, d), TR_ERR_BUNDLE_LAYOUT);
    /* too many files */
    make_bundle();
    for (int i = 0; i < BUNDLE_MAX_FILES; i++) {
        char n[64];
        snprintf(n, sizeof(n), "lib/lib%d.so", i);
        put(n, "x", 0644);
    }
    EXPECT_ERR(bundle_digest_path(root, d), TR_ERR_BUNDLE_LAYOUT);
}

static void test_names(void)
{
    EXPECT_TRUE(bundle_path_valid("bb"));
    EXPECT_TRUE(bundle_path_valid("lib/libstdc++.so.6"));
    EXPECT_TRUE(bundle_path_valid("lib/ld-linux-x86-64.so.2"));
    const char *bad[] = {"",       "lib/",    "lib/.x",   "lib/a/b", "/bb",    "./bb", "lib/../bb",
                         "bin/bb", "lib/a b", "lib/a\nb", "bb/",     "lib//x", NULL};
    for (size_t i = 0; bad[i]; i++)
        TH_REPORT(!bundle_path_valid(bad[i]), "path %s refused", bad[i]);
    EXPECT_TRUE(bundle_version_valid("4.1.2"));
    EXPECT_TRUE(bundle_version_valid("4.3.0-nightly.20260501"));
    EXPECT_TRUE(!bundle_version_valid(".staging-x"));
    EXPECT_TRUE(!bundle_version_valid("a..b"));
    EXPECT_TRUE(!bundle_version_valid("a/b"));
    EXPECT_TRUE(!bundle_version_valid(""));
    char longv[70];
    memset(longv, 'a', 65);
    longv[65] = 0;
    EXPECT_TRUE(!bundle_version_valid(longv));
    EXPECT_TRUE(!bundle_digest_valid("AB"));
}

static void test_allowlist(void)
{
    static struct bundle_policy p;
    const char *d1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *d2 = "2222222222222222222222222222222222222222222222222222222222222222";
    char text[1024];
    snprintf(text, sizeof(text), "# allowed\n\n4.1.2 %s\n5.0.0\t%s  \r\n", d1, d2);
    size_t line = 0;
    EXPECT_OK(bundle_allowlist_parse(text, strlen(text), &p, &line));
    EXPECT_EQ(p.n, 2);
    p.pinned = false;
    EXPECT_TRUE(bundle_policy_allows(&p, "9.9.9", d1));
    EXPECT_STR_EQ(bundle_policy_name(&p), "open");
    p.pinned = true;
    EXPECT_STR_EQ(bundle_policy_name(&p), "pinned");
    EXPECT_TRUE(bundle_policy_allows(&p, "4.1.2", d1));
    EXPECT_TRUE(bundle_policy_allows(&p, "5.0.0", d2));
    EXPECT_TRUE(!bundle_policy_allows(&p, "4.1.2", d2)); /* another version's bundle */
    EXPECT_TRUE(!bundle_policy_allows(&p, "9.9.9", d1));
    EXPECT_TRUE(bundle_policy_lists(&p, "4.1.2") && !bundle_policy_lists(&p, "9.9.9"));
    const char *bad[] = {
        "4.1.2\n",
        "4.1.2 abc\n",
        "../x 1111111111111111111111111111111111111111111111111111111111111111\n",
        "4.1.2 1111111111111111111111111111111111111111111111111111111111111111 x\n",
        "4.1.2 AAAA111111111111111111111111111111111111111111111111111111111111\n",
        NULL};
    for (size_t i = 0; bad[i]; i++) {
        snprintf(text, sizeof(text), "# c\n%s", bad[i]);
        line = 0;
        EXPECT_ERR(bundle_allowlist_parse(text, strlen(text), &p, &line), TR_ERR_BUNDLE_ALLOWLIST);
        EXPECT_EQ(line, 2);
    }
    EXPECT_ERR(bundle_allowlist_load("/nonexistent", &p, &line), TR_ERR_BUNDLE_ALLOWLIST);
}

int main(void)
{
    snprintf(root, sizeof(root), "%s/bundle-test-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    RUN_TEST(test_layout_and_argv);
    RUN_TEST(test_manifest_and_digest);
    RUN_TEST(test_tamper);
    RUN_TEST(test_refused_layouts);
    RUN_TEST(test_names);
    RUN_TEST(test_allowlist);
    tr_tree_remove(root, 0);
    return TEST_SUMMARY();
}
