/* Start-up checks of what every proof needs (issue 14 item 1), run before
 * teerexd says "ready" and again after a SIGHUP rescan or a prover install:
 *  - the work directory (PROVE_WORK_DIR or its default) takes a directory;
 *  - the CRS (CRS_PATH, else $HOME/.bb-crs) holds enough points for each
 *    scheme served (PROVE_SCHEMES): chonk needs 2^19 BN254 points and 2^16
 *    Grumpkin points (what bb.js asks for a chonk proof), ultra_honk at
 *    least 512 BN254 points (bb's minimum; larger circuits need more);
 *    without it bb would try to download one and fail in an enclave;
 *  - every installed prover runs: `bb --version` through the same path a
 *    proof takes (bundle loader, sandbox), within 10 s.
 * A failure does not stop teerexd: /health stays 200 (the protocol) with
 * status "not_ready" and the reasons, /ready answers 503, and a /prove that
 * needs what is missing is refused at once with 503 and the reason, instead
 * of each request failing after bb gave up. What still works keeps working
 * (another prover version, the other scheme). */
#ifndef TEEREXD_READINESS_H
#define TEEREXD_READINESS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "prover.h"
#include "teerex/limits.h"

#define READINESS_MAX_REASONS 16
#define READINESS_MAX_PROVERS 64
#define READINESS_REASON_MAX 320
#define CRS_CHONK_BN254_POINTS ((uint64_t)1 << 19)
#define CRS_CHONK_GRUMPKIN_POINTS ((uint64_t)1 << 16)
#define CRS_MIN_BN254_POINTS 512

struct server;

struct prover_state {
    char version[TR_MAX_VERSION_LEN + 1];
    bool ok;
    char said[128];                 /* first line of `bb --version`, or why it failed */
    char why[READINESS_REASON_MAX]; /* the reason, with the prover's path */
};

struct readiness_state {
    bool checked;
    bool workdir_ok;
    bool scheme_ok[2]; /* by enum scheme: served and its CRS is there */
    char workdir_why[READINESS_REASON_MAX], scheme_why[2][READINESS_REASON_MAX];
    char last[READINESS_REASON_MAX]; /* the latest failure */
    size_t n_reasons;
    char reasons[READINESS_MAX_REASONS][READINESS_REASON_MAX];
    size_t n_provers;
    struct prover_state provers[READINESS_MAX_PROVERS];
};

struct readiness {
    pthread_mutex_t mu;
    struct readiness_state st;
};

void readiness_init(struct readiness *r);
void readiness_destroy(struct readiness *r);
/* Runs every check and logs each failure (startup_check_failed) or the
 * summary (startup_checks_passed). */
void readiness_run(struct server *s);
/* True when nothing failed. reasons (may be NULL) gets a new JSON array. */
bool readiness_ok(struct server *s, json_t **reasons);
/* Can a proof of this scheme (with this version; NULL: any) run? false: why says. */
bool readiness_for(struct server *s, enum scheme scheme, const char *version, char *why,
                   size_t cap);
/* "ok", "not_ready" or "draining" (POST /drain); reasons (may be NULL) gets
 * a new array. */
const char *server_status(struct server *s, json_t **reasons);
/* {"<version>": "<bb --version>"|null, ...}: new reference. */
json_t *readiness_provers_json(struct server *s);

#endif
