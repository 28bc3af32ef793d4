/* Assembling a prover bundle (see cli_bb.h): bb from npm, the loader and
 * exactly the libraries the loader resolves for it from the Debian
 * packages, modes normalized (0755 bb and loader, 0644 libraries), then
 * `bb --version` through the bundle's own loader. Built in a private
 * directory next to the destination and renamed into place at the end.
 * The same npm tarball and .deb files always give the same bytes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_bb.h"
#include "teerex/file.h"
#include "teerex/log.h"

void cli_bb_say(struct cli_bb_why *why, const char *fmt, ...)
{
    if (why == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->text, sizeof(why->text), fmt, ap);
    va_end(ap);
}

void cli_bb_log(const struct cli_bb_fetch_opts *o, const char *event, const char *detail)
{
    if (!o->quiet)
        tr_log(TR_LOG_INFO, event, "{s:s}", "detail", detail ? detail : "");
}

tr_result cli_bb_mkdirs(const char *path)
{
    char p[CLI_BB_PATH_MAX];
    int w = snprintf(p, sizeof(p), "%s", path);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(p), TR_ERR_OVERFLOW);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        TR_ENSURE(mkdir(p, 0755) == 0 || errno == EEXIST, TR_ERR_CLIENT_WRITE);
        *s = '/';
    }
    TR_ENSURE(mkdir(p, 0755) == 0 || errno == EEXIST, TR_ERR_CLIENT_WRITE);
    return TR_SUCCESS;
}

/* ---- the loader's listing ---- */

tr_result cli_ldlist_parse(const char *text, size_t n, cli_ldlist_fn each, void *ctx, char *missing,
                           size_t missing_cap)
{
    TR_ENSURE(text != NULL || n == 0, TR_ERR_NULL_ARG);
    if (missing && missing_cap)
        missing[0] = '\0';
    size_t start = 0;
    while (start < n) {
        const char *line = text + start;
        const char *nl = memchr(line, '\n', n - start);
        size_t len = nl ? (size_t)(nl - line) : n - start;
        start += len + 1;
        while (len > 0 && (*line == '\t' || *line == ' ')) {
            line++;
            len--;
        }
        char buf[2 * CLI_BB_PATH_MAX];
        if (len == 0 || len >= sizeof(buf))
            continue;
        memcpy(buf, line, len);
        buf[len] = '\0';
        char *arrow = strstr(buf, " => ");
        if (arrow == NULL)
            continue; /* linux-vdso.so.1 (0x...), or a message */
        *arrow = '\0';
        const char *name = buf, *rest = arrow + 4;
        if (strncmp(rest, "not found", 9) == 0) {
            if (missing && missing_cap)
                snprintf(missing, missing_cap, "%s", name);
            TR_BAIL(TR_ERR_CLIENT_BB_RUNTIME);
        }
        char *paren = strstr(rest, " (0x");
        if (paren)
            *paren = '\0';
        TR_ENSURE(name[0] != '\0' && rest[0] == '/', TR_ERR_CLIENT_BB_RUNTIME);
        TR_GUARD(each(ctx, name, rest));
    }
    return TR_SUCCESS;
}

/* ---- files ---- */

static TR_RESULT copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    TR_ENSURE(in >= 0, TR_ERR_CLIENT_BB_RUNTIME);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (out < 0) {
        close(in);
        TR_BAIL(TR_ERR_CLIENT_WRITE);
    }
    tr_result res = TR_SUCCESS;
    char *buf = malloc(65536);
    TR_CHECK(buf != NULL, TR_ERR_NOMEM);
    for (;;) {
        ssize_t k = read(in, buf, 65536);
        if (k < 0 && errno == EINTR)
            continue;
        TR_CHECK(k >= 0, TR_ERR_IO);
        if (k == 0)
            break;
        TR_CHECK(write(out, buf, (size_t)k) == k, TR_ERR_CLIENT_WRITE);
    }
    TR_CHECK(fchmod(out, mode) == 0, TR_ERR_CLIENT_WRITE);
out:
    free(buf);
    close(in);
    if (close(out) != 0 && tr_ok(res))
        res = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
    return res;
}

static void remove_tree(const char *dir)
{
    (void)tr_tree_remove(dir, 0);
}

/* ---- the closure ---- */

struct closure {
    const char *sysroot;
    const char *lib;
    struct cli_bb_why *why;
};

static TR_RESULT take_lib(void *ctx, const char *name, const char *path)
{
    struct closure *c = ctx;
    size_t sl = strlen(c->sysroot);
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (strncmp(path, c->sysroot, sl) != 0 || path[sl] != '/') {
        cli_bb_say(c->why, "bb needs %s, which the Debian packages do not provide (resolved to %s)",
                   name, path);
        TR_BAIL(TR_ERR_CLIENT_BB_RUNTIME);
    }
    if (!bundle_name_valid(base, strlen(base))) {
        cli_bb_say(c->why, "bb needs a library with an unusable name: %s", name);
        TR_BAIL(TR_ERR_CLIENT_BB_RUNTIME);
    }
    if (strcmp(base, BUNDLE_LOADER) == 0)
        return TR_SUCCESS; /* copied by the caller */
    char dst[CLI_BB_PATH_MAX + BUNDLE_NAME_MAX];
    snprintf(dst, sizeof(dst), "%s/%s", c->lib, base);
    if (access(dst, F_OK) == 0)
        return TR_SUCCESS;
    return copy_file(path, dst, 0644);
}

static TR_RESULT add_runtime(const char *work, const char *bundle, struct cli_bb_why *why)
{
    char sysroot[CLI_BB_PATH_MAX + 16], loader[CLI_BB_PATH_MAX + 64], lib[CLI_BB_PATH_MAX + 64];
    char bb[CLI_BB_PATH_MAX + 64], dst[CLI_BB_PATH_MAX + 128];
    snprintf(sysroot, sizeof(sysroot), "%s/sysroot", work);
    snprintf(loader, sizeof(loader), "%s/" BUNDLE_LOADER, sysroot);
    snprintf(lib, sizeof(lib), "%s/" BUNDLE_LIB_DIR, bundle);
    snprintf(bb, sizeof(bb), "%s/" BUNDLE_BB, bundle);
    if (access(loader, X_OK) != 0) {
        cli_bb_say(why, "the Debian packages hold no %s", BUNDLE_LOADER);
        TR_BAIL(TR_ERR_CLIENT_BB_RUNTIME);
    }
    char *argv[] = {loader, "--inhibit-cache", "--library-path", sysroot, "--list", bb, NULL};
    char *env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
    char *out = malloc(65536);
    TR_ENSURE(out != NULL, TR_ERR_NOMEM);
    int st = 0;
    tr_result res = cli_run(argv, env, work, 60000, out, 65536, &st);
    if (tr_ok(res) &&
        (strstr(out, "not a dynamic executable") || strstr(out, "statically linked"))) {
        free(out); /* a static bb needs no runtime: a bundle without lib/ */
        return TR_SUCCESS;
    }
    if (!tr_ok(res) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        /* a missing library is the runtime's fault; anything else, bb's */
        bool missing_lib = strstr(out, "=> not found") != NULL;
        cli_bb_say(why, "%s: %.400s",
                   missing_lib ? "bb needs a library the Debian packages do not provide"
                               : "the loader cannot load bb",
                   out);
        free(out);
        TR_BAIL(missing_lib ? TR_ERR_CLIENT_BB_RUNTIME : TR_ERR_CLIENT_BB_DOES_NOT_RUN);
    }
    TR_CHECK(mkdir(lib, 0755) == 0, TR_ERR_CLIENT_WRITE);
    snprintf(dst, sizeof(dst), "%s/" BUNDLE_LOADER, lib);
    TR_TRY(copy_file(loader, dst, 0755));
    struct closure c = {.sysroot = sysroot, .lib = lib, .why = why};
    char missing[256];
    res = cli_ldlist_parse(out, strlen(out), take_lib, &c, missing, sizeof(missing));
    if (!tr_ok(res) && missing[0])
        cli_bb_say(why, "bb needs %s, which the Debian packages do not provide", missing);
out:
    free(out);
    return res;
}

tr_result cli_bb_run_version(const struct bundle *b, char *out, size_t cap, struct cli_bb_why *why)
{
    const char *prefix[BUNDLE_ARGV_PREFIX + 1];
    size_t n = bundle_argv(b, prefix);
    char *argv[BUNDLE_ARGV_PREFIX + 2];
    for (size_t i = 0; i < n; i++)
        argv[i] = (char *)prefix[i];
    argv[n] = "--version";
    argv[n + 1] = NULL;
    char *env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=/nonexistent", NULL};
    char text[4096];
    int st = 0;
    tr_result r = cli_run(argv, env, "/", 60000, text, sizeof(text), &st);
    if (!tr_ok(r) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        cli_bb_say(why, "`bb --version` through the bundled loader failed (%s): %.600s",
                   !tr_ok(r)         ? "timeout"
                   : WIFSIGNALED(st) ? "killed by a signal"
                                     : "exit status",
                   text);
        TR_BAIL(TR_ERR_CLIENT_BB_DOES_NOT_RUN);
    }
    size_t k = 0;
    for (const char *p = text; *p && *p != '\n' && k + 1 < cap; p++)
        if (*p >= 0x20 && *p < 0x7f)
            out[k++] = *p;
    out[k] = '\0';
    return TR_SUCCESS;
}

/* Files and bytes of the bundle (for the report). */
static void measure(const struct bundle *b, struct cli_bb_result *res)
{
    struct stat st;
    res->files = 0;
    res->bytes = 0;
    if (stat(b->bb, &st) == 0) {
        res->files++;
        res->bytes += (uint64_t)st.st_size;
    }
    DIR *d = b->lib[0] ? opendir(b->lib) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char p[BUNDLE_PATH_MAX + 300];
        snprintf(p, sizeof(p), "%s/%s", b->lib, de->d_name);
        if (de->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            res->files++;
            res->bytes += (uint64_t)st.st_size;
        }
    }
    if (d)
        closedir(d);
}

tr_result cli_bb_build(const struct cli_bb_fetch_opts *o, const char *version, const char *out_dir,
                       struct cli_bb_result *res, struct cli_bb_why *why)
{
    memset(res, 0, sizeof(*res));
    if (!bundle_version_valid(version)) {
        cli_bb_say(why, "'%s' is not a version name ([0-9A-Za-z._+-]{1,64})", version);
        TR_BAIL(TR_ERR_USAGE);
    }
    snprintf(res->version, sizeof(res->version), "%s", version);
    if (access(out_dir, F_OK) == 0) {
        cli_bb_say(why, "%s exists: choose a new directory", out_dir);
        TR_BAIL(TR_ERR_USAGE);
    }
    tr_result r = TR_SUCCESS;
    char work[CLI_BB_PATH_MAX], bundle[CLI_BB_PATH_MAX + 16], p[CLI_BB_PATH_MAX + 32];
    char tgz[CLI_BB_PATH_MAX];
    int w = snprintf(work, sizeof(work), "%s.build-XXXXXX", out_dir);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(work), TR_ERR_OVERFLOW);
    if (mkdtemp(work) == NULL) {
        cli_bb_say(why, "cannot create %s: %s", work, strerror(errno));
        TR_BAIL(TR_ERR_CLIENT_WRITE);
    }
    snprintf(bundle, sizeof(bundle), "%s/bundle", work);
    snprintf(p, sizeof(p), "%s/sysroot", work);
    if (mkdir(bundle, 0755) != 0 || mkdir(p, 0755) != 0) {
        cli_bb_say(why, "cannot create directories in %s: %s", work, strerror(errno));
        r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        goto out;
    }
    chmod(bundle, 0755);
    if (!tr_ok(r = cli_npm_fetch(o, version, &res->npm, tgz, sizeof(tgz), why)))
        goto out;
    snprintf(p, sizeof(p), "%s/" BUNDLE_BB, bundle);
    if (!tr_ok(r = cli_npm_extract_bb(tgz, p, why)))
        goto out;
    cli_bb_log(o, "bb_npm_extracted", p);
    if (!tr_ok(r = cli_debs_obtain(o, &res->debs, why)))
        goto out;
    snprintf(p, sizeof(p), "%s/sysroot", work);
    if (!tr_ok(r = cli_debs_unpack(&res->debs, p, why)))
        goto out;
    if (!tr_ok(r = add_runtime(work, bundle, why)))
        goto out;
    struct bundle b;
    if (!tr_ok(r = bundle_open(bundle, &b)) || !tr_ok(r = bundle_digest(&b, res->digest))) {
        cli_bb_say(why, "the assembled bundle is not valid: %s", tr_err_desc(r.err));
        goto out;
    }
    if (!tr_ok(r = cli_bb_run_version(&b, res->bb_version, sizeof(res->bb_version), why)))
        goto out;
    measure(&b, res);
    if (rename(bundle, out_dir) != 0) {
        cli_bb_say(why, "cannot move the bundle to %s: %s", out_dir, strerror(errno));
        r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
    }
out:
    remove_tree(work);
    return r;
}
