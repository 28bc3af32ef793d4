/* bb from npm (see cli_bb.h): the registry's version document, the package
 * tarball checked against the registry's published integrity, the native
 * binary taken out of it with libarchive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli_bb.h"
#include "cli_http.h"
#include "teerex/codec.h"
#include "teerex/file.h"

#define NPM_PACKAGE "@aztec/bb.js"
#define NPM_PACKAGE_PATH "@aztec%2fbb.js" /* the scoped name in a registry URL */
#define NPM_BB_ENTRY "package/build/amd64-linux/bb"
#define MAX_DOC ((size_t)4 << 20)
#define MAX_TARBALL ((size_t)1 << 30)

/* "sha512-<base64 of 64 bytes>" among space-separated SRI entries. */
static TR_RESULT take_sha512(const char *sri, uint8_t out[64])
{
    const char *p = sri;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 7 && strncmp(p, "sha512-", 7) == 0) {
            struct tr_buf b;
            tr_buf_init(&b, 128);
            tr_result r = tr_b64_decode(p + 7, n - 7, &b);
            bool ok = tr_ok(r) && b.len == 64;
            if (ok)
                memcpy(out, b.data, 64);
            tr_buf_free(&b);
            TR_ENSURE(ok, TR_ERR_CLIENT_BB_REGISTRY);
            return TR_SUCCESS;
        }
        p += n;
    }
    TR_BAIL(TR_ERR_CLIENT_BB_REGISTRY); /* sha1 alone (shasum) is not enough */
}

tr_result cli_npm_parse(const uint8_t *p, size_t n, const char *want, struct cli_npm_dist *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(p != NULL && n > 0 && n <= MAX_DOC, TR_ERR_CLIENT_BB_REGISTRY);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    TR_ENSURE(root != NULL, TR_ERR_CLIENT_BB_REGISTRY);
    tr_result res = TR_SUCCESS;
    const char *name = json_string_value(json_object_get(root, "name"));
    const char *ver = json_string_value(json_object_get(root, "version"));
    json_t *dist = json_object_get(root, "dist");
    const char *tarball = json_string_value(json_object_get(dist, "tarball"));
    const char *integrity = json_string_value(json_object_get(dist, "integrity"));
    TR_CHECK(name && ver && tarball && integrity, TR_ERR_CLIENT_BB_REGISTRY);
    TR_CHECK(strcmp(name, NPM_PACKAGE) == 0, TR_ERR_CLIENT_BB_REGISTRY);
    /* the document of another version must not pass for this one */
    TR_CHECK(want == NULL || strcmp(ver, want) == 0, TR_ERR_CLIENT_BB_REGISTRY);
    TR_CHECK(strlen(ver) < sizeof(out->version), TR_ERR_CLIENT_BB_REGISTRY);
    TR_CHECK(strncmp(tarball, "https://", 8) == 0 || strncmp(tarball, "http://", 7) == 0,
             TR_ERR_CLIENT_BB_REGISTRY);
    TR_CHECK(strlen(tarball) < sizeof(out->tarball), TR_ERR_CLIENT_BB_REGISTRY);
    TR_CHECK(strlen(integrity) < sizeof(out->integrity), TR_ERR_CLIENT_BB_REGISTRY);
    for (const char *c = tarball; *c; c++)
        TR_CHECK(*c > 0x20 && *c < 0x7f, TR_ERR_CLIENT_BB_REGISTRY);
    TR_TRY(take_sha512(integrity, out->sha512));
    memcpy(out->version, ver, strlen(ver) + 1);
    memcpy(out->tarball, tarball, strlen(tarball) + 1);
    memcpy(out->integrity, integrity, strlen(integrity) + 1);
out:
    json_decref(root);
    return res;
}

static bool sha512_is(const uint8_t *p, size_t n, const uint8_t want[64])
{
    uint8_t d[64];
    unsigned dl = 0;
    return EVP_Digest(p, n, d, &dl, EVP_sha512(), NULL) == 1 && dl == 64 &&
           CRYPTO_memcmp(d, want, 64) == 0;
}

static TR_RESULT write_atomic(const char *path, const uint8_t *p, size_t n)
{
    char tmp[CLI_BB_PATH_MAX + 16];
    int w = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(tmp), TR_ERR_OVERFLOW);
    int fd = mkostemp(tmp, O_CLOEXEC);
    TR_ENSURE(fd >= 0, TR_ERR_CLIENT_WRITE);
    bool ok = tr_fd_write_all(fd, p, n) && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    TR_ENSURE(ok, TR_ERR_CLIENT_WRITE);
    return TR_SUCCESS;
}

/* An offline tarball (--tarball, --integrity): the same check, no registry. */
static TR_RESULT local_tarball(const struct cli_bb_fetch_opts *o, const char *version,
                               struct cli_npm_dist *dist, char *tgz_path, size_t tgz_cap,
                               struct cli_bb_why *why)
{
    memset(dist, 0, sizeof(*dist));
    snprintf(dist->version, sizeof(dist->version), "%s", version);
    int w = snprintf(dist->tarball, sizeof(dist->tarball), "%s", o->tarball);
    int w2 = snprintf(tgz_path, tgz_cap, "%s", o->tarball);
    int w3 =
        snprintf(dist->integrity, sizeof(dist->integrity), "%s", o->integrity ? o->integrity : "");
    TR_ENSURE(w > 0 && (size_t)w < sizeof(dist->tarball) && w2 > 0 && (size_t)w2 < tgz_cap &&
                  w3 >= 0 && (size_t)w3 < sizeof(dist->integrity),
              TR_ERR_OVERFLOW);
    if (!tr_ok(take_sha512(dist->integrity, dist->sha512))) {
        cli_bb_say(why,
                   "--tarball needs --integrity sha512-<base64> (the registry's dist.integrity)");
        TR_BAIL(TR_ERR_USAGE);
    }
    struct tr_buf tgz;
    tr_buf_init(&tgz, MAX_TARBALL);
    tr_result r = tr_file_read(o->tarball, MAX_TARBALL, 0, &tgz);
    bool same = tr_ok(r) && sha512_is(tgz.data, tgz.len, dist->sha512);
    tr_buf_free(&tgz);
    if (!tr_ok(r)) {
        cli_bb_say(why, "cannot read %s", o->tarball);
        return r;
    }
    if (!same) {
        cli_bb_say(why, "%s does not match the integrity %s", o->tarball, dist->integrity);
        TR_BAIL(TR_ERR_CLIENT_BB_INTEGRITY);
    }
    cli_bb_log(o, "bb_npm_local", o->tarball);
    return TR_SUCCESS;
}

tr_result cli_npm_fetch(const struct cli_bb_fetch_opts *o, const char *version,
                        struct cli_npm_dist *dist, char *tgz_path, size_t tgz_cap,
                        struct cli_bb_why *why)
{
    if (o->tarball)
        return local_tarball(o, version, dist, tgz_path, tgz_cap, why);
    tr_result res = TR_SUCCESS;
    struct tr_buf url, tgz;
    struct cli_http_response resp;
    tr_buf_init(&url, 8192);
    tr_buf_init(&tgz, MAX_TARBALL);
    cli_http_response_init(&resp, MAX_DOC);
    struct cli_http_opts http = {.connect_timeout_ms = 15000, .timeout_ms = 600000};
    /* 1. the version document */
    char path[256];
    snprintf(path, sizeof(path), "/%s/%s", NPM_PACKAGE_PATH, version);
    TR_TRY(cli_url_join(o->registry, path, &url));
    res = cli_http_get((const char *)url.data, &http, &resp);
    if (!tr_ok(res)) {
        cli_bb_say(why, "the registry %s could not be reached: %s", o->registry, resp.error);
        goto out;
    }
    if (resp.status == 404) {
        cli_bb_say(why, "%s@%s is not on the registry %s (unknown version)", NPM_PACKAGE, version,
                   o->registry);
        TR_FAIL(TR_ERR_CLIENT_BB_UNKNOWN_VERSION);
    }
    if (resp.status != 200) {
        cli_bb_say(why, "the registry %s answered HTTP %ld for %s@%s", o->registry, resp.status,
                   NPM_PACKAGE, version);
        TR_FAIL(TR_ERR_CLIENT_NETWORK);
    }
    res = cli_npm_parse(resp.body.data, resp.body.len, version, dist);
    if (!tr_ok(res)) {
        cli_bb_say(why,
                   "the registry's document for %s@%s is malformed or lacks a sha512 "
                   "integrity",
                   NPM_PACKAGE, version);
        goto out;
    }
    /* 2. the tarball: from the cache when its bytes have the published
     * integrity, else downloaded and checked before anything uses it */
    int w = snprintf(tgz_path, tgz_cap, "%s/npm/aztec-bb.js-%s.tgz", o->cache, version);
    TR_CHECK(w > 0 && (size_t)w < tgz_cap, TR_ERR_OVERFLOW);
    if (tr_ok(tr_file_read(tgz_path, MAX_TARBALL, 0, &tgz)) &&
        sha512_is(tgz.data, tgz.len, dist->sha512)) {
        cli_bb_log(o, "bb_npm_cached", tgz_path);
        goto out;
    }
    tr_buf_clear(&tgz);
    cli_http_response_free(&resp);
    cli_http_response_init(&resp, MAX_TARBALL);
    cli_bb_log(o, "bb_npm_download", dist->tarball);
    res = cli_http_get(dist->tarball, &http, &resp);
    if (!tr_ok(res) || resp.status != 200) {
        cli_bb_say(why, "downloading %s failed: %s", dist->tarball,
                   resp.error[0] ? resp.error : "HTTP error");
        TR_FAIL(TR_ERR_CLIENT_NETWORK);
    }
    if (!sha512_is(resp.body.data, resp.body.len, dist->sha512)) {
        cli_bb_say(why, "%s does not match the registry's integrity %s", dist->tarball,
                   dist->integrity);
        TR_FAIL(TR_ERR_CLIENT_BB_INTEGRITY);
    }
    char dir[CLI_BB_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/npm", o->cache);
    res = cli_bb_mkdirs(dir);
    if (tr_ok(res))
        res = write_atomic(tgz_path, resp.body.data, resp.body.len);
    if (!tr_ok(res))
        cli_bb_say(why, "cannot write %s: %s", tgz_path, strerror(errno));
out:
    tr_buf_free(&url);
    tr_buf_free(&tgz);
    cli_http_response_free(&resp);
    return res;
}

/* Copies the current entry's data into a new file (mode 0755). */
static TR_RESULT copy_entry(struct archive *a, const char *dst)
{
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
    TR_ENSURE(fd >= 0, TR_ERR_CLIENT_WRITE);
    tr_result res = TR_SUCCESS;
    uint8_t *buf = malloc(65536);
    TR_CHECK(buf != NULL, TR_ERR_NOMEM);
    for (;;) {
        la_ssize_t k = archive_read_data(a, buf, 65536);
        TR_CHECK(k >= 0, TR_ERR_CLIENT_BB_NO_BINARY);
        if (k == 0)
            break;
        TR_CHECK(write(fd, buf, (size_t)k) == k, TR_ERR_CLIENT_WRITE);
    }
    TR_CHECK(fchmod(fd, 0755) == 0, TR_ERR_CLIENT_WRITE);
out:
    free(buf);
    if (close(fd) != 0 && tr_ok(res))
        res = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
    return res;
}

tr_result cli_npm_extract_bb(const char *tgz, const char *dst, struct cli_bb_why *why)
{
    struct archive *a = archive_read_new();
    TR_ENSURE(a != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    bool found = false;
    TR_CHECK(archive_read_support_filter_gzip(a) == ARCHIVE_OK &&
                 archive_read_support_format_tar(a) == ARCHIVE_OK,
             TR_ERR_CLIENT_CURL);
    if (archive_read_open_filename(a, tgz, 65536) != ARCHIVE_OK) {
        cli_bb_say(why, "%s: %s", tgz, archive_error_string(a));
        TR_FAIL(TR_ERR_CLIENT_BB_NO_BINARY);
    }
    struct archive_entry *e;
    int rc;
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        if (p == NULL || strcmp(p, NPM_BB_ENTRY) != 0)
            continue;
        if (archive_entry_filetype(e) != AE_IFREG)
            break;
        TR_TRY(copy_entry(a, dst));
        found = true;
        break;
    }
    if (!found) {
        cli_bb_say(why, "%s has no %s (no amd64-linux binary in this release)", tgz, NPM_BB_ENTRY);
        TR_FAIL(TR_ERR_CLIENT_BB_NO_BINARY);
    }
out:
    archive_read_free(a);
    return res;
}
