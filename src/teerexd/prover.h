/* Runs one bb proof in the sandbox (include/teerex/sandbox.h): a private work
 * directory (a tmpfs only the prover's mount namespace sees), clean argv from
 * a command template (no shell), bounded output capture; timeout, client
 * hang-up and shutdown kill it (its whole PID namespace); the work directory
 * always goes. */
#ifndef TEEREXD_PROVER_H
#define TEEREXD_PROVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "teerex/buf.h"
#include "teerex/bundle.h"
#include "teerex/sandbox.h"

enum scheme { SCHEME_CHONK = 0, SCHEME_ULTRA_HONK };

/* "chonk" / "ultra_honk"; false when unknown. */
bool scheme_parse(const char *s, enum scheme *out);
const char *scheme_name(enum scheme s);

struct prove_request {
    enum scheme scheme;
    const struct bundle *bb;   /* the version to run (bundle_argv gives its argv prefix) */
    struct tr_slice input;     /* decrypted prover input (a container for ultra_honk) */
    int client_fd;             /* watched for hang-up; -1 = none */
    uint64_t deadline_ms;      /* monotonic; 0: now + PROVE_TIMEOUT */
    const atomic_bool *cancel; /* set on shutdown after the grace period */
};

struct prove_output {
    struct tr_buf proof;         /* 4-byte BE field count + output/proof */
    struct tr_buf vk;            /* output/vk when written (else empty) */
    struct tr_buf public_inputs; /* output/public_inputs when written */
    struct tr_buf log;           /* bb stdout+stderr, last TR_MAX_PROVER_STDERR bytes */
    uint64_t prove_ms;
    int exit_code; /* -1 when killed */
};

/* What every proof shares: the configuration, the sandbox, and where work
 * directories go when the sandbox has no mount namespace. */
struct prover_env {
    const struct config *cfg;
    struct sbx *sbx;
    const char *work_parent;
};

/* Picks the parent of work directories once (PROVE_WORK_DIR, /dev/shm, $TMPDIR, /tmp). */
void prover_pick_work_dir(const struct config *cfg, char *out, size_t cap);
void prove_output_init(struct prove_output *o);
void prove_output_free(struct prove_output *o);
TR_RESULT prover_run(const struct prover_env *env, const struct prove_request *rq,
                     struct prove_output *out);

/* The sandbox's settings from the configuration (PROVER_*, PROVE_TIMEOUT). */
TR_RESULT prover_sandbox_config(const struct config *cfg, struct sbx_config *out);
/* At start-up: probes and logs the sandbox (what is on, off, unavailable and
 * why), refuses TEE_MODE=nitro without a part the operator did not turn off
 * (TR_ERR_SANDBOX_UNAVAILABLE), removes work directories a crashed teerexd
 * left in work_parent. */
TR_RESULT prover_sandbox_start(const struct config *cfg, const char *work_parent, struct sbx **out);

/* What a prover sees read-only (prover_sandbox.c): a bundle with its own
 * loader, its directory alone; otherwise bb's directory, a script's
 * interpreter directory, and PROVER_HOST_LIBS unless bb is a static
 * executable; then CRS_PATH and PROVER_SANDBOX_RO_PATHS. */
struct prover_layout {
    struct sbx_job_opts opts;
    char paths[SBX_MAX_RO][1024];
};
TR_RESULT prover_layout(const struct config *cfg, const struct bundle *bb, size_t input_len,
                        struct prover_layout *out);

/* Runs `bb --version` of a prover the way a proof runs it; said gets the
 * first line it printed (its version), or why it did not run. Start-up checks. */
#define PROVER_PROBE_MS 10000
TR_RESULT prover_probe(const struct prover_env *env, const struct bundle *bb, char *said,
                       size_t cap);

/* Splits a template at spaces and substitutes {bb} {dir} {crs}; argv is
 * NULL-terminated, strings in storage. A token that is exactly {bb} becomes
 * every entry of bb_argv (a bundle's loader prefix and its bb); {bb} inside
 * a longer token becomes the last entry (bb itself). Exposed for unit tests. */
#define PROVER_MAX_ARGS 64
TR_RESULT prover_expand(const char *tmpl, const char *const *bb_argv, const char *dir,
                        const char *crs, bool append_crs, char *storage, size_t cap,
                        char *argv[PROVER_MAX_ARGS + 1]);

#endif
