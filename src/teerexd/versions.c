/* Prover version registry (see versions.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "teerex/log.h"
#include "versions.h"

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
        char cand[BUNDLE_PATH_MAX];
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

/* Opens and digests one bundle; false (logged) when it is not runnable or
 * not allowed. */
static bool load_one(const struct versions *v, const char *name, const char *path,
                     struct bb_version *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->version, sizeof(e->version), "%s", name);
    tr_result r = bundle_open(path, &e->bundle);
    if (tr_ok(r))
        r = bundle_digest(&e->bundle, e->digest);
    if (!tr_ok(r)) {
        tr_log(TR_LOG_WARN, "bb_bundle_unusable", "{s:s,s:s,s:s}", "version", name, "path", path,
               "error", tr_err_name(r.err));
        return false;
    }
    if (!bundle_policy_allows(v->policy, name, e->digest)) {
        tr_log(TR_LOG_WARN, "bb_bundle_not_allowed", "{s:s,s:s,s:s}", "version", name, "digest",
               e->digest, "policy", bundle_policy_name(v->policy));
        return false;
    }
    return true;
}

tr_result versions_init(struct versions *v, const char *dir, const char *default_path,
                        const char *default_version, const struct bundle_policy *policy)
{
    memset(v, 0, sizeof(*v));
    pthread_mutex_init(&v->mu, NULL);
    pthread_mutex_init(&v->install_mu, NULL);
    v->policy = policy;
    snprintf(v->dir, sizeof(v->dir), "%s", dir ? dir : "");
    const char *dv = default_version && *default_version ? default_version : NULL;
    if (dv && !bundle_version_valid(dv)) {
        tr_log(TR_LOG_ERROR, "bb_default_version_invalid", "{s:s}", "value", dv);
        TR_BAIL(TR_ERR_USAGE);
    }
    char path[BUNDLE_PATH_MAX];
    /* BB_DEFAULT_VERSION alone names a bundle of the directory; otherwise
     * the default is BB_BINARY_PATH (or bb from PATH). */
    if (dv && !(default_path && *default_path)) {
        snprintf(v->default_name, sizeof(v->default_name), "%s", dv);
    } else {
        resolve_default(default_path ? default_path : "", path, sizeof(path));
        const char *name = dv ? dv : VERSIONS_DEFAULT_NAME;
        if (path[0] && load_one(v, name, path, &v->external)) {
            v->has_external = true;
            snprintf(v->default_name, sizeof(v->default_name), "%s", name);
        } else if (!path[0]) {
            tr_log(TR_LOG_WARN, "bb_default_missing", "{s:s}", "detail",
                   "no BB_BINARY_PATH and no bb in PATH: requests need x-aztec-version");
        }
    }
    return versions_rescan(v);
}

void versions_destroy(struct versions *v)
{
    pthread_mutex_destroy(&v->mu);
    pthread_mutex_destroy(&v->install_mu);
}

tr_result versions_rescan(struct versions *v)
{
    struct bb_version *found = calloc(VERSIONS_MAX, sizeof(*found));
    TR_ENSURE(found != NULL, TR_ERR_NOMEM);
    size_t n = 0;
    if (v->has_external)
        found[n++] = v->external;
    DIR *d = v->dir[0] ? opendir(v->dir) : NULL;
    if (v->dir[0] && !d)
        tr_log(TR_LOG_WARN, "bb_versions_dir_unreadable", "{s:s,s:s}", "dir", v->dir, "errno",
               strerror(errno));
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < VERSIONS_MAX) {
        /* ".", "..", .staging-* directories, odd names */
        if (!bundle_version_valid(de->d_name))
            continue;
        if (v->has_external && strcmp(de->d_name, v->external.version) == 0) {
            tr_log(TR_LOG_WARN, "bb_version_shadowed", "{s:s,s:s}", "version", de->d_name, "detail",
                   "BB_BINARY_PATH is listed under this name");
            continue;
        }
        char path[BUNDLE_PATH_MAX];
        int w = snprintf(path, sizeof(path), "%s/%s", v->dir, de->d_name);
        if (w < 0 || (size_t)w >= sizeof(path))
            continue;
        if (load_one(v, de->d_name, path, &found[n]))
            n++;
    }
    if (d)
        closedir(d);
    qsort(found, n, sizeof(found[0]), cmp_version);
    pthread_mutex_lock(&v->mu);
    memcpy(v->list, found, n * sizeof(found[0]));
    v->count = n;
    pthread_mutex_unlock(&v->mu);
    metrics_set_bb_versions((unsigned)n);
    free(found);
    tr_log(TR_LOG_INFO, "bb_versions_scanned", "{s:s,s:I,s:s,s:s}", "dir", v->dir, "count",
           (json_int_t)n, "default", v->default_name, "policy", bundle_policy_name(v->policy));
    return TR_SUCCESS;
}

bool versions_lookup(struct versions *v, const char *version, struct bb_version *out)
{
    bool ok = false;
    pthread_mutex_lock(&v->mu);
    const char *want = version && *version ? version : v->default_name;
    for (size_t i = 0; want[0] && i < v->count; i++) {
        if (strcmp(v->list[i].version, want) == 0) {
            *out = v->list[i];
            ok = true;
            break;
        }
    }
    pthread_mutex_unlock(&v->mu);
    return ok;
}

bool versions_default(struct versions *v, struct bb_version *out)
{
    return versions_lookup(v, NULL, out);
}

size_t versions_count(struct versions *v)
{
    pthread_mutex_lock(&v->mu);
    size_t n = v->count;
    pthread_mutex_unlock(&v->mu);
    return n;
}

json_t *versions_json(struct versions *v)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    pthread_mutex_lock(&v->mu);
    for (size_t i = 0; i < v->count; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:s}", "version", v->list[i].version, "sha256", v->list[i].digest));
    pthread_mutex_unlock(&v->mu);
    return a;
}

json_t *versions_names_json(struct versions *v)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    pthread_mutex_lock(&v->mu);
    for (size_t i = 0; i < v->count; i++)
        json_array_append_new(a, json_string(v->list[i].version));
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

void versions_default_name(struct versions *v, char *out, size_t cap)
{
    pthread_mutex_lock(&v->mu);
    snprintf(out, cap, "%s", v->default_name);
    pthread_mutex_unlock(&v->mu);
}
