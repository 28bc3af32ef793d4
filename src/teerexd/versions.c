/* Prover binary registry (see versions.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/log.h"
#include "versions.h"

tr_result sha256_file(const char *path, char out[65])
{
    tr_result res = TR_SUCCESS;
    EVP_MD_CTX *md = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    TR_CHECK(fd >= 0, TR_ERR_NOT_FOUND);
    md = EVP_MD_CTX_new();
    TR_CHECK(md != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestInit_ex(md, EVP_sha256(), NULL), TR_ERR_OSSL);
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        TR_CHECK(n >= 0, TR_ERR_IO);
        if (n == 0)
            break;
        TR_CHECK_OSSL(EVP_DigestUpdate(md, buf, (size_t)n), TR_ERR_OSSL);
    }
    uint8_t dig[32];
    TR_CHECK_OSSL(EVP_DigestFinal_ex(md, dig, NULL), TR_ERR_OSSL);
    tr_hex_to_str(dig, 32, out);
out:
    EVP_MD_CTX_free(md);
    if (fd >= 0)
        close(fd);
    return res;
}

/* "bb" without a slash is looked up in PATH, like execvp would. */
static void resolve_default(const char *p, char *out, size_t cap)
{
    out[0] = '\0';
    if (p[0] != '\0' && strchr(p, '/')) {
        snprintf(out, cap, "%s", p);
        return;
    }
    const char *name = p[0] ? p : "bb";
    const char *path = getenv("PATH");
    if (!path)
        return;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char cand[VERSIONS_PATH_MAX];
        int n = snprintf(cand, sizeof(cand), "%s/%s", d, name);
        if (n > 0 && (size_t)n < sizeof(cand) && access(cand, X_OK) == 0) {
            snprintf(out, cap, "%s", cand);
            return;
        }
    }
}

static int cmp_version(const void *a, const void *b)
{
    return strcmp(((const struct bb_version *)a)->version, ((const struct bb_version *)b)->version);
}

tr_result versions_init(struct versions *v, const char *dir, const char *default_path)
{
    memset(v, 0, sizeof(*v));
    pthread_mutex_init(&v->mu, NULL);
    snprintf(v->dir, sizeof(v->dir), "%s", dir ? dir : "");
    snprintf(v->def.version, sizeof(v->def.version), "default");
    resolve_default(default_path ? default_path : "", v->def.path, sizeof(v->def.path));
    if (v->def.path[0]) {
        if (!tr_ok(sha256_file(v->def.path, v->def.sha256))) {
            tr_log(TR_LOG_WARN, "bb_default_unreadable", "{s:s}", "path", v->def.path);
            v->def.sha256[0] = '\0';
        }
    } else {
        tr_log(TR_LOG_WARN, "bb_default_missing", "{s:s}", "detail",
               "no BB_BINARY_PATH and no bb in PATH: requests need x-aztec-version");
    }
    return versions_rescan(v);
}

void versions_destroy(struct versions *v)
{
    pthread_mutex_destroy(&v->mu);
}

tr_result versions_rescan(struct versions *v)
{
    if (v->dir[0] == '\0')
        return TR_SUCCESS;
    DIR *d = opendir(v->dir);
    if (!d) {
        tr_log(TR_LOG_WARN, "bb_versions_dir_unreadable", "{s:s,s:s}", "dir", v->dir, "errno",
               strerror(errno));
        return TR_SUCCESS;
    }
    struct bb_version *found = calloc(VERSIONS_MAX, sizeof(*found));
    if (!found) {
        closedir(d);
        TR_BAIL(TR_ERR_NOMEM);
    }
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < VERSIONS_MAX) {
        if (!tr_ok(http_version_validate(de->d_name)))
            continue; /* ".", "..", hidden temp dirs, odd names */
        struct bb_version *e = &found[n];
        memset(e, 0, sizeof(*e));
        memcpy(e->version, de->d_name, strlen(de->d_name) + 1); /* validated: <= 64 */
        int w = snprintf(e->path, sizeof(e->path), "%s/%s/bb", v->dir, de->d_name);
        if (w < 0 || (size_t)w >= sizeof(e->path))
            continue;
        struct stat st;
        if (stat(e->path, &st) != 0 || !S_ISREG(st.st_mode) || access(e->path, X_OK) != 0)
            continue;
        if (!tr_ok(sha256_file(e->path, e->sha256)))
            continue;
        n++;
    }
    closedir(d);
    qsort(found, n, sizeof(found[0]), cmp_version);
    pthread_mutex_lock(&v->mu);
    memcpy(v->list, found, n * sizeof(found[0]));
    v->count = n;
    pthread_mutex_unlock(&v->mu);
    free(found);
    tr_log(TR_LOG_INFO, "bb_versions_scanned", "{s:s,s:I}", "dir", v->dir, "count", (json_int_t)n);
    return TR_SUCCESS;
}

bool versions_default(struct versions *v, struct bb_version *out)
{
    pthread_mutex_lock(&v->mu);
    bool ok = v->def.path[0] != '\0';
    *out = v->def;
    pthread_mutex_unlock(&v->mu);
    return ok;
}

bool versions_lookup(struct versions *v, const char *version, struct bb_version *out)
{
    if (!version || !*version)
        return versions_default(v, out);
    bool ok = false;
    pthread_mutex_lock(&v->mu);
    for (size_t i = 0; i < v->count; i++) {
        if (strcmp(v->list[i].version, version) == 0) {
            *out = v->list[i];
            ok = true;
            break;
        }
    }
    pthread_mutex_unlock(&v->mu);
    return ok;
}

json_t *versions_json(struct versions *v)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    pthread_mutex_lock(&v->mu);
    for (size_t i = 0; i < v->count; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:s}", "version", v->list[i].version, "sha256", v->list[i].sha256));
    pthread_mutex_unlock(&v->mu);
    return a;
}

void versions_names(struct versions *v, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    pthread_mutex_lock(&v->mu);
    for (size_t i = 0; i < v->count && used < cap; i++) {
        int w = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", v->list[i].version);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    pthread_mutex_unlock(&v->mu);
}

struct versions_upload {
    struct versions *v;
    char version[TR_MAX_VERSION_LEN + 1];
    char vdir[VERSIONS_PATH_MAX];
    char tmp[VERSIONS_PATH_MAX + 32];
    int fd;
    EVP_MD_CTX *md;
};

tr_result versions_upload_begin(struct versions *v, const char *version,
                                struct versions_upload **out)
{
    TR_GUARD(http_version_validate(version));
    TR_ENSURE(v->dir[0] != '\0', TR_ERR_USAGE);
    struct versions_upload *u = calloc(1, sizeof(*u));
    TR_ENSURE(u != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    u->v = v;
    u->fd = -1;
    snprintf(u->version, sizeof(u->version), "%s", version);
    int w = snprintf(u->vdir, sizeof(u->vdir), "%s/%s", v->dir, version);
    TR_CHECK(w > 0 && (size_t)w < sizeof(u->vdir), TR_ERR_OVERFLOW);
    TR_CHECK(mkdir(u->vdir, 0755) == 0 || errno == EEXIST, TR_ERR_SYS);
    snprintf(u->tmp, sizeof(u->tmp), "%s/.bb.upload.XXXXXX", u->vdir);
    u->fd = mkostemp(u->tmp, O_CLOEXEC);
    TR_CHECK(u->fd >= 0, TR_ERR_SYS);
    u->md = EVP_MD_CTX_new();
    TR_CHECK(u->md != NULL, TR_ERR_NOMEM);
    TR_CHECK_OSSL(EVP_DigestInit_ex(u->md, EVP_sha256(), NULL), TR_ERR_OSSL);
    *out = u;
out:
    if (!tr_ok(res))
        versions_upload_abort(u);
    return res;
}

tr_result versions_upload_write(struct versions_upload *u, const void *p, size_t n)
{
    TR_GUARD_OSSL(EVP_DigestUpdate(u->md, p, n), TR_ERR_OSSL);
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(u->fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        TR_ENSURE(w > 0, TR_ERR_IO);
        b += w;
        n -= (size_t)w;
    }
    return TR_SUCCESS;
}

tr_result versions_upload_commit(struct versions_upload *u, struct bb_version *out)
{
    tr_result res = TR_SUCCESS;
    uint8_t dig[32];
    char final[VERSIONS_PATH_MAX + 8];
    int fw;
    TR_CHECK_OSSL(EVP_DigestFinal_ex(u->md, dig, NULL), TR_ERR_OSSL);
    TR_CHECK(fchmod(u->fd, 0755) == 0, TR_ERR_SYS);
    TR_CHECK(fsync(u->fd) == 0, TR_ERR_IO);
    TR_CHECK(close(u->fd) == 0, TR_ERR_IO);
    u->fd = -1;
    snprintf(final, sizeof(final), "%s/bb", u->vdir);
    TR_CHECK(rename(u->tmp, final) == 0, TR_ERR_SYS);
    u->tmp[0] = '\0';
    int dfd = open(u->vdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            tr_log(TR_LOG_WARN, "bb_upload_dir_fsync_failed", "{s:s}", "dir", u->vdir);
        close(dfd);
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->version, sizeof(out->version), "%s", u->version);
    fw = snprintf(out->path, sizeof(out->path), "%s/bb", u->vdir);
    TR_CHECK(fw > 0 && (size_t)fw < sizeof(out->path), TR_ERR_OVERFLOW);
    tr_hex_to_str(dig, 32, out->sha256);
    tr_ignore(versions_rescan(u->v));
out:
    versions_upload_abort(u);
    return res;
}

void versions_upload_abort(struct versions_upload *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    if (u->tmp[0])
        unlink(u->tmp);
    EVP_MD_CTX_free(u->md);
    free(u);
}
