/* tr_file_read / tr_fd_read_all / tr_file_digest: bounds, kinds of file,
 * links, pipes, and digests against OpenSSL's one-shot EVP_Digest;
 * tr_tree_remove: depth first, never through a link; tr_fd_write_all. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "teerex/clock.h"
#include "teerex/file.h"

static char dir[] = "/tmp/tr_file_test.XXXXXX";
static char path_small[64], path_empty[64], path_link[64], path_fifo[64], path_big[64];

static void write_file(const char *p, const void *d, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (f == NULL || fwrite(d, 1, n, f) != n)
        abort();
    fclose(f);
}

static void setup(void)
{
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path_small, sizeof(path_small), "%s/small", dir);
    snprintf(path_empty, sizeof(path_empty), "%s/empty", dir);
    snprintf(path_link, sizeof(path_link), "%s/link", dir);
    snprintf(path_fifo, sizeof(path_fifo), "%s/fifo", dir);
    snprintf(path_big, sizeof(path_big), "%s/big", dir);
    write_file(path_small, "hello, file", 11);
    write_file(path_empty, "", 0);
    if (symlink("small", path_link) != 0 || mkfifo(path_fifo, 0600) != 0)
        abort();
    size_t n = 200000; /* several read chunks */
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + 3);
    write_file(path_big, b, n);
    free(b);
}

static void teardown(void)
{
    unlink(path_small);
    unlink(path_empty);
    unlink(path_link);
    unlink(path_fifo);
    unlink(path_big);
    rmdir(dir);
}

static void test_read(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_OK(tr_file_read(path_small, 11, 0, &b));
    EXPECT_EQ(b.len, 11);
    EXPECT_MEM_EQ(b.data, "hello, file", 11);
    /* Appends. */
    EXPECT_OK(tr_file_read(path_small, 100, 0, &b));
    EXPECT_EQ(b.len, 22);
    tr_buf_clear(&b);
    EXPECT_OK(tr_file_read(path_empty, 0, 0, &b));
    EXPECT_EQ(b.len, 0);
    EXPECT_OK(tr_file_read(path_big, 200000, 0, &b));
    EXPECT_EQ(b.len, 200000);
    EXPECT_EQ(b.data[199999], (uint8_t)(199999 * 7 + 3));
    tr_buf_free(&b);
}

static void test_bounds_and_kinds(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_ERR(tr_file_read(path_small, 10, 0, &b), TR_ERR_TOO_BIG);
    EXPECT_ERR(tr_file_read(path_big, 199999, 0, &b), TR_ERR_TOO_BIG);
    EXPECT_ERR(tr_file_read("/nonexistent/x", 100, 0, &b), TR_ERR_NOT_FOUND);
    EXPECT_ERR(tr_file_read(dir, 100, 0, &b), TR_ERR_NOT_REGULAR);
    /* A FIFO is refused without blocking on open. */
    EXPECT_ERR(tr_file_read(path_fifo, 100, 0, &b), TR_ERR_NOT_REGULAR);
    EXPECT_ERR(tr_file_read("/dev/null", 100, 0, &b), TR_ERR_NOT_REGULAR);
    /* Links: followed by default, refused with TR_FILE_NOFOLLOW. */
    tr_buf_clear(&b);
    EXPECT_OK(tr_file_read(path_link, 100, 0, &b));
    EXPECT_EQ(b.len, 11);
    EXPECT_ERR(tr_file_read(path_link, 100, TR_FILE_NOFOLLOW, &b), TR_ERR_NOT_REGULAR);
    tr_buf_free(&b);
    /* The buffer's own max applies too. */
    struct tr_buf small;
    tr_buf_init(&small, 5);
    EXPECT_ERR(tr_file_read(path_small, 100, 0, &small), TR_ERR_TOO_BIG);
    tr_buf_free(&small);
}

static void test_pipe(void)
{
    int p[2];
    if (pipe(p) != 0)
        abort();
    EXPECT_EQ(write(p[1], "abcdef", 6), 6);
    close(p[1]);
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_OK(tr_fd_read_all(p[0], 6, &b));
    EXPECT_EQ(b.len, 6);
    close(p[0]);
    if (pipe(p) != 0)
        abort();
    EXPECT_EQ(write(p[1], "abcdefg", 7), 7);
    close(p[1]);
    tr_buf_clear(&b);
    EXPECT_ERR(tr_fd_read_all(p[0], 6, &b), TR_ERR_TOO_BIG);
    close(p[0]);
    tr_buf_free(&b);
}

static void test_digest(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_OK(tr_file_read(path_big, 1 << 20, 0, &b));
    uint8_t want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
    unsigned wl = 0;
    uint64_t n = 0;
    EXPECT_TRUE(EVP_Digest(b.data, b.len, want, &wl, EVP_sha256(), NULL) == 1);
    EXPECT_OK(tr_file_digest(path_big, 0, EVP_sha256(), 1 << 20, got, &n));
    EXPECT_EQ(n, 200000);
    EXPECT_MEM_EQ(got, want, 32);
    EXPECT_TRUE(EVP_Digest(b.data, b.len, want, &wl, EVP_sha384(), NULL) == 1);
    EXPECT_OK(tr_file_digest(path_big, TR_FILE_NOFOLLOW, EVP_sha384(), 200000, got, NULL));
    EXPECT_MEM_EQ(got, want, 48);
    EXPECT_ERR(tr_file_digest(path_big, 0, EVP_sha256(), 199999, got, &n), TR_ERR_TOO_BIG);
    EXPECT_ERR(tr_file_digest(path_link, TR_FILE_NOFOLLOW, EVP_sha256(), 100, got, &n),
               TR_ERR_NOT_REGULAR);
    EXPECT_OK(tr_file_digest(path_empty, 0, EVP_sha256(), 0, got, &n));
    EXPECT_EQ(n, 0);
    tr_buf_free(&b);
}

static void test_clock(void)
{
    uint64_t us = tr_mono_us(), ms = tr_mono_ms();
    EXPECT_TRUE(us / 1000 >= ms - 1 && us / 1000 <= ms + 1);
    usleep(20000);
    double d = tr_ms_since(us);
    EXPECT_TRUE(d >= 19.0);
    EXPECT_TRUE(tr_ms_since(tr_mono_us() + 1000000) == 0.0); /* a later start: 0, not negative */
}

static void test_tree_remove(void)
{
    char tree[128], p[192], outside[128];
    snprintf(tree, sizeof(tree), "%s/tree", dir);
    snprintf(outside, sizeof(outside), "%s/outside", dir);
    EXPECT_TRUE(mkdir(tree, 0700) == 0 && mkdir(outside, 0700) == 0);
    snprintf(p, sizeof(p), "%s/a", tree);
    EXPECT_TRUE(mkdir(p, 0700) == 0);
    snprintf(p, sizeof(p), "%s/a/b", tree);
    EXPECT_TRUE(mkdir(p, 0500) == 0); /* read-only for its owner: root removes it anyway */
    snprintf(p, sizeof(p), "%s/a/file", tree);
    write_file(p, "x", 1);
    char kept[192];
    snprintf(kept, sizeof(kept), "%s/kept", outside);
    write_file(kept, "keep me", 7);
    /* A link to a directory outside: removed as a link, its target left whole. */
    snprintf(p, sizeof(p), "%s/a/escape", tree);
    EXPECT_TRUE(symlink(outside, p) == 0);
    EXPECT_TRUE(tr_tree_remove(tree, TR_FILE_SAME_FS));
    EXPECT_TRUE(access(tree, F_OK) != 0);
    EXPECT_TRUE(access(kept, F_OK) == 0);
    EXPECT_TRUE(tr_tree_remove(tree, 0)); /* already gone */
    EXPECT_TRUE(tr_tree_remove("", 0));   /* an empty path is left alone */
    EXPECT_TRUE(tr_tree_remove(outside, 0));
    EXPECT_TRUE(access(outside, F_OK) != 0);
}

static void test_write_all(void)
{
    /* Several pages to a file, read back whole; then a write nobody can take. */
    size_t n = 300000;
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i * 13 + 1);
    char path[96];
    snprintf(path, sizeof(path), "%s/written", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_TRUE(fd >= 0 && tr_fd_write_all(fd, d, n));
    close(fd);
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_OK(tr_file_read(path, n, 0, &b));
    EXPECT_EQ(b.len, n);
    EXPECT_MEM_EQ(b.data, d, n);
    tr_buf_free(&b);
    unlink(path);
    int p[2];
    if (pipe(p) != 0)
        abort();
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    EXPECT_TRUE(!tr_fd_write_all(p[1], d, 1) && errno == EPIPE); /* nobody reads */
    close(p[1]);
    free(d);
}

int main(void)
{
    setup();
    RUN_TEST(test_read);
    RUN_TEST(test_bounds_and_kinds);
    RUN_TEST(test_pipe);
    RUN_TEST(test_digest);
    RUN_TEST(test_clock);
    RUN_TEST(test_tree_remove);
    RUN_TEST(test_write_all);
    teardown();
    return TEST_SUMMARY();
}
