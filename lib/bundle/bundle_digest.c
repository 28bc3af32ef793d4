/* The bundle manifest and digest (see bundle.h). Files are opened relative
 * to directory descriptors with O_NOFOLLOW, so a symlink anywhere inside a
 * bundle is refused rather than followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle_internal.h"
#include "teerex/codec.h"
#include "teerex/file.h"

static int by_rel(const void *a, const void *b)
{
    return strcmp(((const struct bundle_file *)a)->rel, ((const struct bundle_file *)b)->rel);
}

static TR_RESULT add(struct bundle_files *w, const char *prefix, const char *name)
{
    TR_ENSURE(w->n < BUNDLE_MAX_FILES, TR_ERR_BUNDLE_LAYOUT);
    int k = snprintf(w->f[w->n].rel, sizeof(w->f[0].rel), "%s%s", prefix, name);
    TR_ENSURE(k > 0 && (size_t)k < sizeof(w->f[0].rel), TR_ERR_BUNDLE_LAYOUT);
    w->n++;
    return TR_SUCCESS;
}

/* lib/: regular files with valid names only. */
static TR_RESULT walk_lib(int libfd, struct bundle_files *w)
{
    DIR *d = fdopendir(libfd);
    if (d == NULL) {
        close(libfd);
        TR_BAIL(TR_ERR_BUNDLE_IO);
    }
    tr_result res = TR_SUCCESS;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        TR_CHECK(bundle_name_valid(de->d_name, strlen(de->d_name)), TR_ERR_BUNDLE_LAYOUT);
        TR_CHECK(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0, TR_ERR_BUNDLE_IO);
        TR_CHECK(S_ISREG(st.st_mode), TR_ERR_BUNDLE_LAYOUT);
        TR_TRY(add(w, BUNDLE_LIB_DIR "/", de->d_name));
    }
out:
    closedir(d);
    return res;
}

/* The top level: "bb" (regular file) and "lib" (directory) only. */
static TR_RESULT walk_root(int rootfd, struct bundle_files *w)
{
    DIR *d = fdopendir(rootfd);
    if (d == NULL) {
        close(rootfd);
        TR_BAIL(TR_ERR_BUNDLE_IO);
    }
    tr_result res = TR_SUCCESS;
    struct dirent *de;
    bool has_bb = false;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        TR_CHECK(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0, TR_ERR_BUNDLE_IO);
        if (strcmp(de->d_name, BUNDLE_BB) == 0 && S_ISREG(st.st_mode)) {
            TR_TRY(add(w, "", BUNDLE_BB));
            has_bb = true;
        } else if (strcmp(de->d_name, BUNDLE_LIB_DIR) == 0 && S_ISDIR(st.st_mode)) {
            int libfd =
                openat(dirfd(d), BUNDLE_LIB_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            TR_CHECK(libfd >= 0, TR_ERR_BUNDLE_IO);
            TR_TRY(walk_lib(libfd, w));
        } else {
            TR_FAIL(TR_ERR_BUNDLE_LAYOUT);
        }
    }
    TR_CHECK(has_bb, TR_ERR_BUNDLE_LAYOUT);
out:
    closedir(d);
    return res;
}

/* "<mode> <sha256> <rel>\n" for one file read through fd. */
static TR_RESULT hash_line(int fd, const char *rel, uint64_t *total, struct tr_buf *out)
{
    struct stat st;
    TR_ENSURE(fstat(fd, &st) == 0, TR_ERR_BUNDLE_IO);
    TR_ENSURE(S_ISREG(st.st_mode), TR_ERR_BUNDLE_LAYOUT);
    TR_ENSURE((uint64_t)st.st_size <= BUNDLE_MAX_FILE_BYTES, TR_ERR_BUNDLE_TOO_BIG);
    uint8_t dig[EVP_MAX_MD_SIZE];
    uint64_t seen = 0;
    tr_result r = tr_fd_digest(fd, EVP_sha256(), BUNDLE_MAX_FILE_BYTES, dig, &seen);
    TR_ENSURE(r.err != TR_ERR_TOO_BIG, TR_ERR_BUNDLE_TOO_BIG); /* grew while read */
    TR_ENSURE(r.err != TR_ERR_IO, TR_ERR_BUNDLE_IO);
    TR_GUARD(r);
    *total += seen;
    TR_ENSURE(*total <= BUNDLE_MAX_TOTAL_BYTES, TR_ERR_BUNDLE_TOO_BIG);
    char hex[65], line[BUNDLE_NAME_MAX + 96];
    tr_hex_to_str(dig, 32, hex);
    int w = snprintf(line, sizeof(line), "%s %s %s\n", (st.st_mode & S_IXUSR) ? "755" : "644", hex,
                     rel);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(line), TR_ERR_OVERFLOW);
    return tr_buf_append(out, line, (size_t)w);
}

tr_result bundle_list(const struct bundle *b, struct bundle_files *out)
{
    TR_ENSURE_REF(b);
    TR_ENSURE_REF(out);
    out->n = 0;
    if (b->kind == BUNDLE_FILE)
        return add(out, "", BUNDLE_BB);
    int rootfd = open(b->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    TR_ENSURE(rootfd >= 0, TR_ERR_BUNDLE_IO);
    TR_GUARD(walk_root(rootfd, out)); /* takes rootfd */
    qsort(out->f, out->n, sizeof(out->f[0]), by_rel);
    return TR_SUCCESS;
}

tr_result bundle_open_file(const struct bundle *b, const char *rel, int *out_fd)
{
    *out_fd = -1;
    if (b->kind == BUNDLE_FILE) {
        TR_ENSURE(strcmp(rel, BUNDLE_BB) == 0, TR_ERR_BUNDLE_LAYOUT);
        *out_fd = open(b->bb, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    } else {
        TR_ENSURE(bundle_path_valid(rel), TR_ERR_BUNDLE_LAYOUT);
        int rootfd = open(b->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        TR_ENSURE(rootfd >= 0, TR_ERR_BUNDLE_IO);
        *out_fd = openat(rootfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(rootfd);
        errno = saved;
    }
    TR_ENSURE(*out_fd >= 0, errno == ELOOP ? TR_ERR_BUNDLE_LAYOUT : TR_ERR_BUNDLE_IO);
    return TR_SUCCESS;
}

tr_result bundle_manifest(const struct bundle *b, struct tr_buf *out)
{
    TR_ENSURE_REF(b);
    TR_ENSURE_REF(out);
    tr_result res = TR_SUCCESS;
    struct bundle_files *w = calloc(1, sizeof(*w));
    uint64_t total = 0;
    TR_CHECK(w != NULL, TR_ERR_NOMEM);
    TR_TRY(tr_buf_append_str(out, BUNDLE_MANIFEST_TAG "\n"));
    TR_TRY(bundle_list(b, w));
    for (size_t i = 0; i < w->n; i++) {
        int fd;
        TR_TRY(bundle_open_file(b, w->f[i].rel, &fd));
        res = hash_line(fd, w->f[i].rel, &total, out);
        close(fd);
        if (!tr_ok(res))
            goto out;
    }
out:
    free(w);
    return res;
}

tr_result bundle_digest(const struct bundle *b, char out_hex[BUNDLE_DIGEST_HEX])
{
    struct tr_buf m;
    tr_buf_init(&m, (size_t)BUNDLE_MAX_FILES * (BUNDLE_NAME_MAX + 96) + 64);
    tr_result res = bundle_manifest(b, &m);
    if (tr_ok(res)) {
        uint8_t dig[32];
        unsigned dl = 0;
        if (EVP_Digest(m.data, m.len, dig, &dl, EVP_sha256(), NULL) == 1)
            tr_hex_to_str(dig, 32, out_hex);
        else
            res = tr_fail_at(TR_ERR_OSSL, __FILE__, __LINE__);
    }
    tr_buf_free(&m);
    return res;
}

tr_result bundle_digest_path(const char *path, char out_hex[BUNDLE_DIGEST_HEX])
{
    struct bundle b;
    TR_GUARD(bundle_open(path, &b));
    return bundle_digest(&b, out_hex);
}
