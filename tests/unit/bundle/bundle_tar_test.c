/* Bundle archives: deterministic writing (byte-identical twice, digest kept
 * through write + extract), and the reader's verdict on every seed of the
 * fuzz corpus (tests/fuzz/corpus/bundle_tar, made by bundle_tar.py). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "teerex/file.h"
#include "teerex/bundle.h"

static char tmp[256];

static void put(const char *dir, const char *rel, const char *content, mode_t mode)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
        exit(1);
    close(fd);
    chmod(p, mode);
}

static void make_bundle(const char *dir, const char *libc)
{
    char p[512];
    mkdir(dir, 0755);
    snprintf(p, sizeof(p), "%s/lib", dir);
    mkdir(p, 0755);
    put(dir, "bb", "the prover", 0755);
    put(dir, "lib/ld-linux-x86-64.so.2", "the loader", 0755);
    put(dir, "lib/libc.so.6", libc, 0644);
}

static size_t slurp(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    *out = malloc(cap);
    if (f) {
        n = fread(*out, 1, cap, f);
        fclose(f);
    }
    return n;
}

static void write_tar(const char *dir, const char *out)
{
    struct bundle b;
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_OK(bundle_open(dir, &b));
    EXPECT_OK(bundle_tar_write(&b, fd));
    close(fd);
}

static void test_roundtrip(void)
{
    char a[300], b2[300], ta[300], tb[300], x[300];
    snprintf(a, sizeof(a), "%s/a", tmp);
    snprintf(b2, sizeof(b2), "%s/b", tmp);
    snprintf(ta, sizeof(ta), "%s/a.tar", tmp);
    snprintf(tb, sizeof(tb), "%s/b.tar", tmp);
    snprintf(x, sizeof(x), "%s/x", tmp);
    make_bundle(a, "libc");
    make_bundle(b2, "libc");
    /* different mtimes and group bits must not matter */
    char p[400];
    snprintf(p, sizeof(p), "%s/lib/libc.so.6", b2);
    chmod(p, 0600);
    write_tar(a, ta);
    write_tar(b2, tb);
    char *da, *db;
    size_t na = slurp(ta, &da), nb = slurp(tb, &db);
    EXPECT_TRUE(na > 0 && na == nb && memcmp(da, db, na) == 0);
    free(db);
    /* extract: same digest as the source */
    mkdir(x, 0755);
    int fd = open(ta, O_RDONLY);
    EXPECT_OK(bundle_tar_extract(fd, x));
    close(fd);
    char d1[BUNDLE_DIGEST_HEX], d2[BUNDLE_DIGEST_HEX];
    EXPECT_OK(bundle_digest_path(a, d1));
    EXPECT_OK(bundle_digest_path(x, d2));
    EXPECT_STR_EQ(d1, d2);
    /* extracting over existing files is refused */
    fd = open(ta, O_RDONLY);
    EXPECT_ERR(bundle_tar_extract(fd, x), TR_ERR_BUNDLE_IO);
    close(fd);
    free(da);
    /* a one-file bundle archives as just "bb" */
    snprintf(p, sizeof(p), "%s/bb", a);
    struct bundle one;
    EXPECT_OK(bundle_open(p, &one));
    snprintf(p, sizeof(p), "%s/one.tar", tmp);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_OK(bundle_tar_write(&one, fd));
    close(fd);
    char y[300];
    snprintf(y, sizeof(y), "%s/y", tmp);
    mkdir(y, 0755);
    fd = open(p, O_RDONLY);
    EXPECT_OK(bundle_tar_extract(fd, y));
    close(fd);
    char dy[BUNDLE_DIGEST_HEX], done[BUNDLE_DIGEST_HEX];
    EXPECT_OK(bundle_digest_path(y, dy));
    EXPECT_OK(bundle_digest(&one, done));
    EXPECT_STR_EQ(dy, done);
}

static tr_result c_begin(void *ctx, const char *rel, bool exec, uint64_t size)
{
    (void)rel;
    (void)exec;
    (void)size;
    (*(int *)ctx)++;
    return TR_SUCCESS;
}
static tr_result c_data(void *ctx, const void *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return TR_SUCCESS;
}
static tr_result c_end(void *ctx)
{
    (void)ctx;
    return TR_SUCCESS;
}

static void test_corpus_verdicts(void)
{
    const char *src = getenv("TR_SOURCE_DIR");
    if (!src) {
        printf("skip corpus verdicts: TR_SOURCE_DIR unset\n");
        return;
    }
    static const struct {
        const char *name;
        int32_t err;
        int files;
    } CASES[] = {
        {"ok", TR_OK, 3},
        {"ok_dotslash_dir", TR_OK, 2},
        {"ok_pax", TR_OK, 2},
        {"ok_gnu", TR_OK, 2},
        {"symlink", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"hardlink", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"traversal", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"absolute", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"dup", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"no_bb", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"device", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"fifo", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"other_dir", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"nested", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"hidden", TR_ERR_BUNDLE_ARCHIVE_ENTRY, -1},
        {"truncated", TR_ERR_BUNDLE_ARCHIVE, -1},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        char p[600], *data;
        snprintf(p, sizeof(p), "%s/tests/fuzz/corpus/bundle_tar/%s", src, CASES[i].name);
        size_t n = slurp(p, &data);
        int files = 0;
        struct bundle_tar_sink sink = {c_begin, c_data, c_end, &files};
        tr_result r = bundle_tar_read_mem(data, n, &sink);
        TH_REPORT(r.err == CASES[i].err, "%s: expected %s, got %s", CASES[i].name,
                  tr_err_name(CASES[i].err), tr_err_name(r.err));
        if (CASES[i].files >= 0)
            TH_REPORT(files == CASES[i].files, "%s: %d files", CASES[i].name, files);
        free(data);
    }
    /* an empty stream is not a bundle */
    int files = 0;
    struct bundle_tar_sink sink = {c_begin, c_data, c_end, &files};
    tr_result r = bundle_tar_read_mem(NULL, 0, &sink);
    EXPECT_TRUE(!tr_ok(r));
}

int main(void)
{
    snprintf(tmp, sizeof(tmp), "%s/bundle-tar-test-%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir(tmp, 0700);
    RUN_TEST(test_roundtrip);
    RUN_TEST(test_corpus_verdicts);
    tr_tree_remove(tmp, 0);
    return TEST_SUMMARY();
}
