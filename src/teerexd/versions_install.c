/* Installing a bundle into BB_VERSIONS_DIR (see versions.h): the upload
 * streams into STAGE/upload (STAGE = a private hidden directory on the same
 * file system), is unpacked into STAGE/bundle (a tar archive) or becomes
 * STAGE/bundle/bb (a raw binary), is checked, and STAGE/bundle is swapped
 * into place with one rename (RENAME_EXCHANGE when the version exists). A
 * failed or abandoned upload leaves nothing behind. Disk use during an
 * install: the archive plus its unpacked files (about twice the bundle). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "teerex/file.h"
#include "teerex/log.h"
#include "versions.h"

#define STAGING_PREFIX ".staging-"

struct versions_upload {
    struct versions *v;
    enum versions_upload_kind kind;
    char version[TR_MAX_VERSION_LEN + 1];
    char stage[BUNDLE_PATH_MAX];  /* BB_VERSIONS_DIR/.staging-XXXXXX */
    char file[BUNDLE_PATH_MAX];   /* stage/upload: the stream as received */
    char bundle[BUNDLE_PATH_MAX]; /* stage/bundle: what is installed */
    int fd;
};

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t cap, const char *fmt, ...)
{
    if (why == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

static void remove_tree(const char *dir)
{
    if (dir[0] == '\0')
        return;
    if (!tr_tree_remove(dir, 0))
        tr_log(TR_LOG_ERROR, "bb_staging_remove_failed", "{s:s}", "dir", dir);
}

void versions_clean_staging(struct versions *v)
{
    DIR *d = v->dir[0] ? opendir(v->dir) : NULL;
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, STAGING_PREFIX, sizeof(STAGING_PREFIX) - 1) != 0)
            continue;
        char p[BUNDLE_PATH_MAX];
        int w = snprintf(p, sizeof(p), "%s/%s", v->dir, de->d_name);
        if (w > 0 && (size_t)w < sizeof(p)) {
            tr_log(TR_LOG_INFO, "bb_staging_removed", "{s:s}", "dir", p);
            remove_tree(p);
        }
    }
    closedir(d);
}

tr_result versions_upload_begin(struct versions *v, const char *version,
                                enum versions_upload_kind kind, char *why, size_t why_cap,
                                struct versions_upload **out)
{
    say(why, why_cap, "%s", "");
    TR_ENSURE(bundle_version_valid(version), TR_ERR_HTTP_BAD_VERSION_STRING);
    if (v->dir[0] == '\0') {
        say(why, why_cap, "BB_VERSIONS_DIR is not configured");
        TR_BAIL(TR_ERR_USAGE);
    }
    if (!bundle_policy_lists(v->policy, version)) {
        say(why, why_cap, "version %s is not on this enclave's pinned list", version);
        TR_BAIL(TR_ERR_BUNDLE_NOT_ALLOWED);
    }
    struct versions_upload *u = calloc(1, sizeof(*u));
    TR_ENSURE(u != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    u->v = v;
    u->kind = kind;
    u->fd = -1;
    snprintf(u->version, sizeof(u->version), "%s", version);
    int w = snprintf(u->stage, sizeof(u->stage), "%s/" STAGING_PREFIX "XXXXXX", v->dir);
    TR_CHECK(w > 0 && (size_t)w < sizeof(u->stage), TR_ERR_OVERFLOW);
    if (mkdtemp(u->stage) == NULL) {
        say(why, why_cap, "cannot create a staging directory in BB_VERSIONS_DIR %s: %s", v->dir,
            strerror(errno));
        u->stage[0] = '\0';
        TR_FAIL(TR_ERR_SYS);
    }
    w = snprintf(u->file, sizeof(u->file), "%s/upload", u->stage);
    TR_CHECK(w > 0 && (size_t)w < sizeof(u->file), TR_ERR_OVERFLOW);
    w = snprintf(u->bundle, sizeof(u->bundle), "%s/bundle", u->stage);
    TR_CHECK(w > 0 && (size_t)w < sizeof(u->bundle), TR_ERR_OVERFLOW);
    if (mkdir(u->bundle, 0755) != 0 || chmod(u->bundle, 0755) != 0) {
        say(why, why_cap, "cannot create %s: %s", u->bundle, strerror(errno));
        TR_FAIL(TR_ERR_SYS);
    }
    u->fd = open(u->file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
    if (u->fd < 0) {
        say(why, why_cap, "cannot create %s: %s", u->file, strerror(errno));
        TR_FAIL(TR_ERR_SYS);
    }
    *out = u;
out:
    if (!tr_ok(res))
        versions_upload_abort(u);
    return res;
}

tr_result versions_upload_write(struct versions_upload *u, const void *p, size_t n)
{
    TR_ENSURE(tr_fd_write_all(u->fd, p, n), TR_ERR_IO);
    return TR_SUCCESS;
}

static void fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    if (fsync(dfd) != 0)
        tr_log(TR_LOG_WARN, "bb_dir_fsync_failed", "{s:s}", "dir", dir);
    close(dfd);
}

/* Moves the staged bundle to dir/<version>; an existing version is swapped
 * out in the same rename and its files removed afterwards. */
static TR_RESULT swap_into_place(struct versions_upload *u, char *why, size_t why_cap)
{
    char final[BUNDLE_PATH_MAX];
    int w = snprintf(final, sizeof(final), "%s/%s", u->v->dir, u->version);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(final), TR_ERR_OVERFLOW);
    if (rename(u->bundle, final) == 0) {
        /* done; the stage (now without bundle/) is removed by abort */
    } else if (errno == EEXIST || errno == ENOTEMPTY) {
        if (renameat2(AT_FDCWD, u->bundle, AT_FDCWD, final, RENAME_EXCHANGE) != 0) {
            say(why, why_cap, "cannot replace %s: %s", final, strerror(errno));
            TR_BAIL(TR_ERR_SYS);
        }
        /* stage/bundle now holds the previous bundle: removed with the stage */
    } else {
        say(why, why_cap, "cannot move the bundle to %s: %s", final, strerror(errno));
        TR_BAIL(TR_ERR_SYS);
    }
    fsync_dir(u->v->dir);
    return TR_SUCCESS;
}

/* The received stream becomes stage/bundle: a raw binary its bb, an
 * archive its files. */
static TR_RESULT unpack(struct versions_upload *u, char *why, size_t why_cap)
{
    char bb[BUNDLE_PATH_MAX + 8];
    if (u->kind == VERSIONS_UPLOAD_RAW) {
        int w = snprintf(bb, sizeof(bb), "%s/" BUNDLE_BB, u->bundle);
        TR_ENSURE(w > 0 && (size_t)w < sizeof(bb), TR_ERR_OVERFLOW);
        TR_ENSURE(chmod(u->file, 0755) == 0 && rename(u->file, bb) == 0, TR_ERR_SYS);
        return TR_SUCCESS;
    }
    int fd = open(u->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    TR_ENSURE(fd >= 0, TR_ERR_SYS);
    tr_result r = bundle_tar_extract(fd, u->bundle);
    close(fd);
    unlink(u->file);
    if (!tr_ok(r))
        say(why, why_cap, "bundle archive refused: %s", tr_err_desc(r.err));
    return r;
}

tr_result versions_upload_commit(struct versions_upload *u, const char *expect_digest,
                                 struct bb_version *out, char *why, size_t why_cap)
{
    tr_result res = TR_SUCCESS;
    struct versions *v = u->v;
    struct bundle b;
    char digest[BUNDLE_DIGEST_HEX];
    bool locked = false;
    say(why, why_cap, "%s", "");
    TR_CHECK(fsync(u->fd) == 0, TR_ERR_IO);
    TR_CHECK(close(u->fd) == 0, TR_ERR_IO);
    u->fd = -1;
    TR_TRY(unpack(u, why, why_cap));
    res = bundle_open(u->bundle, &b);
    if (tr_ok(res))
        res = bundle_digest(&b, digest);
    if (!tr_ok(res)) {
        say(why, why_cap, "not a prover bundle: %s", tr_err_desc(res.err));
        goto out;
    }
    if (expect_digest && strcmp(expect_digest, digest) != 0) {
        say(why, why_cap, "the bundle's digest is %s, not the announced %s", digest, expect_digest);
        TR_FAIL(TR_ERR_BUNDLE_DIGEST_MISMATCH);
    }
    if (!bundle_policy_allows(v->policy, u->version, digest)) {
        say(why, why_cap, "digest %s of version %s is not on this enclave's pinned list", digest,
            u->version);
        TR_FAIL(TR_ERR_BUNDLE_NOT_ALLOWED);
    }
    pthread_mutex_lock(&v->install_mu);
    locked = true;
    TR_TRY(swap_into_place(u, why, why_cap));
    tr_ignore(versions_rescan(v));
    if (!versions_lookup(v, u->version, out)) {
        say(why, why_cap, "version %s was installed but does not load (see the log)", u->version);
        TR_FAIL(TR_ERR_BUNDLE_LAYOUT);
    }
out:
    if (locked)
        pthread_mutex_unlock(&v->install_mu);
    versions_upload_abort(u);
    return res;
}

void versions_upload_abort(struct versions_upload *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    remove_tree(u->stage);
    free(u);
}
