/* The prover binaries teerexd can run: BB_VERSIONS_DIR/<version>/bb plus the
 * default (BB_BINARY_PATH), each with its SHA-256 computed once (start-up,
 * SIGHUP rescan, upload). Thread-safe. */
#ifndef TEEREXD_VERSIONS_H
#define TEEREXD_VERSIONS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "teerex/limits.h"
#include "teerex/result.h"

#define VERSIONS_MAX 256
#define VERSIONS_PATH_MAX 1100

struct bb_version {
    char version[TR_MAX_VERSION_LEN + 1];
    char path[VERSIONS_PATH_MAX];
    char sha256[65];
};

struct versions {
    pthread_mutex_t mu;
    char dir[1024];
    struct bb_version def; /* version "default"; path "" when none */
    size_t count;
    struct bb_version list[VERSIONS_MAX]; /* sorted by version */
};

TR_RESULT versions_init(struct versions *v, const char *dir, const char *default_path);
void versions_destroy(struct versions *v);
TR_RESULT versions_rescan(struct versions *v);
/* Copies the entry for version (NULL or "" = default) into out; false when absent. */
bool versions_lookup(struct versions *v, const char *version, struct bb_version *out);
bool versions_default(struct versions *v, struct bb_version *out);
/* [{"version":..,"sha256":..}] sorted; new reference. */
json_t *versions_json(struct versions *v);
/* Comma-separated names for an error message. */
void versions_names(struct versions *v, char *out, size_t cap);

/* Admin upload: streams into a temp file in dir/<version>/ then commits it
 * atomically (fsync, rename to bb, 0755) and records its hash. */
struct versions_upload;
TR_RESULT versions_upload_begin(struct versions *v, const char *version,
                                struct versions_upload **out);
TR_RESULT versions_upload_write(struct versions_upload *u, const void *p, size_t n);
TR_RESULT versions_upload_commit(struct versions_upload *u, struct bb_version *out);
void versions_upload_abort(struct versions_upload *u);

/* SHA-256 of a file as lowercase hex. */
TR_RESULT sha256_file(const char *path, char out[65]);

#endif
