/* The bundle's runtime from Debian packages (see cli_bb.h): libc6,
 * libstdc++6 and libgcc-s1 of one suite (trixie by default), downloaded with
 * apt under a separate configuration in the cache directory (its own
 * sources list, lists, archives and an empty status: the system's apt
 * configuration is never read or written), or taken from a directory of
 * pinned .deb files; unpacked with libarchive (ar, then data.tar.*). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "cli_bb.h"
#include "teerex/codec.h"
#include "teerex/file.h"

#define MAX_DATA_TAR ((size_t)512 << 20)
#define MAX_LINKS 256

static const char *const PACKAGES[] = {"libc6", "libstdc++6", "libgcc-s1"};
#define N_PACKAGES (sizeof(PACKAGES) / sizeof(PACKAGES[0]))

static TR_RESULT sha256_path(const char *path, char out[65])
{
    uint8_t dig[EVP_MAX_MD_SIZE];
    tr_result r = tr_file_digest(path, 0, EVP_sha256(), UINT64_MAX, dig, NULL);
    if (r.err == TR_ERR_NOT_FOUND || r.err == TR_ERR_NOT_REGULAR || r.err == TR_ERR_SYS)
        TR_BAIL(TR_ERR_CLIENT_BB_DEB);
    TR_GUARD(r);
    tr_hex_to_str(dig, 32, out);
    return TR_SUCCESS;
}

/* Exactly one "<pkg>_<version>_amd64.deb" per package in dir. */
static TR_RESULT pick_debs(const char *dir, struct cli_debs *out, struct cli_bb_why *why)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->dir, sizeof(out->dir), "%s", dir);
    DIR *d = opendir(dir);
    if (d == NULL) {
        cli_bb_say(why, "cannot read the .deb directory %s: %s", dir, strerror(errno));
        TR_BAIL(TR_ERR_CLIENT_BB_DEB);
    }
    tr_result res = TR_SUCCESS;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 11 || strcmp(de->d_name + n - 10, "_amd64.deb") != 0)
            continue;
        for (size_t p = 0; p < N_PACKAGES; p++) {
            size_t pl = strlen(PACKAGES[p]);
            if (strncmp(de->d_name, PACKAGES[p], pl) != 0 || de->d_name[pl] != '_')
                continue;
            if (out->d[p].file[0]) {
                cli_bb_say(why, "%s holds two %s packages (%s, %s): keep the one to use", dir,
                           PACKAGES[p], out->d[p].file, de->d_name);
                TR_FAIL(TR_ERR_CLIENT_BB_DEB);
            }
            TR_CHECK(n < sizeof(out->d[p].file), TR_ERR_CLIENT_BB_DEB);
            memcpy(out->d[p].file, de->d_name, n + 1);
        }
    }
    for (size_t p = 0; p < N_PACKAGES; p++) {
        if (!out->d[p].file[0]) {
            cli_bb_say(why, "no %s_*_amd64.deb in %s", PACKAGES[p], dir);
            TR_FAIL(TR_ERR_CLIENT_BB_DEB);
        }
        char path[CLI_BB_PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, out->d[p].file);
        TR_TRY(sha256_path(path, out->d[p].sha256));
    }
    out->n = N_PACKAGES;
out:
    closedir(d);
    return res;
}

static TR_RESULT write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    TR_ENSURE(fd >= 0, TR_ERR_CLIENT_WRITE);
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n;
    ok = close(fd) == 0 && ok;
    TR_ENSURE(ok, TR_ERR_CLIENT_WRITE);
    return TR_SUCCESS;
}

/* apt-get with every path of its state under a (cache/apt-<suite>). */
static TR_RESULT apt(const char *a, const char *cwd, const char *const *args, size_t nargs,
                     struct cli_bb_why *why)
{
    char o[8][CLI_BB_PATH_MAX + 64];
    snprintf(o[0], sizeof(o[0]), "Dir::Etc::sourcelist=%s/sources.list", a);
    snprintf(o[1], sizeof(o[1]), "Dir::Etc::sourceparts=%s/empty", a);
    snprintf(o[2], sizeof(o[2]), "Dir::Etc::preferencesparts=%s/empty", a);
    snprintf(o[3], sizeof(o[3]), "Dir::State::Lists=%s/lists", a);
    snprintf(o[4], sizeof(o[4]), "Dir::Cache=%s/cache", a);
    snprintf(o[5], sizeof(o[5]), "Dir::State::status=%s/status", a);
    snprintf(o[6], sizeof(o[6]), "Dir::Etc::preferences=%s/empty/none", a);
    snprintf(o[7], sizeof(o[7]), "APT::Sandbox::User=%s", geteuid() == 0 ? "root" : "");
    char *argv[40];
    size_t n = 0;
    argv[n++] = "/usr/bin/apt-get";
    argv[n++] = "-q";
    for (size_t i = 0; i < 8; i++) {
        if (i == 7 && geteuid() != 0)
            break;
        argv[n++] = "-o";
        argv[n++] = o[i];
    }
    argv[n++] = "-o";
    argv[n++] = "APT::Architecture=amd64";
    for (size_t i = 0; i < nargs && n < 38; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                   "DEBIAN_FRONTEND=noninteractive", NULL};
    char out[4096];
    int st;
    tr_result r = cli_run(argv, env, cwd, 15 * 60 * 1000, out, sizeof(out), &st);
    if (!tr_ok(r) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        const char *tail = strlen(out) > 600 ? out + strlen(out) - 600 : out;
        cli_bb_say(why, "apt-get %s failed (separate configuration in %s): %s", args[0], a, tail);
        TR_BAIL(TR_ERR_CLIENT_BB_APT);
    }
    return TR_SUCCESS;
}

static TR_RESULT apt_download(const struct cli_bb_fetch_opts *o, char *debdir, size_t cap,
                              struct cli_bb_why *why)
{
    char a[CLI_BB_PATH_MAX], p[CLI_BB_PATH_MAX + 512], src[CLI_BB_PATH_MAX * 2];
    snprintf(a, sizeof(a), "%s/apt-%s", o->cache, o->suite);
    const char *sub[] = {"lists/partial", "cache/archives/partial", "empty"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", a, sub[i]);
        TR_GUARD(cli_bb_mkdirs(p));
    }
    snprintf(p, sizeof(p), "%s/status", a);
    TR_GUARD(write_text(p, ""));
    snprintf(src, sizeof(src),
             "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n",
             o->mirror, o->suite);
    snprintf(p, sizeof(p), "%s/sources.list", a);
    TR_GUARD(write_text(p, src));
    cli_bb_log(o, "bb_apt_update", src);
    const char *upd[] = {"update"};
    TR_GUARD(apt(a, NULL, upd, 1, why));
    int w = snprintf(debdir, cap, "%s/debs-%s", o->cache, o->suite);
    TR_ENSURE(w > 0 && (size_t)w < cap, TR_ERR_OVERFLOW);
    TR_GUARD(cli_bb_mkdirs(debdir));
    /* older versions of these packages would make the choice ambiguous */
    DIR *d = opendir(debdir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        for (size_t i = 0; i < N_PACKAGES; i++) {
            size_t pl = strlen(PACKAGES[i]);
            if (strncmp(de->d_name, PACKAGES[i], pl) == 0 && de->d_name[pl] == '_') {
                snprintf(p, sizeof(p), "%s/%s", debdir, de->d_name);
                unlink(p);
            }
        }
    }
    if (d)
        closedir(d);
    const char *dl[] = {"download", PACKAGES[0], PACKAGES[1], PACKAGES[2]};
    TR_GUARD(apt(a, debdir, dl, 4, why));
    return TR_SUCCESS;
}

tr_result cli_debs_obtain(const struct cli_bb_fetch_opts *o, struct cli_debs *out,
                          struct cli_bb_why *why)
{
    if (o->debs)
        return pick_debs(o->debs, out, why);
    char dir[CLI_BB_PATH_MAX];
    TR_GUARD(apt_download(o, dir, sizeof(dir), why));
    return pick_debs(dir, out, why);
}

/* ---- unpacking ---- */

struct link {
    char name[BUNDLE_NAME_MAX];
    char target[BUNDLE_NAME_MAX];
};
struct unpack {
    const char *sysroot;
    struct link links[MAX_LINKS];
    size_t nlinks;
};

/* The directories Debian puts x86-64 shared libraries and the loader in. */
static const char *lib_name(const char *path)
{
    static const char *const DIRS[] = {"usr/lib/x86_64-linux-gnu/", "lib/x86_64-linux-gnu/",
                                       "usr/lib64/", "lib64/"};
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    for (size_t i = 0; i < sizeof(DIRS) / sizeof(DIRS[0]); i++) {
        size_t n = strlen(DIRS[i]);
        if (strncmp(path, DIRS[i], n) != 0)
            continue;
        const char *name = path + n;
        if (strchr(name, '/') || !strstr(name, ".so") || !bundle_name_valid(name, strlen(name)))
            return NULL;
        return name;
    }
    return NULL;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static TR_RESULT put_file(struct archive *a, const char *dir, const char *name, bool exec)
{
    char p[CLI_BB_PATH_MAX + BUNDLE_NAME_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exec ? 0755 : 0644);
    if (fd < 0 && errno == EEXIST)
        return TR_SUCCESS; /* the same library from another package: first wins */
    TR_ENSURE(fd >= 0, TR_ERR_CLIENT_WRITE);
    tr_result res = TR_SUCCESS;
    char buf[65536];
    for (;;) {
        la_ssize_t k = archive_read_data(a, buf, sizeof(buf));
        TR_CHECK(k >= 0, TR_ERR_CLIENT_BB_DEB);
        if (k == 0)
            break;
        TR_CHECK(write(fd, buf, (size_t)k) == k, TR_ERR_CLIENT_WRITE);
    }
out:
    close(fd);
    return res;
}

static TR_RESULT read_data_tar(struct unpack *u, const void *p, size_t n)
{
    struct archive *a = archive_read_new();
    TR_ENSURE(a != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    TR_CHECK(archive_read_support_filter_all(a) == ARCHIVE_OK &&
                 archive_read_support_format_tar(a) == ARCHIVE_OK &&
                 archive_read_open_memory(a, p, n) == ARCHIVE_OK,
             TR_ERR_CLIENT_BB_DEB);
    struct archive_entry *e;
    int rc;
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *path = archive_entry_pathname(e);
        const char *name = path ? lib_name(path) : NULL;
        if (name == NULL)
            continue;
        if (archive_entry_filetype(e) == AE_IFREG) {
            TR_TRY(put_file(a, u->sysroot, name, (archive_entry_perm(e) & 0100) != 0));
        } else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) {
            const char *t = base_name(archive_entry_symlink(e));
            if (u->nlinks < MAX_LINKS && bundle_name_valid(t, strlen(t)) &&
                strlen(name) < BUNDLE_NAME_MAX) {
                struct link *l = &u->links[u->nlinks++];
                memcpy(l->name, name, strlen(name) + 1);
                memcpy(l->target, t, strlen(t) + 1);
            }
        }
    }
    TR_CHECK(rc == ARCHIVE_EOF, TR_ERR_CLIENT_BB_DEB);
out:
    archive_read_free(a);
    return res;
}

static TR_RESULT read_deb(struct unpack *u, const char *path)
{
    struct archive *a = archive_read_new();
    TR_ENSURE(a != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    uint8_t *data = NULL;
    bool found = false;
    TR_CHECK(archive_read_support_format_ar(a) == ARCHIVE_OK &&
                 archive_read_open_filename(a, path, 65536) == ARCHIVE_OK,
             TR_ERR_CLIENT_BB_DEB);
    struct archive_entry *e;
    while (!found && archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *m = archive_entry_pathname(e);
        if (m == NULL || strncmp(m, "data.tar", 8) != 0)
            continue;
        int64_t size = archive_entry_size(e);
        TR_CHECK(size > 0 && (uint64_t)size <= MAX_DATA_TAR, TR_ERR_CLIENT_BB_DEB);
        data = malloc((size_t)size);
        TR_CHECK(data != NULL, TR_ERR_NOMEM);
        size_t got = 0;
        while (got < (size_t)size) {
            la_ssize_t k = archive_read_data(a, data + got, (size_t)size - got);
            TR_CHECK(k > 0, TR_ERR_CLIENT_BB_DEB);
            got += (size_t)k;
        }
        TR_TRY(read_data_tar(u, data, got));
        found = true;
    }
    TR_CHECK(found, TR_ERR_CLIENT_BB_DEB);
out:
    free(data);
    archive_read_free(a);
    return res;
}

/* A symlink becomes a copy of the regular file its chain ends at. */
static TR_RESULT resolve_links(struct unpack *u)
{
    for (size_t i = 0; i < u->nlinks; i++) {
        char dst[CLI_BB_PATH_MAX + BUNDLE_NAME_MAX], src[CLI_BB_PATH_MAX + BUNDLE_NAME_MAX];
        snprintf(dst, sizeof(dst), "%s/%s", u->sysroot, u->links[i].name);
        if (access(dst, F_OK) == 0)
            continue;
        const char *t = u->links[i].target;
        for (int hop = 0; hop < 8; hop++) {
            snprintf(src, sizeof(src), "%s/%s", u->sysroot, t);
            if (access(src, F_OK) == 0)
                break;
            const char *next = NULL;
            for (size_t j = 0; j < u->nlinks && !next; j++)
                if (strcmp(u->links[j].name, t) == 0)
                    next = u->links[j].target;
            if (!next)
                break;
            t = next;
        }
        int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
            continue; /* a dangling link: not needed unless ld.so asks for it */
        struct stat st;
        int outfd = -1;
        if (fstat(in, &st) == 0)
            outfd =
                open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
        tr_result res = TR_SUCCESS;
        char buf[65536];
        ssize_t k;
        while (outfd >= 0 && (k = read(in, buf, sizeof(buf))) > 0)
            if (write(outfd, buf, (size_t)k) != k)
                res = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        close(in);
        if (outfd < 0 || close(outfd) != 0)
            res = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        TR_GUARD(res);
    }
    return TR_SUCCESS;
}

tr_result cli_debs_unpack(const struct cli_debs *debs, const char *sysroot, struct cli_bb_why *why)
{
    struct unpack *u = calloc(1, sizeof(*u));
    TR_ENSURE(u != NULL, TR_ERR_NOMEM);
    u->sysroot = sysroot;
    tr_result res = TR_SUCCESS;
    for (size_t i = 0; i < debs->n; i++) {
        char path[CLI_BB_PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", debs->dir, debs->d[i].file);
        res = read_deb(u, path);
        if (!tr_ok(res)) {
            cli_bb_say(why, "%s: not a readable Debian package (%s)", path, tr_err_desc(res.err));
            goto out;
        }
    }
    TR_TRY(resolve_links(u));
out:
    free(u);
    return res;
}
