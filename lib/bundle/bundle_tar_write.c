/* Writing a bundle archive deterministically with libarchive (see
 * bundle.h): the bytes depend only on the files' paths, contents and owner
 * execute bits, so a bundle built twice from the same inputs is the same
 * archive. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle_internal.h"

#define BLOCK 65536

static TR_RESULT add_file(struct archive *a, const struct bundle *b, const char *rel, void *buf)
{
    int fd;
    TR_GUARD(bundle_open_file(b, rel, &fd));
    tr_result res = TR_SUCCESS;
    struct archive_entry *e = archive_entry_new();
    struct stat st;
    TR_CHECK(e != NULL, TR_ERR_NOMEM);
    TR_CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), TR_ERR_BUNDLE_IO);
    TR_CHECK((uint64_t)st.st_size <= BUNDLE_MAX_FILE_BYTES, TR_ERR_BUNDLE_TOO_BIG);
    archive_entry_set_pathname(e, rel);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, (st.st_mode & S_IXUSR) ? 0755 : 0644);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    TR_CHECK(archive_write_header(a, e) == ARCHIVE_OK, TR_ERR_BUNDLE_IO);
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t k = read(fd, buf, BLOCK);
        if (k < 0 && errno == EINTR)
            continue;
        TR_CHECK(k > 0 && k <= left, TR_ERR_BUNDLE_IO); /* the file changed under us */
        TR_CHECK(archive_write_data(a, buf, (size_t)k) == k, TR_ERR_BUNDLE_IO);
        left -= k;
    }
out:
    archive_entry_free(e);
    close(fd);
    return res;
}

tr_result bundle_tar_write(const struct bundle *b, int fd)
{
    TR_ENSURE_REF(b);
    tr_result res = TR_SUCCESS;
    struct bundle_files *files = calloc(1, sizeof(*files));
    void *buf = malloc(BLOCK);
    struct archive *a = archive_write_new();
    TR_CHECK(files != NULL && buf != NULL && a != NULL, TR_ERR_NOMEM);
    TR_TRY(bundle_list(b, files));
    TR_CHECK(archive_write_set_format_ustar(a) == ARCHIVE_OK, TR_ERR_BUNDLE_IO);
    TR_CHECK(archive_write_add_filter_none(a) == ARCHIVE_OK, TR_ERR_BUNDLE_IO);
    TR_CHECK(archive_write_open_fd(a, fd) == ARCHIVE_OK, TR_ERR_BUNDLE_IO);
    for (size_t i = 0; i < files->n; i++)
        TR_TRY(add_file(a, b, files->f[i].rel, buf));
    TR_CHECK(archive_write_close(a) == ARCHIVE_OK, TR_ERR_BUNDLE_IO);
out:
    if (a != NULL)
        archive_write_free(a);
    free(buf);
    free(files);
    return res;
}
