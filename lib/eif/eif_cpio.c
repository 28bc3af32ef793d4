/* cpio "newc" (SVR4, magic 070701) writer for the EIF ramdisks.
 *
 * Hand-written because libarchive is not among the project's libraries and
 * the output must follow linuxkit's writer (surma/gocpio) field for field:
 * inode numbers counting from 721, nlink 1 (2 for directories), device 3:1,
 * rdev 0:0, check 0; "header + name + NUL" padded to 4, data padded to 4;
 * a "TRAILER!!!" entry; the archive padded to 512 bytes. Owners are 0 and
 * every mtime is one constant so the bytes depend only on the contents.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teerex/file.h"
#include "teerex/eif.h"

#define NEWC_HEADER_LEN 110
#define CPIO_CHUNK ((size_t)1 << 20)

void eif_cpio_init(struct eif_cpio *c, int fd, uint32_t mtime)
{
    c->fd = fd;
    c->len = 0;
    c->ino = 721;
    c->mtime = mtime;
}

static TR_RESULT put(struct eif_cpio *c, const void *p, size_t n)
{
    TR_ENSURE(tr_fd_write_all(c->fd, p, n), TR_ERR_IO);
    c->len += (uint64_t)n;
    return TR_SUCCESS;
}

static TR_RESULT pad(struct eif_cpio *c, uint64_t to)
{
    static const uint8_t zeros[512];
    size_t n = (size_t)((to - c->len % to) % to);
    return put(c, zeros, n);
}

static TR_RESULT header(struct eif_cpio *c, const char *name, uint32_t mode, uint32_t nlink,
                        uint32_t mtime, uint64_t size)
{
    char h[NEWC_HEADER_LEN + 1];
    size_t name_len = strlen(name) + 1;
    TR_ENSURE(size <= UINT32_MAX, TR_ERR_EIF_TOO_BIG);
    int n = snprintf(h, sizeof(h), "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
                     c->ino, mode, 0u, 0u, nlink, mtime, (uint32_t)size, 3u, 1u, 0u, 0u,
                     (uint32_t)name_len, 0u);
    TR_ENSURE(n == NEWC_HEADER_LEN, TR_ERR_EIF_TOO_BIG);
    TR_GUARD(put(c, h, NEWC_HEADER_LEN));
    TR_GUARD(put(c, name, name_len));
    TR_GUARD(pad(c, 4));
    c->ino++;
    return TR_SUCCESS;
}

TR_RESULT eif_cpio_add(struct eif_cpio *c, const char *name, uint32_t mode,
                       const struct eif_blob *data)
{
    TR_ENSURE_REF(name);
    uint64_t size = data ? data->len : 0;
    uint32_t type = mode & S_IFMT;
    TR_ENSURE(type == S_IFREG || type == S_IFDIR || type == S_IFLNK, TR_ERR_EIF_UNSUPPORTED_FILE);
    TR_ENSURE(type != S_IFDIR || size == 0, TR_ERR_EIF_UNSUPPORTED_FILE);
    TR_GUARD(header(c, name, mode, type == S_IFDIR ? 2 : 1, c->mtime, size));
    if (size == 0)
        return TR_SUCCESS;
    if (data->fd < 0) {
        TR_GUARD(put(c, data->mem, data->len));
    } else {
        uint8_t *buf = malloc(CPIO_CHUNK);
        tr_result res = TR_SUCCESS;
        TR_ENSURE(buf, TR_ERR_NOMEM);
        for (size_t done = 0; done < data->len;) {
            size_t want = data->len - done < CPIO_CHUNK ? data->len - done : CPIO_CHUNK;
            ssize_t r = pread(data->fd, buf, want, (off_t)done);
            if (r < 0 && errno == EINTR)
                continue;
            TR_CHECK(r >= 0, TR_ERR_IO);
            TR_CHECK(r > 0, TR_ERR_EIF_CHANGED);
            TR_TRY(put(c, buf, (size_t)r));
            done += (size_t)r;
        }
    out:
        free(buf);
        TR_GUARD(res);
    }
    return pad(c, 4);
}

TR_RESULT eif_cpio_finish(struct eif_cpio *c)
{
    TR_GUARD(header(c, "TRAILER!!!", 0, 1, 0, 0));
    return pad(c, 512);
}
