/* The prover versions teerexd can run: every bundle (include/teerex/bundle.h)
 * BB_VERSIONS_DIR/<version>/ plus the default, each with its digest computed
 * once (start-up, SIGHUP rescan, install). Under the pinned policy a bundle
 * whose (version, digest) is not on the allow-list is never listed, so it
 * never runs. Thread-safe.
 *
 * The default prover: BB_BINARY_PATH (a bundle directory or an executable;
 * "bb" from PATH when unset) listed under the name BB_DEFAULT_VERSION, or
 * "default" when that is unset; or, without BB_BINARY_PATH but with
 * BB_DEFAULT_VERSION, the bundle of that name in BB_VERSIONS_DIR. */
#ifndef TEEREXD_VERSIONS_H
#define TEEREXD_VERSIONS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "teerex/bundle.h"
#include "teerex/limits.h"
#include "teerex/result.h"

#define VERSIONS_MAX 256
#define VERSIONS_DEFAULT_NAME "default"

struct bb_version {
    char version[TR_MAX_VERSION_LEN + 1];
    struct bundle bundle;           /* how it runs (bundle_argv) */
    char digest[BUNDLE_DIGEST_HEX]; /* what the attestation reports */
};

struct versions {
    pthread_mutex_t mu;         /* the list */
    pthread_mutex_t install_mu; /* one install (swap into place + rescan) at a time */
    char dir[1024];
    const struct bundle_policy *policy;
    char default_name[TR_MAX_VERSION_LEN + 1]; /* "" = no default */
    bool has_external;                         /* the default lives outside dir */
    struct bb_version external;
    size_t count;
    struct bb_version list[VERSIONS_MAX]; /* sorted by version; includes the default */
};

/* default_path: BB_BINARY_PATH ("" = bb from PATH, if any); default_version:
 * BB_DEFAULT_VERSION (""). The policy must outlive v. */
TR_RESULT versions_init(struct versions *v, const char *dir, const char *default_path,
                        const char *default_version, const struct bundle_policy *policy);
void versions_destroy(struct versions *v);
TR_RESULT versions_rescan(struct versions *v);
/* Copies the entry for version (NULL or "" = the default) into out; false when absent. */
bool versions_lookup(struct versions *v, const char *version, struct bb_version *out);
bool versions_default(struct versions *v, struct bb_version *out);
size_t versions_count(struct versions *v);
/* [{"version":..,"sha256":<digest>}] sorted; new reference. */
json_t *versions_json(struct versions *v);
/* ["1.2.3", ...]: the names only; new reference. */
json_t *versions_names_json(struct versions *v);
/* Comma-separated names for an error message. */
void versions_names(struct versions *v, char *out, size_t cap);
/* The default's name ("" when none) into out. */
void versions_default_name(struct versions *v, char *out, size_t cap);

/* Installing a bundle (versions_install.c): an upload streams into a private
 * staging directory BB_VERSIONS_DIR/.staging-XXXXXX; commit checks the
 * layout, the digest and the policy, then swaps the directory into place
 * atomically. Nothing is left behind on abort or failure. */
struct versions_upload;
enum versions_upload_kind {
    VERSIONS_UPLOAD_RAW = 0, /* the body is bb itself (the reference's upload) */
    VERSIONS_UPLOAD_TAR      /* the body is a bundle archive (bundle.h) */
};
/* why (may be NULL): on failure, a sentence with the path and errno. */
TR_RESULT versions_upload_begin(struct versions *v, const char *version,
                                enum versions_upload_kind kind, char *why, size_t why_cap,
                                struct versions_upload **out);
TR_RESULT versions_upload_write(struct versions_upload *u, const void *p, size_t n);
/* expect_digest: NULL, or the digest the sender announced (mismatch ->
 * TR_ERR_BUNDLE_DIGEST_MISMATCH, nothing installed). */
TR_RESULT versions_upload_commit(struct versions_upload *u, const char *expect_digest,
                                 struct bb_version *out, char *why, size_t why_cap);
void versions_upload_abort(struct versions_upload *u);
/* Removes staging directories a crash left behind (start-up). */
void versions_clean_staging(struct versions *v);

#endif
