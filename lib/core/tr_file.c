#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teerex/file.h"

#define CHUNK 65536

tr_result tr_file_open(const char *path, unsigned flags, int *out_fd)
{
    TR_ENSURE_REF(path);
    TR_ENSURE_REF(out_fd);
    *out_fd = -1;
    int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK; /* a FIFO must not block open */
    if (flags & TR_FILE_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    int fd = open(path, oflags);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            TR_BAIL(TR_ERR_NOT_FOUND);
        if (errno == ELOOP)
            TR_BAIL(TR_ERR_NOT_REGULAR);
        TR_BAIL(TR_ERR_SYS);
    }
    struct stat st;
    tr_result res = TR_SUCCESS;
    TR_CHECK(fstat(fd, &st) == 0, TR_ERR_SYS);
    TR_CHECK(S_ISREG(st.st_mode), TR_ERR_NOT_REGULAR); /* (O_NONBLOCK means nothing to it) */
    *out_fd = fd;
    return TR_SUCCESS;
out:
    close(fd);
    return res;
}

tr_result tr_fd_read_all(int fd, size_t max, struct tr_buf *out)
{
    TR_ENSURE_REF(out);
    struct stat st;
    size_t start = out->len;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        TR_ENSURE((uint64_t)st.st_size <= max, TR_ERR_TOO_BIG);
        TR_GUARD(tr_buf_reserve(out, (size_t)st.st_size));
    }
    for (;;) {
        size_t room = out->cap - out->len;
        if (room == 0) {
            TR_GUARD(tr_buf_reserve(out, CHUNK));
            room = out->cap - out->len;
        }
        /* Never read more than one byte past max: enough to see it is too big. */
        size_t left = max - (out->len - start);
        size_t want = left < SIZE_MAX && room > left + 1 ? left + 1 : room;
        ssize_t k = read(fd, out->data + out->len, want);
        if (k < 0 && errno == EINTR)
            continue;
        TR_ENSURE(k >= 0, TR_ERR_IO);
        if (k == 0)
            return TR_SUCCESS;
        out->len += (size_t)k;
        TR_ENSURE(out->len - start <= max, TR_ERR_TOO_BIG);
    }
}

tr_result tr_file_read(const char *path, size_t max, unsigned flags, struct tr_buf *out)
{
    int fd;
    TR_GUARD(tr_file_open(path, flags, &fd));
    tr_result res = tr_fd_read_all(fd, max, out);
    close(fd);
    return res;
}

tr_result tr_fd_digest(int fd, const EVP_MD *md, uint64_t max, uint8_t *out, uint64_t *nbytes)
{
    TR_ENSURE_REF(md);
    TR_ENSURE_REF(out);
    tr_result res = TR_SUCCESS;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *buf = malloc(CHUNK);
    uint64_t seen = 0;
    TR_CHECK(ctx != NULL && buf != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestInit_ex(ctx, md, NULL), TR_ERR_OSSL);
    for (;;) {
        ssize_t k = read(fd, buf, CHUNK);
        if (k < 0 && errno == EINTR)
            continue;
        TR_CHECK(k >= 0, TR_ERR_IO);
        if (k == 0)
            break;
        seen += (uint64_t)k;
        TR_CHECK(seen <= max, TR_ERR_TOO_BIG);
        TR_CHECK_OSSL(EVP_DigestUpdate(ctx, buf, (size_t)k), TR_ERR_OSSL);
    }
    TR_CHECK_OSSL(EVP_DigestFinal_ex(ctx, out, NULL), TR_ERR_OSSL);
    if (nbytes != NULL)
        *nbytes = seen;
out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    return res;
}

tr_result tr_file_digest(const char *path, unsigned flags, const EVP_MD *md, uint64_t max,
                         uint8_t *out, uint64_t *nbytes)
{
    int fd;
    TR_GUARD(tr_file_open(path, flags, &fd));
    tr_result res = tr_fd_digest(fd, md, max, out, nbytes);
    close(fd);
    return res;
}

/* nftw's callback: the tree is walked depth first, so a directory comes
 * after its contents. Failures are not fatal here: what is left shows in
 * tr_tree_remove's final check. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

bool tr_tree_remove(const char *dir, unsigned flags)
{
    if (dir == NULL || dir[0] == '\0')
        return true;
    int walk = FTW_DEPTH | FTW_PHYS | ((flags & TR_FILE_SAME_FS) ? FTW_MOUNT : 0);
    nftw(dir, remove_entry, 16, walk);
    return access(dir, F_OK) != 0 && errno == ENOENT;
}

bool tr_fd_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = 0;
            return false;
        }
        b += k;
        n -= (size_t)k;
    }
    return true;
}
