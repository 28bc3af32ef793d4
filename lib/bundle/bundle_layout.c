/* Bundle layout: what a bundle is, how it runs (see bundle.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "teerex/bundle.h"

bool bundle_name_valid(const char *name, size_t len)
{
    if (len == 0 || len >= BUNDLE_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  c == '.' || c == '_' || c == '+' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool bundle_path_valid(const char *rel)
{
    if (rel == NULL)
        return false;
    if (strcmp(rel, BUNDLE_BB) == 0)
        return true;
    static const char PREFIX[] = BUNDLE_LIB_DIR "/";
    if (strncmp(rel, PREFIX, sizeof(PREFIX) - 1) != 0)
        return false;
    const char *name = rel + sizeof(PREFIX) - 1;
    return bundle_name_valid(name, strnlen(name, BUNDLE_NAME_MAX));
}

bool bundle_digest_valid(const char *hex)
{
    if (hex == NULL || strnlen(hex, 65) != 64)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static TR_RESULT join(char *out, const char *dir, const char *name)
{
    int w = snprintf(out, BUNDLE_PATH_MAX, "%s/%s", dir, name);
    TR_ENSURE(w > 0 && w < BUNDLE_PATH_MAX, TR_ERR_OVERFLOW);
    return TR_SUCCESS;
}

/* A regular file the owner may execute (not following a symlink). */
static bool is_exec_file(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR);
}

tr_result bundle_open(const char *path, struct bundle *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(path != NULL && path[0] != '\0', TR_ERR_BUNDLE_NOT_FOUND);
    /* The path itself may be a symlink (a BB_BINARY_PATH in /usr/local/bin,
     * a versions directory elsewhere): resolve it once; inside a bundle no
     * symlink is followed. */
    char real[PATH_MAX];
    if (realpath(path, real) == NULL)
        TR_BAIL(errno == ENOENT || errno == ENOTDIR ? TR_ERR_BUNDLE_NOT_FOUND
                                                    : TR_ERR_BUNDLE_LAYOUT);
    TR_ENSURE(strlen(real) < BUNDLE_PATH_MAX - 64, TR_ERR_OVERFLOW);
    struct stat st;
    TR_ENSURE(lstat(real, &st) == 0, TR_ERR_BUNDLE_NOT_FOUND);
    memcpy(out->root, real, strlen(real) + 1);
    if (S_ISREG(st.st_mode)) {
        TR_ENSURE(st.st_mode & S_IXUSR, TR_ERR_BUNDLE_LAYOUT);
        out->kind = BUNDLE_FILE;
        memcpy(out->bb, real, strlen(real) + 1);
        return TR_SUCCESS;
    }
    TR_ENSURE(S_ISDIR(st.st_mode), TR_ERR_BUNDLE_LAYOUT);
    TR_GUARD(join(out->bb, real, BUNDLE_BB));
    TR_ENSURE(is_exec_file(out->bb), TR_ERR_BUNDLE_LAYOUT);
    char lib[BUNDLE_PATH_MAX];
    TR_GUARD(join(lib, real, BUNDLE_LIB_DIR));
    if (lstat(lib, &st) != 0) {
        TR_ENSURE(errno == ENOENT, TR_ERR_BUNDLE_LAYOUT);
        out->kind = BUNDLE_BARE;
        return TR_SUCCESS;
    }
    TR_ENSURE(S_ISDIR(st.st_mode), TR_ERR_BUNDLE_LAYOUT);
    TR_GUARD(join(out->loader, lib, BUNDLE_LOADER));
    TR_ENSURE(is_exec_file(out->loader), TR_ERR_BUNDLE_LAYOUT);
    memcpy(out->lib, lib, sizeof(lib));
    out->kind = BUNDLE_LOADER_DIR;
    return TR_SUCCESS;
}

size_t bundle_argv(const struct bundle *b, const char *out[BUNDLE_ARGV_PREFIX + 1])
{
    size_t n = 0;
    if (b->kind == BUNDLE_LOADER_DIR) {
        /* --inhibit-cache: never /etc/ld.so.cache, so the libraries come from
         * D/lib whether or not the host has others (the sandbox shows only D). */
        out[n++] = b->loader;
        out[n++] = "--inhibit-cache";
        out[n++] = "--library-path";
        out[n++] = b->lib;
    }
    out[n++] = b->bb;
    out[n] = NULL;
    return n;
}
