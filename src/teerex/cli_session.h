/* One attestation round of `teerex prove`: GET /attestation with a fresh
 * random nonce, verify the document (nitro) or warn loudly / refuse
 * (standard), and keep the key to encrypt to: the attested one, never the
 * JSON publicKey when a document is present (attest_verify also checks
 * that both are the same bytes). */
#ifndef TEEREX_CLI_SESSION_H
#define TEEREX_CLI_SESSION_H

#include <stdbool.h>

#include "cli_http.h"
#include "cli_report.h"
#include "cli_response.h"
#include "teerex/attest.h"
#include "teerex/pgp.h"

struct cli_session_opts {
    const char *url;
    bool require_attestation;
    const struct attest_pcr_expect *pcrs;
    size_t n_pcrs;
    const struct attest_bb_expect *bb;
    size_t n_bb;
    const char *root_pem;  /* --root file contents: trusted instead of the AWS root */
    uint64_t max_age_ms;   /* 0: default (5 min) */
    bool allow_debug_mode; /* accept an all-zero PCR0 (debug-mode enclave) */
    bool require_pinned;   /* user_data must say "policy":"pinned" */
    struct cli_http_opts http;
};

struct cli_session {
    enum cli_mode mode;
    struct pgp_pubkey *pk;
    char pcr0[129]; /* lowercase hex of PCR0, "" in standard mode */
    char module_id[128];
    double fetch_ms;  /* GET /attestation */
    double verify_ms; /* attest_verify */
    char detail[256]; /* attest_verify's reason on failure */
    bool debug_mode;  /* the verified document had an all-zero PCR0 */
};

void cli_session_init(struct cli_session *s);
void cli_session_free(struct cli_session *s);

/* Fetches and checks the attestation; reports phase fetch-attestation. */
TR_RESULT cli_session_attest(const struct cli_session_opts *o, struct cli_report *rep,
                             struct cli_session *s);

/* Encrypts plaintext to the session key and appends {"data":"<base64>"}. */
TR_RESULT cli_session_encrypt(const struct cli_session *s, const struct tr_buf *plaintext,
                              struct tr_buf *body);

#endif
