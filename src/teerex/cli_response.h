/* Parsers of what a tee-rex server answers (untrusted bytes, JSON via
 * jansson): /attestation, /prove, /health and error bodies. Pure functions:
 * policy (what to do with a standard-mode server, ...) is in cmd_prove.c. */
#ifndef TEEREX_CLI_RESPONSE_H
#define TEEREX_CLI_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/limits.h"

enum cli_mode { CLI_MODE_STANDARD = 1, CLI_MODE_NITRO = 2 };

struct cli_attestation {
    enum cli_mode mode;
    struct tr_buf public_key; /* armored key text (NUL-terminated, not counted) */
    struct tr_buf document;   /* decoded COSE_Sign1 bytes; empty in standard mode */
};

void cli_attestation_init(struct cli_attestation *a);
void cli_attestation_free(struct cli_attestation *a);
/* {"mode":"standard"|"nitro","publicKey":"...","attestationDocument":"<b64>"} */
TR_RESULT cli_parse_attestation(const uint8_t *body, size_t len, struct cli_attestation *out);

struct cli_proof {
    struct tr_buf proof;         /* as sent: 4-byte BE field count + fields */
    struct tr_buf vk;            /* extension "vk" (ultra_honk), may be empty */
    struct tr_buf public_inputs; /* extension "publicInputs" (ultra_honk), may be empty */
    uint32_t fields;             /* the header's field count */
};

void cli_proof_init(struct cli_proof *p);
void cli_proof_free(struct cli_proof *p);
/* {"proof":"<b64>", "vk":"<b64>"?, "publicInputs":"<b64>"?}; the header count
 * must match: 4 + 32 * count == decoded length. */
TR_RESULT cli_parse_proof(const uint8_t *body, size_t len, struct cli_proof *out);

/* {"error":"<message>", ...}: copies the message (truncated, control
 * characters replaced) into out; "" when the body is not such an object. */
void cli_parse_error(const uint8_t *body, size_t len, char *out, size_t out_size);
/* Same for the answer's "detail" (why a proof failed: timeout, prover exit...). */
void cli_parse_error_detail(const uint8_t *body, size_t len, char *out, size_t out_size);

#define CLI_HEALTH_MAX_VERSIONS 64
struct cli_health {
    int ok;             /* status == "ok" */
    char status[32];    /* the status text ("ok", "not_ready", "draining"), "" if absent */
    char reasons[512];  /* "reasons" joined with "; " (why not ready), "" if none */
    long api_version;   /* -1 if absent */
    char versions[512]; /* available_versions joined with ',' (truncated) */
    size_t n_names;     /* the same, one by one (at most CLI_HEALTH_MAX_VERSIONS) */
    char names[CLI_HEALTH_MAX_VERSIONS][TR_MAX_VERSION_LEN + 1];
};
TR_RESULT cli_parse_health(const uint8_t *body, size_t len, struct cli_health *out);

#endif
