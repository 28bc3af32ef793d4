/* Runs one bb proof: private 0700 work directory (tmpfs when available),
 * clean argv from a command template (no shell), own process group, bounded
 * output capture, timeout / client hang-up / shutdown kill the whole group,
 * directory always removed. */
#ifndef TEEREXD_PROVER_H
#define TEEREXD_PROVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "teerex/buf.h"
#include "teerex/bundle.h"

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

/* Picks the parent of work directories once (PROVE_WORK_DIR, /dev/shm, $TMPDIR, /tmp). */
void prover_pick_work_dir(const struct config *cfg, char *out, size_t cap);
void prove_output_init(struct prove_output *o);
void prove_output_free(struct prove_output *o);
TR_RESULT prover_run(const struct config *cfg, const char *work_parent,
                     const struct prove_request *rq, struct prove_output *out);

/* Splits a template at spaces and substitutes {bb} {dir} {crs}; argv is
 * NULL-terminated, strings in storage. A token that is exactly {bb} becomes
 * every entry of bb_argv (a bundle's loader prefix and its bb); {bb} inside
 * a longer token becomes the last entry (bb itself). Exposed for unit tests. */
#define PROVER_MAX_ARGS 64
TR_RESULT prover_expand(const char *tmpl, const char *const *bb_argv, const char *dir,
                        const char *crs, bool append_crs, char *storage, size_t cap,
                        char *argv[PROVER_MAX_ARGS + 1]);

#endif
