/* teerex bb fetch|upload|serve: building prover bundles on the host.
 *
 *   cli_npm.c       bb from npm: the registry's version document, the tarball
 *                   checked against its published sha512 integrity, the
 *                   amd64-linux binary taken out with libarchive
 *   cli_debs.c      the runtime from Debian packages: apt with a separate
 *                   configuration (never the system's sources) or a given
 *                   directory of .deb files, unpacked with libarchive
 *   cli_bb_build.c  the bundle: bb + the loader + the libraries `ld.so --list`
 *                   says it needs, normalized modes, checked by running
 *                   `bb --version` through the bundled loader
 *   cli_bb_upload.c the deterministic archive POSTed to a teerexd admin
 *                   listener over tcp, unix or vsock
 *   cli_run.c       running a helper program with a deadline (apt-get, the
 *                   loader, bb --version)
 * Everything that reads untrusted bytes here (registry JSON, the loader's
 * listing) has a fuzz target (tests/fuzz/client_npm_fuzz.c,
 * client_ldlist_fuzz.c). */
#ifndef TEEREX_CLI_BB_H
#define TEEREX_CLI_BB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/bundle.h"
#include "teerex/result.h"

#define CLI_BB_PATH_MAX 1024
#define CLI_BB_DEFAULT_REGISTRY "https://registry.npmjs.org"
#define CLI_BB_DEFAULT_MIRROR "http://deb.debian.org/debian"
#define CLI_BB_DEFAULT_SUITE "trixie"

/* A sentence saying why a step failed (path, URL, version, errno). */
struct cli_bb_why {
    char text[1024];
};
void cli_bb_say(struct cli_bb_why *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct cli_bb_fetch_opts {
    const char *registry;  /* npm registry base URL */
    const char *tarball;   /* NULL: from the registry; else this local package tarball... */
    const char *integrity; /* ...checked against this SRI ("sha512-..."), no network */
    const char *cache;     /* cache directory (npm tarballs, apt state, .debs) */
    const char *debs;      /* NULL: download with apt; else a directory of .deb files */
    const char *mirror;    /* Debian mirror for apt */
    const char *suite;     /* Debian suite for apt (trixie) */
    bool quiet;            /* no progress log lines */
};
/* TEEREX_CACHE, /var/cache/teerex as root, else ~/.cache/teerex. */
const char *cli_bb_default_cache(char *buf, size_t cap);
/* mkdir -p (0755). */
TR_RESULT cli_bb_mkdirs(const char *path);
/* One JSON progress line on stderr (unless quiet). */
void cli_bb_log(const struct cli_bb_fetch_opts *o, const char *event, const char *detail);

struct cli_npm_dist {
    char version[65];
    char tarball[2048];
    char integrity[256];
    uint8_t sha512[64];
};
/* The registry's document for one version of @aztec/bb.js: name, version
 * (must be want unless NULL), dist.tarball (http/https URL) and a sha512
 * entry in dist.integrity. TR_ERR_CLIENT_BB_REGISTRY otherwise. */
TR_RESULT cli_npm_parse(const uint8_t *p, size_t n, const char *want, struct cli_npm_dist *out);
/* The document and the tarball (cached in CACHE/npm/ by content). */
TR_RESULT cli_npm_fetch(const struct cli_bb_fetch_opts *o, const char *version,
                        struct cli_npm_dist *dist, char *tgz_path, size_t tgz_cap,
                        struct cli_bb_why *why);
/* package/build/amd64-linux/bb of the tarball into the new file dst (0755). */
TR_RESULT cli_npm_extract_bb(const char *tgz, const char *dst, struct cli_bb_why *why);

#define CLI_DEBS_MAX 8
struct cli_deb {
    char file[256]; /* libc6_2.41-12+deb13u5_amd64.deb */
    char sha256[65];
};
struct cli_debs {
    struct cli_deb d[CLI_DEBS_MAX];
    size_t n;
    char dir[CLI_BB_PATH_MAX];
};
/* The runtime packages (libc6, libstdc++6, libgcc-s1): exactly one .deb of
 * each from o->debs, or downloaded with apt into CACHE/debs-<suite>/. */
TR_RESULT cli_debs_obtain(const struct cli_bb_fetch_opts *o, struct cli_debs *out,
                          struct cli_bb_why *why);
/* Unpacks the shared libraries and the loader of every package into the
 * flat directory sysroot (symlinks become copies of their targets). */
TR_RESULT cli_debs_unpack(const struct cli_debs *debs, const char *sysroot, struct cli_bb_why *why);

/* The loader's `--list` output: calls each(ctx, name, path) for every
 * "NAME => PATH (0x...)" line and the interpreter line; "not found" is
 * TR_ERR_CLIENT_BB_RUNTIME (name in *missing, may be NULL). */
typedef TR_RESULT (*cli_ldlist_fn)(void *ctx, const char *name, const char *path);
TR_RESULT cli_ldlist_parse(const char *text, size_t n, cli_ldlist_fn each, void *ctx, char *missing,
                           size_t missing_cap);

struct cli_bb_result {
    char version[65];
    char digest[BUNDLE_DIGEST_HEX];
    char bb_version[128]; /* what `bb --version` printed */
    struct cli_npm_dist npm;
    struct cli_debs debs;
    size_t files;
    uint64_t bytes;
};
/* The whole pipeline into out_dir (created; must not exist). */
TR_RESULT cli_bb_build(const struct cli_bb_fetch_opts *o, const char *version, const char *out_dir,
                       struct cli_bb_result *res, struct cli_bb_why *why);
/* Runs `bb --version` through the bundle's own loader (deadline 60 s);
 * TR_ERR_CLIENT_BB_DOES_NOT_RUN with its output in why when it fails. */
TR_RESULT cli_bb_run_version(const struct bundle *b, char *out, size_t cap, struct cli_bb_why *why);

/* cli_run.c: argv[0] is a path; env NULL-terminated; stdout+stderr kept
 * (the last cap-1 bytes, NUL-terminated). *status: the wait status. */
TR_RESULT cli_run(char *const argv[], char *const env[], const char *cwd, uint64_t timeout_ms,
                  char *out, size_t cap, int *status);

/* cli_bb_upload.c: POST the bundle (a directory or an executable, sent as
 * a deterministic archive) to ADDR (tcp:HOST:PORT, unix:PATH, vsock:CID:PORT
 * or an http:// URL) as version; the server's JSON answer in answer. */
TR_RESULT cli_bb_upload(const char *addr, const char *version, const char *path, long *http_status,
                        char *answer, size_t answer_cap, char digest[BUNDLE_DIGEST_HEX],
                        struct cli_bb_why *why);

#endif
