/* Attestation round and encryption of `teerex prove` (cli_session.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "cli_attest_out.h"
#include "cli_session.h"
#include "teerex/clock.h"
#include "teerex/codec.h"
#include "teerex/limits.h"

#define NONCE_LEN 32

void cli_session_init(struct cli_session *s)
{
    memset(s, 0, sizeof(*s));
}

void cli_session_free(struct cli_session *s)
{
    pgp_pubkey_free(s->pk);
    s->pk = NULL;
}

static tr_result verify_nitro(const struct cli_session_opts *o, const struct cli_attestation *a,
                              const uint8_t *nonce, struct cli_session *s)
{
    struct attest_expect exp = ATTEST_EXPECT_INIT;
    struct attest_result ar;
    exp.pcrs = o->pcrs;
    exp.n_pcrs = o->n_pcrs;
    exp.bb = o->bb;
    exp.n_bb = o->n_bb;
    exp.nonce = nonce;
    exp.nonce_len = NONCE_LEN;
    exp.max_age_ms = o->max_age_ms;
    exp.at = ATTEST_AT_NOW;
    exp.extra_root_pem = o->root_pem;
    exp.only_extra_root = o->root_pem != NULL;
    exp.require_public_key = true;
    exp.refuse_debug_mode = !o->allow_debug_mode;
    exp.require_pinned = o->require_pinned;
    /* The key served as JSON must be the attested one, byte for byte. */
    exp.public_key = a->public_key.data;
    exp.public_key_len = a->public_key.len;

    attest_result_init(&ar);
    uint64_t t0 = tr_mono_us();
    tr_result res = attest_verify(a->document.data, a->document.len, &exp, &ar);
    s->verify_ms = tr_ms_since(t0);
    snprintf(s->detail, sizeof(s->detail), "%s", ar.detail);
    if (tr_ok(res)) {
        s->debug_mode = cli_attest_is_debug(&ar);
        snprintf(s->module_id, sizeof(s->module_id), "%s", ar.module_id);
        if ((ar.pcr_mask & 1u) && ar.pcr_len[0] <= 64)
            tr_hex_to_str(ar.pcrs[0], ar.pcr_len[0], s->pcr0);
        /* Encrypt to the key inside the signed document. */
        res = pgp_pubkey_parse_armored((const char *)ar.public_key.data, ar.public_key.len, &s->pk);
    }
    attest_result_free(&ar);
    return res;
}

tr_result cli_session_attest(const struct cli_session_opts *o, struct cli_report *rep,
                             struct cli_session *s)
{
    tr_result res = TR_SUCCESS;
    uint8_t nonce[NONCE_LEN];
    char nonce_hex[2 * NONCE_LEN + 1];
    struct tr_buf url;
    struct cli_http_response resp;
    struct cli_attestation a;
    tr_buf_init(&url, 8192);
    cli_http_response_init(&resp, (size_t)256 * 1024);
    cli_attestation_init(&a);
    cli_session_free(s);
    s->pcr0[0] = 0;
    s->detail[0] = 0;

    uint64_t t0 = tr_mono_us();
    TR_CHECK(RAND_bytes(nonce, sizeof(nonce)) == 1, TR_ERR_RANDOM);
    tr_hex_to_str(nonce, sizeof(nonce), nonce_hex);
    TR_TRY(cli_url_join(o->url, "/attestation?nonce=", &url));
    TR_TRY(tr_buf_append(&url, nonce_hex, sizeof(nonce_hex)));
    /* Like POST /prove: up to 2 retries on network errors and 5xx. */
    for (int attempt = 0;; attempt++) {
        tr_result r = cli_http_get((const char *)url.data, &o->http, &resp);
        if (tr_ok(r) && resp.status == 200)
            break;
        if (!tr_ok(r) && r.err != TR_ERR_CLIENT_NETWORK)
            TR_FAIL(r.err);
        if (tr_ok(r)) {
            char msg[160];
            cli_parse_error(resp.body.data, resp.body.len, msg, sizeof(msg));
            cli_report_note(rep, "GET /attestation: HTTP %ld %s", resp.status, msg);
        } else {
            cli_report_note(rep, "GET /attestation: %s", resp.error);
        }
        if ((tr_ok(r) && resp.status < 500) || attempt == CLI_MAX_RETRIES)
            TR_FAIL(tr_ok(r) ? TR_ERR_CLIENT_HTTP_STATUS : TR_ERR_CLIENT_NETWORK);
        cli_report_note(rep, "retrying (%d of %d)", attempt + 1, CLI_MAX_RETRIES);
        cli_backoff(attempt + 1);
    }
    s->fetch_ms = tr_ms_since(t0);
    TR_TRY(cli_parse_attestation(resp.body.data, resp.body.len, &a));
    s->mode = a.mode;
    if (a.mode == CLI_MODE_STANDARD) {
        if (o->require_attestation) {
            cli_report_note(rep, "server runs in STANDARD mode (no attestation) and "
                                 "--require-attestation is set: refusing to send the input");
            TR_FAIL(TR_ERR_CLIENT_UNATTESTED);
        }
        cli_report_note(rep, "WARNING: server runs in STANDARD mode: NO ATTESTATION. The input "
                             "is encrypted to a key nobody vouches for; whoever runs the server "
                             "can read it. Use --require-attestation to refuse this.");
        TR_TRY(pgp_pubkey_parse_armored((const char *)a.public_key.data, a.public_key.len, &s->pk));
    } else {
        TR_TRY(verify_nitro(o, &a, nonce, s));
        if (s->debug_mode)
            cli_report_note(rep, "WARNING: DEBUG-MODE ENCLAVE (all-zero PCRs): the host can read "
                                 "its memory, and with it your input; accepted only because "
                                 "--allow-debug-mode was given");
        if (o->n_pcrs == 0)
            cli_report_note(rep, "WARNING: NO PCR PINNED: the attestation proves that *some* "
                                 "Nitro enclave holds the key, not which code runs in it. Pass "
                                 "--pcr 0=<PCR0> (or 2=<PCR2>) from the release's pcrs.json");
    }
    cli_report_phase(rep, "fetch-attestation", tr_ms_since(t0));
out:
    if (!tr_ok(res))
        cli_session_free(s);
    cli_attestation_free(&a);
    cli_http_response_free(&resp);
    tr_buf_free(&url);
    return res;
}

tr_result cli_session_encrypt(const struct cli_session *s, const struct tr_buf *plaintext,
                              struct tr_buf *body)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf msg;
    TR_ENSURE(s->pk != NULL, TR_ERR_NULL_ARG);
    tr_buf_init(&msg, TR_MAX_BODY_DEFAULT);
    /* Sized up front: growing by doubling costs copies and page faults on
     * tens of MiB (packet overhead is a few hundred bytes + 16 per 4 MiB chunk). */
    TR_TRY(tr_buf_reserve(&msg, plaintext->len + plaintext->len / 4096 + 1024));
    TR_TRY(pgp_encrypt(s->pk, plaintext->data, plaintext->len, &msg));
    TR_TRY(tr_buf_reserve(body, (msg.len + 2) / 3 * 4 + 16));
    TR_TRY(tr_buf_append_str(body, "{\"data\":\""));
    TR_TRY(tr_b64_encode(msg.data, msg.len, body));
    TR_TRY(tr_buf_append_str(body, "\"}"));
out:
    tr_buf_free(&msg);
    return res;
}
