/* teerex prove: attest, encrypt, transmit, wait for the proof, write it.
 * Options are parsed in cli_prove_opts.c; this file is the flow and its
 * retry policy (the SDK's: 2 retries on network errors and 5xx, and one
 * re-attestation when the server says it cannot decrypt: it may have
 * restarted with a new key, or a load balancer moved us to another one). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli_input.h"
#include "cli_prove_opts.h"
#include "cli_session.h"
#include "commands.h"
#include "exit_codes.h"
#include "teerex/clock.h"
#include "teerex/limits.h"
#include "teerex/secmem.h"

#define PROVE_TIMEOUT_MS (5L * 60 * 1000) /* the SDK waits up to 5 minutes */

struct outcome {
    struct cli_http_response resp;
    struct cli_proof proof;
    int attempts;
    int reattested;
    char server_error[200];
    char server_detail[300];
    char bb_dir[4200];
};

static int is_decrypt_failure(const char *msg)
{
    return strncmp(msg, "Failed to decrypt", strlen("Failed to decrypt")) == 0;
}

static tr_result write_outputs(const struct prove_opts *o, struct outcome *oc)
{
    TR_GUARD(cli_write_file(o->out, oc->proof.proof.data, oc->proof.proof.len));
    if (oc->proof.vk.len == 0)
        return TR_SUCCESS;
    /* ultra_honk: bb's own files, so `bb verify -p D/proof -k D/vk -i
     * D/public_inputs` checks the proof as is (no 4-byte header). */
    char path[4300];
    int w = snprintf(oc->bb_dir, sizeof(oc->bb_dir), "%s.bb", o->out);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(oc->bb_dir), TR_ERR_CLIENT_WRITE);
    TR_GUARD(cli_mkdir(oc->bb_dir));
    snprintf(path, sizeof(path), "%s/proof", oc->bb_dir);
    TR_GUARD(cli_write_file(path, oc->proof.proof.data + 4, oc->proof.proof.len - 4));
    snprintf(path, sizeof(path), "%s/vk", oc->bb_dir);
    TR_GUARD(cli_write_file(path, oc->proof.vk.data, oc->proof.vk.len));
    snprintf(path, sizeof(path), "%s/public_inputs", oc->bb_dir);
    TR_GUARD(cli_write_file(path, oc->proof.public_inputs.data, oc->proof.public_inputs.len));
    return TR_SUCCESS;
}

static tr_result run(const struct prove_opts *o, struct cli_report *rep, struct cli_session *s,
                     struct outcome *oc)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf input, body, url;
    tr_buf_init_secret(&input, TR_MAX_PLAINTEXT);
    tr_buf_init(&body, TR_MAX_BODY_DEFAULT);
    tr_buf_init(&url, 8192);
    const char *headers[3] = {NULL, NULL, NULL};
    char h_version[TR_MAX_VERSION_LEN + 32], h_scheme[64];
    size_t nh = 0;
    if (o->aztec_version) {
        snprintf(h_version, sizeof(h_version), "x-aztec-version: %s", o->aztec_version);
        headers[nh++] = h_version;
    }
    if (o->scheme != CLI_SCHEME_CHONK) { /* chonk is the default: old servers see no change */
        snprintf(h_scheme, sizeof(h_scheme), "x-prover-scheme: %s", cli_scheme_name(o->scheme));
        headers[nh++] = h_scheme;
    }

    TR_TRY(cli_input_load(o->input, o->scheme, &input));
    TR_TRY(cli_url_join(o->session.url, "/prove", &url));
    TR_TRY(cli_session_attest(&o->session, rep, s));

    struct cli_http_opts http = o->session.http;
    http.timeout_ms = PROVE_TIMEOUT_MS;
    http.max_response = (size_t)96 * 1024 * 1024;
    http.progress = cli_report_progress;
    http.progress_ctx = rep;
    int retries = 0;
    for (;;) {
        uint64_t t0 = tr_mono_us();
        tr_buf_clear(&body);
        TR_TRY(cli_session_encrypt(s, &input, &body));
        cli_report_phase(rep, "encrypt", tr_ms_since(t0));

        oc->attempts++;
        tr_result r = cli_http_post_json((const char *)url.data, headers, body.data, body.len,
                                         &http, &oc->resp);
        cli_report_end_line(rep);
        int retry = 0;
        if (!tr_ok(r)) {
            if (r.err != TR_ERR_CLIENT_NETWORK)
                TR_FAIL(r.err);
            cli_report_note(rep, "POST /prove: %s", oc->resp.error);
            retry = 1;
        } else {
            cli_report_phase(rep, "transmit", oc->resp.transmit_s * 1000.0);
            cli_report_phase(rep, "proving", oc->resp.wait_s * 1000.0);
            cli_report_phase(rep, "receive", oc->resp.receive_s * 1000.0);
            if (oc->resp.status == 200)
                break;
            cli_parse_error(oc->resp.body.data, oc->resp.body.len, oc->server_error,
                            sizeof(oc->server_error));
            cli_parse_error_detail(oc->resp.body.data, oc->resp.body.len, oc->server_detail,
                                   sizeof(oc->server_detail));
            cli_report_note(rep, "POST /prove: HTTP %ld %s%s%s (request %s%s%s)", oc->resp.status,
                            oc->server_error, oc->server_detail[0] ? ": " : "", oc->server_detail,
                            oc->resp.request_id[0] ? oc->resp.request_id : "-",
                            oc->resp.prover_version[0] ? ", prover " : "", oc->resp.prover_version);
            if (oc->resp.status >= 500) {
                retry = 1;
            } else if (oc->resp.status == 400 && is_decrypt_failure(oc->server_error) &&
                       !oc->reattested) {
                oc->reattested = 1;
                cli_report_note(rep, "the server could not decrypt: fetching its attestation "
                                     "again (new key?) and re-encrypting");
                TR_TRY(cli_session_attest(&o->session, rep, s));
                continue;
            } else {
                TR_FAIL(TR_ERR_CLIENT_HTTP_STATUS);
            }
        }
        if (retry) {
            if (retries == CLI_MAX_RETRIES)
                TR_FAIL(tr_ok(r) ? TR_ERR_CLIENT_HTTP_STATUS : TR_ERR_CLIENT_NETWORK);
            retries++;
            cli_report_note(rep, "retrying (%d of %d)", retries, CLI_MAX_RETRIES);
            cli_backoff(retries);
        }
    }
    TR_TRY(cli_parse_proof(oc->resp.body.data, oc->resp.body.len, &oc->proof));
    TR_TRY(write_outputs(o, oc));
out:
    tr_buf_free(&input);
    tr_buf_free(&body);
    tr_buf_free(&url);
    return res;
}

static double round1(double ms)
{
    return (double)(long long)(ms * 10.0 + 0.5) / 10.0;
}

static void print_result(const struct prove_opts *o, const struct cli_report *rep,
                         const struct cli_session *s, const struct outcome *oc, tr_result res,
                         int code)
{
    if (o->json) {
        json_t *phases = json_object();
        for (int i = 0; i < rep->n_phases; i++)
            json_object_set_new(phases, rep->phases[i].name, json_real(round1(rep->phases[i].ms)));
        json_t *j = json_pack("{s:b,s:s,s:s,s:s,s:o,s:i,s:b,s:i}", "ok", tr_ok(res), "url",
                              o->session.url, "scheme", cli_scheme_name(o->scheme), "mode",
                              s->mode == CLI_MODE_NITRO      ? "nitro"
                              : s->mode == CLI_MODE_STANDARD ? "standard"
                                                             : "unknown",
                              "phases", phases, "attempts", oc->attempts, "reattested",
                              oc->reattested, "exit", code);
        if (s->mode == CLI_MODE_NITRO) {
            json_object_set_new(j, "pcr0", json_string(s->pcr0));
            json_object_set_new(j, "module_id", json_string(s->module_id));
            json_object_set_new(j, "attestation_verify_ms", json_real(round1(s->verify_ms)));
        }
        if (oc->resp.request_id[0])
            json_object_set_new(j, "request_id", json_string(oc->resp.request_id));
        if (tr_ok(res)) {
            json_object_set_new(j, "out", json_string(o->out));
            if (oc->bb_dir[0])
                json_object_set_new(j, "bb_dir", json_string(oc->bb_dir));
            json_object_set_new(j, "proof_bytes", json_integer((json_int_t)oc->proof.proof.len));
            json_object_set_new(j, "proof_fields", json_integer(oc->proof.fields));
            json_object_set_new(j, "server_decrypt_ms", json_integer(oc->resp.decrypt_ms));
            json_object_set_new(j, "server_prove_ms", json_integer(oc->resp.prove_ms));
            if (oc->resp.prover_version[0])
                json_object_set_new(j, "prover_version", json_string(oc->resp.prover_version));
        } else {
            json_object_set_new(j, "error", json_string(tr_err_name(res.err)));
            json_object_set_new(j, "message", json_string(tr_err_desc(res.err)));
            if (s->detail[0])
                json_object_set_new(j, "detail", json_string(s->detail));
            if (oc->server_error[0])
                json_object_set_new(j, "server_error", json_string(oc->server_error));
            if (oc->server_detail[0])
                json_object_set_new(j, "server_detail", json_string(oc->server_detail));
        }
        json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(j);
        return;
    }
    if (!tr_ok(res)) {
        fprintf(stderr, "teerex prove: %s: %s%s%s\n", tr_err_name(res.err), tr_err_desc(res.err),
                s->detail[0] ? " - " : "", s->detail);
        if (oc->server_error[0])
            fprintf(stderr, "server said: HTTP %ld %s%s%s (request %s)\n", oc->resp.status,
                    oc->server_error, oc->server_detail[0] ? ": " : "", oc->server_detail,
                    oc->resp.request_id[0] ? oc->resp.request_id : "-");
        return;
    }
    if (s->mode == CLI_MODE_NITRO)
        printf("attested: module %s, PCR0 %s\n", s->module_id, s->pcr0);
    printf("proof: %zu bytes (%u fields) written to %s\n", oc->proof.proof.len, oc->proof.fields,
           o->out);
    if (oc->bb_dir[0])
        printf("bb files (proof, vk, public_inputs) in %s\n", oc->bb_dir);
    if (oc->resp.prove_ms >= 0)
        printf("server: decrypt %ld ms, prove %ld ms%s%s\n", oc->resp.decrypt_ms, oc->resp.prove_ms,
               oc->resp.prover_version[0] ? ", prover " : "", oc->resp.prover_version);
}

int cmd_prove(int argc, char **argv)
{
    struct prove_opts o;
    int code = prove_opts_parse(argc, argv, &o);
    if (code >= 0)
        return code;
    struct cli_report rep;
    struct cli_session s;
    struct outcome oc;
    memset(&oc, 0, sizeof(oc));
    cli_report_init(&rep, o.json);
    cli_session_init(&s);
    cli_http_response_init(&oc.resp, (size_t)96 * 1024 * 1024);
    cli_proof_init(&oc.proof);

    tr_result res = tr_secmem_init(0);
    if (tr_ok(res))
        res = cli_http_global_init();
    if (tr_ok(res))
        res = run(&o, &rep, &s, &oc);
    code = tr_ok(res) ? TEEREX_EXIT_OK : cli_exit_code(res.err);
    print_result(&o, &rep, &s, &oc, res, code);

    cli_proof_free(&oc.proof);
    cli_http_response_free(&oc.resp);
    cli_session_free(&s);
    prove_opts_free(&o);
    cli_http_global_cleanup();
    return code;
}
