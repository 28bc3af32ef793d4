/* The file list of a ramdisk: validated relative paths, implied parent
 * directories, sorted (strcmp) so the archive depends only on contents. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teerex/eif.h"

#define EIF_MAX_ENTRIES 100000
#define EIF_MAX_DEPTH 64

void eif_tree_init(struct eif_tree *t)
{
    memset(t, 0, sizeof(*t));
}

void eif_tree_free(struct eif_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].path);
        free(t->v[i].src);
        free(t->v[i].data);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* Relative, no empty / "." / ".." component, no control characters. */
static TR_RESULT check_path(const char *p)
{
    size_t n = strlen(p);
    TR_ENSURE(n > 0 && n < EIF_MAX_PATH && p[0] != '/' && p[n - 1] != '/', TR_ERR_EIF_BAD_PATH);
    const char *seg = p;
    for (size_t i = 0; i <= n; i++) {
        if (i < n)
            TR_ENSURE((unsigned char)p[i] >= 0x20 && p[i] != 0x7f, TR_ERR_EIF_BAD_PATH);
        if (i == n || p[i] == '/') {
            size_t len = (size_t)(p + i - seg);
            TR_ENSURE(len > 0, TR_ERR_EIF_BAD_PATH);
            TR_ENSURE(!(len == 1 && seg[0] == '.'), TR_ERR_EIF_BAD_PATH);
            TR_ENSURE(!(len == 2 && seg[0] == '.' && seg[1] == '.'), TR_ERR_EIF_BAD_PATH);
            seg = p + i + 1;
        }
    }
    return TR_SUCCESS;
}

static TR_RESULT add(struct eif_tree *t, const char *dst, uint32_t mode, const char *src,
                     const void *data, size_t data_len, bool implicit)
{
    TR_ENSURE_REF(dst);
    TR_GUARD(check_path(dst));
    TR_ENSURE(t->n < EIF_MAX_ENTRIES, TR_ERR_EIF_TOO_BIG);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct eif_entry *v = realloc(t->v, cap * sizeof(*v));
        TR_ENSURE(v, TR_ERR_NOMEM);
        t->v = v;
        t->cap = cap;
    }
    struct eif_entry e = {.mode = mode, .implicit = implicit};
    e.path = strdup(dst);
    e.src = src ? strdup(src) : NULL;
    e.data = data_len ? malloc(data_len) : NULL;
    if (!e.path || (src && !e.src) || (data_len && !e.data)) {
        free(e.path);
        free(e.src);
        free(e.data);
        TR_BAIL(TR_ERR_NOMEM);
    }
    if (data_len)
        memcpy(e.data, data, data_len);
    e.data_len = data_len;
    t->v[t->n++] = e;
    return TR_SUCCESS;
}

TR_RESULT eif_tree_add_file(struct eif_tree *t, const char *dst, const char *src, uint32_t perm)
{
    TR_ENSURE_REF(src);
    return add(t, dst, S_IFREG | (perm & 07777), src, NULL, 0, false);
}

TR_RESULT eif_tree_add_data(struct eif_tree *t, const char *dst, const void *p, size_t n,
                            uint32_t perm)
{
    TR_ENSURE(p || n == 0, TR_ERR_NULL_ARG);
    return add(t, dst, S_IFREG | (perm & 07777), NULL, p, n, false);
}

TR_RESULT eif_tree_add_dir(struct eif_tree *t, const char *dst, uint32_t perm)
{
    return add(t, dst, S_IFDIR | (perm & 07777), NULL, NULL, 0, false);
}

TR_RESULT eif_tree_add_symlink(struct eif_tree *t, const char *dst, const char *target)
{
    TR_ENSURE_REF(target);
    size_t n = strlen(target);
    TR_ENSURE(n > 0 && n < EIF_MAX_PATH, TR_ERR_EIF_BAD_PATH);
    return add(t, dst, S_IFLNK | 0777, NULL, target, n, false);
}

static TR_RESULT walk(struct eif_tree *t, const char *dir, const char *rel, int depth)
{
    tr_result res = TR_SUCCESS;
    TR_ENSURE(depth < EIF_MAX_DEPTH, TR_ERR_EIF_BAD_PATH);
    DIR *d = opendir(dir);
    TR_ENSURE(d, TR_ERR_NOT_FOUND);
    struct dirent *de;
    char src[PATH_MAX], dst[EIF_MAX_PATH];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int a = snprintf(src, sizeof(src), "%s/%s", dir, de->d_name);
        int b = rel[0] ? snprintf(dst, sizeof(dst), "%s/%s", rel, de->d_name)
                       : snprintf(dst, sizeof(dst), "%s", de->d_name);
        TR_CHECK(a > 0 && (size_t)a < sizeof(src) && b > 0 && (size_t)b < sizeof(dst),
                 TR_ERR_EIF_BAD_PATH);
        struct stat st;
        TR_CHECK(lstat(src, &st) == 0, TR_ERR_SYS);
        if (S_ISDIR(st.st_mode)) {
            TR_TRY(add(t, dst, S_IFDIR | (st.st_mode & 07777), NULL, NULL, 0, false));
            TR_TRY(walk(t, src, dst, depth + 1));
        } else if (S_ISREG(st.st_mode)) {
            TR_TRY(add(t, dst, S_IFREG | (st.st_mode & 07777), src, NULL, 0, false));
        } else if (S_ISLNK(st.st_mode)) {
            char target[EIF_MAX_PATH];
            ssize_t n = readlink(src, target, sizeof(target) - 1);
            TR_CHECK(n > 0 && (size_t)n < sizeof(target) - 1, TR_ERR_EIF_BAD_PATH);
            TR_TRY(add(t, dst, S_IFLNK | 0777, NULL, target, (size_t)n, false));
        } else {
            TR_FAIL(TR_ERR_EIF_UNSUPPORTED_FILE);
        }
    }
out:
    closedir(d);
    return res;
}

TR_RESULT eif_tree_add_root(struct eif_tree *t, const char *dir, const char *prefix)
{
    struct stat st;
    TR_ENSURE_REF(dir);
    TR_ENSURE(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), TR_ERR_NOT_FOUND);
    if (prefix && prefix[0])
        TR_GUARD(check_path(prefix));
    return walk(t, dir, prefix ? prefix : "", 0);
}

static int by_path(const void *a, const void *b)
{
    const struct eif_entry *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c != 0)
        return c;
    /* Equal paths: explicit entries first, so the explicit one is kept. */
    return (int)x->implicit - (int)y->implicit;
}

/* Adds every missing parent directory of every entry. */
static TR_RESULT add_parents(struct eif_tree *t)
{
    size_t n = t->n;
    char buf[EIF_MAX_PATH];
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "%s", t->v[i].path);
        for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
            *s = '\0';
            TR_GUARD(add(t, buf, S_IFDIR | 0755, NULL, NULL, 0, true));
            *s = '/';
        }
    }
    return TR_SUCCESS;
}

TR_RESULT eif_tree_write(struct eif_tree *t, int fd, uint32_t mtime)
{
    TR_GUARD(add_parents(t));
    qsort(t->v, t->n, sizeof(*t->v), by_path);
    /* Equal paths are adjacent now: they may only be directories (the
     * first, explicit one is kept); anything else is a conflict. */
    for (size_t i = 1; i < t->n; i++) {
        if (strcmp(t->v[i - 1].path, t->v[i].path) == 0)
            TR_ENSURE(S_ISDIR(t->v[i - 1].mode) && S_ISDIR(t->v[i].mode),
                      TR_ERR_EIF_DUPLICATE_ENTRY);
    }
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct eif_entry *e = &t->v[i];
        if (k > 0 && strcmp(t->v[k - 1].path, e->path) == 0) {
            free(e->path);
            free(e->src);
            free(e->data);
            continue;
        }
        t->v[k++] = *e;
    }
    t->n = k;

    struct eif_cpio c;
    eif_cpio_init(&c, fd, mtime);
    for (size_t i = 0; i < t->n; i++) {
        const struct eif_entry *e = &t->v[i];
        if (e->src) {
            struct eif_blob b;
            int sfd = open(e->src, O_RDONLY | O_CLOEXEC);
            TR_ENSURE(sfd >= 0, TR_ERR_NOT_FOUND);
            tr_result r = eif_blob_fd(sfd, &b);
            if (tr_ok(r))
                r = eif_cpio_add(&c, e->path, e->mode, &b);
            close(sfd);
            TR_GUARD(r);
        } else if (S_ISDIR(e->mode)) {
            TR_GUARD(eif_cpio_add(&c, e->path, e->mode, NULL));
        } else {
            struct eif_blob b = eif_blob_mem(e->data, e->data_len);
            TR_GUARD(eif_cpio_add(&c, e->path, e->mode, &b));
        }
    }
    return eif_cpio_finish(&c);
}
