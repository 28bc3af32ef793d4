/* cpio newc writer and ramdisk trees: exact header bytes, padding,
 * ordering, implied directories, and rejected paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif_testutil.h"
#include "harness.h"

static void test_cpio_bytes(void)
{
    int fd = tu_memfd();
    struct eif_cpio c;
    size_t len;
    eif_cpio_init(&c, fd, 0);
    struct eif_blob hello = eif_blob_mem("hello", 5);
    EXPECT_OK(eif_cpio_add(&c, "dev", S_IFDIR | 0755, NULL));
    EXPECT_OK(eif_cpio_add(&c, "a", S_IFREG | 0644, &hello));
    EXPECT_OK(eif_cpio_finish(&c));
    uint8_t *p = tu_slurp(fd, &len);
    EXPECT_TRUE(p != NULL);
    if (!p)
        return;
    EXPECT_EQ(len % 512, 0);
    EXPECT_EQ(len, c.len);
    /* First entry: inode 721 (0x2d1), dir 0755, nlink 2, dev 3:1, namesize 4. */
    static const char h0[] = "070701000002d1000041ed00000000000000000000000200000000"
                             "00000000000000030000000100000000000000000000000400000000dev";
    EXPECT_MEM_EQ(p, h0, sizeof(h0) - 1);
    /* 110 + 4 = 114 -> padded to 116; then the file header. */
    EXPECT_EQ(p[113], 0);
    static const char h1[] =
        "070701000002d2000081a4000000000000000000000001000000000000000500000003"
        "0000000100000000000000000000000200000000a";
    EXPECT_MEM_EQ(p + 116, h1, sizeof(h1) - 1);
    /* 116 + 110 + 2 = 228 (multiple of 4): data, then padded to 236. */
    EXPECT_MEM_EQ(p + 228, "hello", 5);
    EXPECT_MEM_EQ(p + 236, "070701000002d3", 14);
    EXPECT_MEM_EQ(p + 236 + 110, "TRAILER!!!", 11);
    for (size_t i = 236 + 110 + 11; i < len; i++)
        EXPECT_EQ(p[i], 0);
    free(p);
    close(fd);
}

static void test_mtime_and_limits(void)
{
    int fd = tu_memfd();
    struct eif_cpio c;
    size_t len;
    eif_cpio_init(&c, fd, 0x12345678);
    EXPECT_OK(
        eif_cpio_add(&c, "x", S_IFLNK | 0777, &(struct eif_blob){(const uint8_t *)"t", 1, -1}));
    EXPECT_ERR(eif_cpio_add(&c, "p", S_IFIFO | 0644, NULL), TR_ERR_EIF_UNSUPPORTED_FILE);
    EXPECT_OK(eif_cpio_finish(&c));
    uint8_t *p = tu_slurp(fd, &len);
    EXPECT_TRUE(p && len >= 110);
    if (p)
        EXPECT_MEM_EQ(p + 6 + 8 * 5, "12345678", 8); /* c_mtime */
    free(p);
    close(fd);
}

static char *names(const uint8_t *p, size_t len)
{
    /* Walks the archive and joins the names with ',' (test-side reader). */
    char *out = calloc(1, 4096);
    size_t pos = 0;
    while (out && pos + 110 <= len) {
        char f[9] = {0};
        memcpy(f, p + pos + 6 + 8 * 11, 8);
        size_t namesize = strtoul(f, NULL, 16);
        memcpy(f, p + pos + 6 + 8 * 6, 8);
        size_t filesize = strtoul(f, NULL, 16);
        const char *name = (const char *)p + pos + 110;
        if (strcmp(name, "TRAILER!!!") == 0)
            break;
        strncat(out, name, 4095 - strlen(out));
        strncat(out, ",", 4095 - strlen(out));
        pos = (pos + 110 + namesize + 3) & ~(size_t)3;
        pos = (pos + filesize + 3) & ~(size_t)3;
    }
    return out;
}

static void test_customer_ramdisk(void)
{
    char src[] = "/tmp/eif-cpio-test-XXXXXX";
    int sfd = mkstemp(src);
    EXPECT_TRUE(sfd >= 0);
    EXPECT_EQ(write(sfd, "binary", 6), 6);
    close(sfd);
    struct eif_tree t;
    eif_tree_init(&t);
    EXPECT_OK(eif_tree_add_file(&t, "rootfs/usr/bin/teerexd", src, 0755));
    EXPECT_OK(eif_tree_add_file(&t, "rootfs/app/crs", src, 0644));
    EXPECT_OK(eif_tree_add_dir(&t, "rootfs/app", 0700)); /* explicit wins over implied */
    const char *argv[] = {"/usr/bin/teerexd", "--port", "80"};
    const char *env[] = {"PORT=80"};
    int fd = tu_memfd();
    EXPECT_OK(eif_ramdisk_customer(&t, argv, 3, env, 1, fd));
    size_t len;
    uint8_t *p = tu_slurp(fd, &len);
    char *n = p ? names(p, len) : NULL;
    EXPECT_STR_EQ(n, "cmd,env,rootfs,rootfs/app,rootfs/app/crs,rootfs/dev,rootfs/proc,rootfs/run,"
                     "rootfs/sys,rootfs/tmp,rootfs/usr,rootfs/usr/bin,rootfs/usr/bin/teerexd,"
                     "rootfs/var,");
    EXPECT_TRUE(p && memmem(p, len, "/usr/bin/teerexd\n--port\n80\n", 27) != NULL);
    EXPECT_TRUE(p && memmem(p, len, "000041c0", 8) != NULL); /* rootfs/app 0700 */
    free(n);
    free(p);
    close(fd);
    eif_tree_free(&t);

    /* Files outside rootfs/, bad argv. */
    eif_tree_init(&t);
    EXPECT_OK(eif_tree_add_file(&t, "etc/x", src, 0644));
    fd = tu_memfd();
    EXPECT_ERR(eif_ramdisk_customer(&t, argv, 3, env, 1, fd), TR_ERR_EIF_BAD_PATH);
    eif_tree_free(&t);
    eif_tree_init(&t);
    const char *bad[] = {"a\nb"};
    EXPECT_ERR(eif_ramdisk_customer(&t, bad, 1, env, 0, fd), TR_ERR_EIF_BAD_ARG);
    EXPECT_ERR(eif_ramdisk_customer(&t, argv, 0, env, 0, fd), TR_ERR_EIF_BAD_ARG);
    eif_tree_free(&t);
    close(fd);
    unlink(src);
}

static void test_paths_and_duplicates(void)
{
    struct eif_tree t;
    eif_tree_init(&t);
    EXPECT_ERR(eif_tree_add_dir(&t, "/abs", 0755), TR_ERR_EIF_BAD_PATH);
    EXPECT_ERR(eif_tree_add_dir(&t, "a/../b", 0755), TR_ERR_EIF_BAD_PATH);
    EXPECT_ERR(eif_tree_add_dir(&t, "a//b", 0755), TR_ERR_EIF_BAD_PATH);
    EXPECT_ERR(eif_tree_add_dir(&t, "./a", 0755), TR_ERR_EIF_BAD_PATH);
    EXPECT_ERR(eif_tree_add_dir(&t, "a/", 0755), TR_ERR_EIF_BAD_PATH);
    EXPECT_ERR(eif_tree_add_dir(&t, "", 0755), TR_ERR_EIF_BAD_PATH);
    EXPECT_ERR(eif_tree_add_dir(&t, "a\nb", 0755), TR_ERR_EIF_BAD_PATH);
    EXPECT_EQ(t.n, 0);
    int fd = tu_memfd();
    EXPECT_OK(eif_tree_add_data(&t, "x", "1", 1, 0644));
    EXPECT_OK(eif_tree_add_data(&t, "x", "2", 1, 0644));
    EXPECT_ERR(eif_tree_write(&t, fd, 0), TR_ERR_EIF_DUPLICATE_ENTRY);
    eif_tree_free(&t);
    /* A file where a directory is implied. */
    eif_tree_init(&t);
    EXPECT_OK(eif_tree_add_data(&t, "x", "1", 1, 0644));
    EXPECT_OK(eif_tree_add_data(&t, "x/y", "2", 1, 0644));
    EXPECT_ERR(eif_tree_write(&t, fd, 0), TR_ERR_EIF_DUPLICATE_ENTRY);
    eif_tree_free(&t);
    /* A missing source file. */
    eif_tree_init(&t);
    EXPECT_OK(eif_tree_add_file(&t, "x", "/nonexistent/eif-test", 0644));
    EXPECT_ERR(eif_tree_write(&t, fd, 0), TR_ERR_NOT_FOUND);
    eif_tree_free(&t);
    EXPECT_ERR(eif_ramdisk_bootstrap("/nonexistent/init", "/nonexistent/nsm", fd),
               TR_ERR_NOT_FOUND);
    close(fd);
}

int main(void)
{
    RUN_TEST(test_cpio_bytes);
    RUN_TEST(test_mtime_and_limits);
    RUN_TEST(test_customer_ramdisk);
    RUN_TEST(test_paths_and_duplicates);
    return TEST_SUMMARY();
}
