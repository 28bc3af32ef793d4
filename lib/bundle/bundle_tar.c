/* Reading an uploaded or provisioned bundle archive (see bundle.h): a tar
 * stream read with libarchive (tar formats only, no compression: teerexd
 * links libarchive statically and pulls in nothing but its tar reader), each
 * entry checked before a byte of it is handed on. */
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "teerex/bundle.h"

#define BLOCK 65536

struct seen {
    char rel[BUNDLE_MAX_FILES][BUNDLE_NAME_MAX + 8];
    size_t n;
};

/* "./lib/x" -> "lib/x"; a directory entry "lib/" or "./lib" -> "lib". */
static const char *strip_dot(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    return p;
}

static bool is_lib_dir(const char *p)
{
    return strcmp(p, BUNDLE_LIB_DIR) == 0 || strcmp(p, BUNDLE_LIB_DIR "/") == 0 ||
           strcmp(p, "") == 0 || strcmp(p, ".") == 0;
}

static TR_RESULT remember(struct seen *s, const char *rel)
{
    for (size_t i = 0; i < s->n; i++)
        TR_ENSURE(strcmp(s->rel[i], rel) != 0, TR_ERR_BUNDLE_ARCHIVE_ENTRY);
    TR_ENSURE(s->n < BUNDLE_MAX_FILES, TR_ERR_BUNDLE_ARCHIVE_ENTRY);
    size_t n = strlen(rel);
    TR_ENSURE(n < sizeof(s->rel[0]), TR_ERR_BUNDLE_ARCHIVE_ENTRY);
    memcpy(s->rel[s->n++], rel, n + 1);
    return TR_SUCCESS;
}

static TR_RESULT copy_data(struct archive *a, int64_t size, const struct bundle_tar_sink *sink,
                           void *buf)
{
    int64_t got = 0;
    for (;;) {
        la_ssize_t k = archive_read_data(a, buf, BLOCK);
        TR_ENSURE(k >= 0, TR_ERR_BUNDLE_ARCHIVE);
        if (k == 0)
            break;
        got += k;
        TR_ENSURE(got <= size, TR_ERR_BUNDLE_ARCHIVE);
        TR_GUARD(sink->data(sink->ctx, buf, (size_t)k));
    }
    TR_ENSURE(got == size, TR_ERR_BUNDLE_ARCHIVE);
    return TR_SUCCESS;
}

static TR_RESULT read_entries(struct archive *a, const struct bundle_tar_sink *sink, void *buf,
                              struct seen *seen)
{
    struct archive_entry *e;
    uint64_t total = 0;
    bool has_bb = false;
    for (;;) {
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        TR_ENSURE(rc == ARCHIVE_OK, TR_ERR_BUNDLE_ARCHIVE);
        const char *raw = archive_entry_pathname(e);
        TR_ENSURE(raw != NULL, TR_ERR_BUNDLE_ARCHIVE_ENTRY);
        const char *rel = strip_dot(raw);
        mode_t type = archive_entry_filetype(e);
        TR_ENSURE(archive_entry_hardlink(e) == NULL && archive_entry_symlink(e) == NULL,
                  TR_ERR_BUNDLE_ARCHIVE_ENTRY);
        if (type == AE_IFDIR) {
            TR_ENSURE(is_lib_dir(rel), TR_ERR_BUNDLE_ARCHIVE_ENTRY);
            continue;
        }
        TR_ENSURE(type == AE_IFREG && bundle_path_valid(rel), TR_ERR_BUNDLE_ARCHIVE_ENTRY);
        TR_ENSURE(archive_entry_size_is_set(e), TR_ERR_BUNDLE_ARCHIVE_ENTRY);
        int64_t size = archive_entry_size(e);
        TR_ENSURE(size >= 0 && (uint64_t)size <= BUNDLE_MAX_FILE_BYTES, TR_ERR_BUNDLE_TOO_BIG);
        total += (uint64_t)size;
        TR_ENSURE(total <= BUNDLE_MAX_TOTAL_BYTES, TR_ERR_BUNDLE_TOO_BIG);
        TR_GUARD(remember(seen, rel));
        has_bb = has_bb || strcmp(rel, BUNDLE_BB) == 0;
        bool exec = (archive_entry_perm(e) & 0100) != 0;
        TR_GUARD(sink->begin(sink->ctx, rel, exec, (uint64_t)size));
        TR_GUARD(copy_data(a, size, sink, buf));
        TR_GUARD(sink->end(sink->ctx));
    }
    TR_ENSURE(has_bb, TR_ERR_BUNDLE_ARCHIVE_ENTRY);
    return TR_SUCCESS;
}

static TR_RESULT read_archive(struct archive *a, bool opened, const struct bundle_tar_sink *sink)
{
    tr_result res = TR_SUCCESS;
    void *buf = NULL;
    struct seen *seen = NULL;
    TR_CHECK(opened, TR_ERR_BUNDLE_ARCHIVE);
    buf = malloc(BLOCK);
    seen = calloc(1, sizeof(*seen));
    TR_CHECK(buf != NULL && seen != NULL, TR_ERR_NOMEM);
    TR_TRY(read_entries(a, sink, buf, seen));
out:
    free(buf);
    free(seen);
    archive_read_free(a);
    return res;
}

static struct archive *new_reader(void)
{
    struct archive *a = archive_read_new();
    if (a != NULL && archive_read_support_format_tar(a) != ARCHIVE_OK) {
        archive_read_free(a);
        return NULL;
    }
    return a;
}

tr_result bundle_tar_read_fd(int fd, const struct bundle_tar_sink *sink)
{
    TR_ENSURE_REF(sink);
    struct archive *a = new_reader();
    TR_ENSURE(a != NULL, TR_ERR_NOMEM);
    return read_archive(a, archive_read_open_fd(a, fd, BLOCK) == ARCHIVE_OK, sink);
}

tr_result bundle_tar_read_mem(const void *p, size_t n, const struct bundle_tar_sink *sink)
{
    TR_ENSURE_REF(sink);
    TR_ENSURE(p != NULL || n == 0, TR_ERR_NULL_ARG);
    struct archive *a = new_reader();
    TR_ENSURE(a != NULL, TR_ERR_NOMEM);
    static const char EMPTY[1];
    return read_archive(a, archive_read_open_memory(a, n ? p : EMPTY, n) == ARCHIVE_OK, sink);
}
