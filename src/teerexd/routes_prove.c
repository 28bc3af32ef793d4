/* POST /prove: rate limit, body limit and MAX_INFLIGHT_BYTES (from the head,
 * before the body), the body read (and, in the SDK's shape, decrypted) as it
 * arrives (prove_body.h), its JSON verdict, queue, the decryption's verdict
 * (with a prover slot), prover, {"proof": base64(4-byte BE field count +
 * proof)} (PROTOCOL.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prove_body.h"
#include "prover.h"
#include "server.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/limits.h"
#include "teerex/log.h"
#include "teerex/pgp.h"

enum MHD_Result route_prove_first(struct server *s, struct MHD_Connection *c, struct request *rq,
                                  const char *method)
{
    rq->rejected = true; /* until the head passed every check below */
    if (strcmp(method, "POST") != 0) {
        /* PUT, GET, DELETE /prove ...: nothing to prove; the body is not read. */
        rq->route = ROUTE_NOT_FOUND;
        return reply_error(c, rq, 404, "Not found");
    }
    /* After SIGTERM the listeners are closed; a kept-alive connection may
     * still bring a new request: refused, the accepted ones are finishing. */
    if (atomic_load(&s->stopping))
        return reply_error(c, rq, 503, "Server is shutting down");
    rq->prove_open = true; /* drain and shutdown wait for it (server.c: completed) */
    atomic_fetch_add(&s->prove_open, 1);
    struct client_addr who;
    client_addr_of(s, c, &who);
    if (!who.local && !rate_limit_hit(s->rl, who.key, mono_ms())) {
        metrics_count_rate_limited();
        tr_log(TR_LOG_WARN, "rate_limited", "{s:s,s:s}", "requestId", rq->id, "client", who.text);
        return reply_error(c, rq, 429, "Too many prove requests, try again later");
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t n = 0;
    if (cl && tr_ok(tr_parse_u64(cl, UINT64_MAX, &n)) && n > s->cfg.max_body_bytes) {
        rq->too_large = true;
        tr_log(TR_LOG_WARN, "body_too_large", "{s:s,s:I}", "requestId", rq->id, "length",
               (json_int_t)(n > INT64_MAX ? INT64_MAX : n));
        return reply_error(c, rq, 413, "Request body too large");
    }
    /* A declared length is reserved whole now; a chunked body as it comes. */
    if (n > 0 && !inflight_reserve(s, rq, n)) {
        metrics_count_cut(CUT_INFLIGHT_BYTES);
        tr_log(TR_LOG_WARN, "inflight_bytes_full", "{s:s,s:I}", "requestId", rq->id, "length",
               (json_int_t)n);
        char ra[24];
        snprintf(ra, sizeof(ra), "%" PRIu64, s->cfg.retry_after_s);
        const char *hdrs[] = {"Retry-After", ra, NULL};
        return reply_json(
            c, rq, 503,
            json_pack("{s:s,s:s}", "error", "Server busy, try again later", "requestId", rq->id),
            hdrs);
    }
    if (!tr_ok(prove_body_new(s->key, n, s->cfg.max_body_bytes, &rq->pbody)))
        return reply_error(c, rq, 500, "Internal error");
    rq->rejected = false;
    rq->prove_body = true;
    return MHD_YES;
}

enum MHD_Result route_prove_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                 const char *data, size_t n)
{
    if (prove_body_received(rq->pbody) + n > s->cfg.max_body_bytes) {
        rq->too_large = true;
        prove_body_free(rq->pbody);
        rq->pbody = NULL;
        tr_log(TR_LOG_WARN, "body_too_large", "{s:s,s:s}", "requestId", rq->id, "framing",
               "chunked");
        return reply_error_midbody(c, rq, 413, "Request body too large", 0);
    }
    /* What the body holds now (the text kept, or the plaintext decrypted so
     * far) stays within MAX_INFLIGHT_BYTES. */
    tr_result r = prove_body_feed(rq->pbody, data, n);
    uint64_t held = prove_body_held(rq->pbody);
    if (tr_ok(r) && held > rq->reserved && !inflight_reserve(s, rq, held - rq->reserved)) {
        metrics_count_cut(CUT_INFLIGHT_BYTES);
        prove_body_free(rq->pbody);
        rq->pbody = NULL;
        return reply_error_midbody(c, rq, 503, "Server busy, try again later",
                                   s->cfg.retry_after_s);
    }
    if (!tr_ok(r)) {
        prove_body_free(rq->pbody);
        rq->pbody = NULL;
        return reply_error_midbody(c, rq, 500, "Internal error", 0);
    }
    return MHD_YES;
}

/* A version that is not there: 400 when it does not exist or may not run
 * here, 503 when it could not be had now; both name the versions there are. */
static enum MHD_Result unavailable(struct MHD_Connection *c, struct request *rq, struct server *s,
                                   const char *want, tr_result r, const char *why)
{
    char names[1024], msg[1800];
    versions_names(&s->versions, names, sizeof(names));
    bool gone = r.err == TR_OK || r.err == TR_ERR_BUNDLE_PROVISION_UNKNOWN ||
                r.err == TR_ERR_BUNDLE_NOT_ALLOWED;
    if (r.err == TR_OK)
        snprintf(msg, sizeof(msg), "Unsupported x-aztec-version %s; available versions: [%s]", want,
                 names);
    else if (gone)
        snprintf(msg, sizeof(msg), "Unsupported x-aztec-version %s: %s; available versions: [%s]",
                 want, why, names);
    else
        snprintf(msg, sizeof(msg),
                 "Prover version %s could not be provisioned: %s; available versions: [%s]", want,
                 why, names);
    tr_log(TR_LOG_WARN, "version_unavailable", "{s:s,s:s,s:s}", "requestId", rq->id, "requested",
           want, "error", tr_err_name(r.err));
    if (gone)
        return reply_error(c, rq, 400, msg);
    char ra[24];
    snprintf(ra, sizeof(ra), "%" PRIu64, s->cfg.retry_after_s);
    const char *hdrs[] = {"Retry-After", ra, NULL};
    return reply_json(c, rq, 503, json_pack("{s:s,s:s}", "error", msg, "requestId", rq->id), hdrs);
}

static enum MHD_Result not_ready(struct MHD_Connection *c, struct request *rq, const char *why)
{
    char ra[24];
    snprintf(ra, sizeof(ra), "%" PRIu64, rq->srv->cfg.retry_after_s);
    const char *hdrs[] = {"Retry-After", ra, NULL};
    tr_log(TR_LOG_WARN, "not_ready", "{s:s,s:s}", "requestId", rq->id, "reason", why);
    return reply_json(
        c, rq, 503,
        json_pack("{s:s,s:s,s:s}", "error", "Server not ready", "detail", why, "requestId", rq->id),
        hdrs);
}

/* The prover for the request: the version x-aztec-version names, else the
 * default. A named version that is not installed is asked from the host's
 * provisioning service (BB_PROVISION; not for a body that cannot be
 * decrypted anyway), which the request waits for; if it cannot be had the
 * answer is an error naming the versions there are. Only
 * BB_VERSION_FALLBACK=1 proves it with the default instead (and says so in
 * x-prover-version). Returns MHD_YES with *replied = false when it chose one. */
static enum MHD_Result pick_binary(struct server *s, struct MHD_Connection *c, struct request *rq,
                                   bool body_ok, struct bb_version *bb, char *label, size_t cap,
                                   bool *replied)
{
    *replied = true;
    const char *want = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-aztec-version");
    if (want && *want) {
        if (!tr_ok(http_version_validate(want))) {
            tr_log(TR_LOG_WARN, "bad_version_string", "{s:s}", "requestId", rq->id);
            return reply_error(c, rq, 400, "Invalid x-aztec-version");
        }
        tr_result r = TR_SUCCESS;
        char why[512] = "";
        bool have = versions_lookup(&s->versions, want, bb);
        if (!have && body_ok && s->prov.enabled && bundle_version_valid(want)) {
            r = provision_version(&s->prov, want, rq->t_start_ms + s->cfg.prove_timeout_ms, why,
                                  sizeof(why));
            have = tr_ok(r) && versions_lookup(&s->versions, want, bb);
            if (have)
                readiness_run(s); /* a new prover: check that it runs, update /health */
        }
        if (have) {
            snprintf(label, cap, "%s", want);
            *replied = false;
            return MHD_YES;
        }
        if (!s->cfg.bb_version_fallback)
            return unavailable(c, rq, s, want, r, why);
    }
    if (!versions_default(&s->versions, bb)) {
        tr_log(TR_LOG_ERROR, "no_prover_binary", "{s:s}", "requestId", rq->id);
        json_t *reasons = NULL;
        bool ready = readiness_ok(s, &reasons);
        const char *why = json_string_value(json_array_get(reasons, 0));
        enum MHD_Result ret = !ready && why ? not_ready(c, rq, why) /* the check said why */
                                            : reply_error(c, rq, 500, "No prover binary available");
        json_decref(reasons);
        return ret;
    }
    if (want && *want) {
        snprintf(label, cap, "%s (requested %s not available)", bb->version, want);
        tr_log(TR_LOG_WARN, "version_fallback", "{s:s,s:s,s:s}", "requestId", rq->id, "requested",
               want, "used", bb->version);
    } else {
        snprintf(label, cap, "%s", bb->version);
    }
    *replied = false;
    return MHD_YES;
}

static enum MHD_Result reply_proof(struct MHD_Connection *c, struct request *rq,
                                   struct prove_output *po, uint64_t decrypt_ms, const char *label)
{
    struct tr_buf p64, vk64, pi64;
    tr_buf_init(&p64, 0);
    tr_buf_init(&vk64, 0);
    tr_buf_init(&pi64, 0);
    enum MHD_Result ret;
    json_t *o = NULL;
    if (!tr_ok(tr_b64_encode(po->proof.data, po->proof.len, &p64)) ||
        (po->vk.len && !tr_ok(tr_b64_encode(po->vk.data, po->vk.len, &vk64))) ||
        (po->public_inputs.len &&
         !tr_ok(tr_b64_encode(po->public_inputs.data, po->public_inputs.len, &pi64))) ||
        !(o = json_pack("{s:s}", "proof", (const char *)p64.data))) {
        ret = reply_error(c, rq, 500, "Internal error");
        goto out;
    }
    if (po->vk.len)
        json_object_set_new(o, "vk", json_string((const char *)vk64.data));
    if (po->public_inputs.len)
        json_object_set_new(o, "publicInputs", json_string((const char *)pi64.data));
    char dms[24], pms[24];
    snprintf(dms, sizeof(dms), "%" PRIu64, decrypt_ms);
    snprintf(pms, sizeof(pms), "%" PRIu64, po->prove_ms);
    const char *hdrs[] = {
        "x-decrypt-duration-ms", dms, "x-prove-duration-ms", pms, "x-prover-version", label, NULL};
    ret = reply_json(c, rq, 200, o, hdrs);
out:
    tr_buf_free(&p64);
    tr_buf_free(&vk64);
    tr_buf_free(&pi64);
    return ret;
}

static enum MHD_Result prover_error(struct MHD_Connection *c, struct request *rq, tr_result r,
                                    struct prove_output *po, const char *label)
{
    if (r.err == TR_ERR_PROVER_CLIENT_GONE) {
        tr_log(TR_LOG_INFO, "client_gone_while_proving", "{s:s}", "requestId", rq->id);
        return MHD_NO;
    }
    bool input_error = tr_err_category(r.err) == TR_CAT_INPUT;
    if (!input_error)
        metrics_count_prover_failure();
    size_t tail = po->log.len > 2048 ? 2048 : po->log.len;
    char *t = malloc(tail + 1);
    if (t) {
        if (tail > 0)
            memcpy(t, po->log.data + po->log.len - tail, tail);
        for (size_t i = 0; i < tail; i++) {
            if ((t[i] < 0x20 && t[i] != '\n') || (unsigned char)t[i] >= 0x7f)
                t[i] = '?'; /* keep the log line valid UTF-8 JSON */
        }
        t[tail] = '\0';
    }
    tr_log(TR_LOG_ERROR, "prove_failed", "{s:s,s:s,s:s,s:i,s:I,s:s}", "requestId", rq->id, "error",
           tr_err_name(r.err), "version", label, "exit_code", po->exit_code, "prove_ms",
           (json_int_t)po->prove_ms, "output_tail", t ? t : "");
    free(t);
    if (r.err == TR_ERR_PROVER_SHUTDOWN)
        return reply_error(c, rq, 503, "Server is shutting down");
    if (input_error)
        return reply_error(c, rq, 400, "Invalid prover input");
    /* The reason and the prover's exit code help the client's operator; bb's
     * own output stays in the server log (prove_failed above). */
    char detail[200];
    if (r.err == TR_ERR_PROVER_EXIT)
        snprintf(detail, sizeof(detail), "%s (exit code %d)", tr_err_desc(r.err), po->exit_code);
    else
        snprintf(detail, sizeof(detail), "%s", tr_err_desc(r.err));
    const char *hdrs[] = {"x-prover-version", label, NULL};
    return reply_json(c, rq, 500,
                      json_pack("{s:s,s:s,s:s}", "error", "Proof generation failed", "detail",
                                detail, "requestId", rq->id),
                      hdrs);
}

static enum MHD_Result decrypt_failed(struct MHD_Connection *c, struct request *rq, tr_result r)
{
    metrics_count_decrypt_failure();
    tr_log(TR_LOG_WARN, "decrypt_failed", "{s:s,s:s}", "requestId", rq->id, "error",
           tr_err_name(r.err));
    return reply_error(c, rq, 400, "Failed to decrypt request payload");
}

enum MHD_Result route_prove(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    if (rq->too_large)
        return reply_error(c, rq, 413, "Request body too large");
    enum scheme scheme;
    const char *sch = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-prover-scheme");
    if (!scheme_parse(sch, &scheme))
        return reply_error(c, rq, 400, "Unknown x-prover-scheme (expected chonk or ultra_honk)");
    if (!(scheme == SCHEME_CHONK ? s->cfg.serve_chonk : s->cfg.serve_ultra_honk))
        return reply_error(c, rq, 400, "This x-prover-scheme is not served here (PROVE_SCHEMES)");
    struct bb_version bb;
    char label[160];
    bool replied;
    enum MHD_Result ret = MHD_NO;

    struct prove_output po;
    prove_output_init(&po);
    atomic_fetch_add(&s->inflight, 1);
    bool queued = false;

    /* An empty body never called route_prove_data. */
    if (!rq->pbody && !tr_ok(prove_body_new(s->key, 0, s->cfg.max_body_bytes, &rq->pbody))) {
        ret = reply_error(c, rq, 500, "Internal error");
        goto out;
    }
    uint64_t body_bytes = prove_body_received(rq->pbody);
    tr_result r = prove_body_judge(rq->pbody);
    if (r.err == TR_ERR_HTTP_BODY_NOT_JSON) {
        ret = reply_error(c, rq, 400, "Malformed request body");
        goto out;
    }
    if (r.err == TR_ERR_HTTP_BODY_BAD_SHAPE) {
        ret = reply_error(c, rq, 400, "Invalid request body: expected { data: string }");
        goto out;
    }
    /* The body's shape is judged first (400s), as the reference does; only then
     * whether a prover binary is there for this request. */
    ret = pick_binary(s, c, rq, tr_ok(r), &bb, label, sizeof(label), &replied);
    if (replied)
        goto out;
    /* What the start-up checks found missing fails here at once, with the
     * reason, instead of in bb after it tried to download a CRS. */
    char why[READINESS_REASON_MAX];
    if (!readiness_for(s, scheme, bb.version, why, sizeof(why))) {
        ret = not_ready(c, rq, why);
        goto out;
    }
    if (!tr_ok(r)) { /* bad base64: the reference fails it at decryption */
        ret = decrypt_failed(c, rq, r);
        goto out;
    }
    /* Wait for a prover slot holding what the body left (the ciphertext, or
     * the plaintext streamed so far: within the body's MAX_INFLIGHT_BYTES
     * reservation); the decryption's verdict and what remains of it (the
     * last chunk and tags, or all of a buffered or compressed message) once
     * the slot is ours, so what decompresses is bounded by PROVE_CONCURRENCY
     * inputs, and decryption errors come where they came before. */
    int fd = connection_fd(c);
    /* PROVE_TIMEOUT runs from the request's arrival: a request that cannot
     * get a prover in time is told so (503) before its client gives up. */
    uint64_t deadline = rq->t_start_ms + s->cfg.prove_timeout_ms;
    r = prove_queue_enter_by(&s->queue, fd, deadline);
    if (r.err == TR_ERR_PROVER_QUEUE_TIMEOUT) {
        metrics_count_queue_timeout();
        char ra[24];
        snprintf(ra, sizeof(ra), "%" PRIu64, s->cfg.retry_after_s);
        const char *hdrs[] = {"Retry-After", ra, NULL};
        tr_log(TR_LOG_WARN, "queue_timeout", "{s:s,s:I}", "requestId", rq->id, "waited_ms",
               (json_int_t)(mono_ms() - rq->t_start_ms));
        ret = reply_json(c, rq, 503,
                         json_pack("{s:s,s:s,s:s}", "error", "No prover became free in time",
                                   "detail", tr_err_desc(r.err), "requestId", rq->id),
                         hdrs);
        goto out;
    }
    if (r.err == TR_ERR_PROVER_QUEUE_FULL) {
        metrics_count_queue_full();
        char ra[24];
        snprintf(ra, sizeof(ra), "%" PRIu64, s->cfg.retry_after_s);
        const char *hdrs[] = {"Retry-After", ra, NULL};
        tr_log(TR_LOG_WARN, "queue_full", "{s:s}", "requestId", rq->id);
        ret = reply_json(c, rq, 503,
                         json_pack("{s:s,s:s}", "error", "Prove queue is full, try again later",
                                   "requestId", rq->id),
                         hdrs);
        goto out;
    }
    if (r.err == TR_ERR_PROVER_CLIENT_GONE) {
        tr_log(TR_LOG_INFO, "client_gone_while_queued", "{s:s}", "requestId", rq->id);
        ret = MHD_NO;
        goto out;
    }
    if (!tr_ok(r)) {
        ret = reply_error(c, rq, 503, "Server is shutting down");
        goto out;
    }
    queued = true;
    uint64_t t0 = mono_ms();
    struct tr_slice plain;
    r = prove_body_decrypt(rq->pbody, &plain);
    uint64_t decrypt_ms = mono_ms() - t0;
    if (!tr_ok(r)) {
        ret = decrypt_failed(c, rq, r);
        goto out;
    }
    tr_log(TR_LOG_INFO, "prove_start", "{s:s,s:s,s:s,s:s,s:I}", "requestId", rq->id, "version",
           label, "digest", bb.digest, "scheme", scheme_name(scheme), "input_bytes",
           (json_int_t)plain.len);
    struct prove_request preq = {.scheme = scheme,
                                 .bb = &bb.bundle,
                                 .input = plain,
                                 .client_fd = fd,
                                 .deadline_ms = deadline,
                                 .cancel = &s->cancel};
    struct prover_env env = {.cfg = &s->cfg, .sbx = s->sbx, .work_parent = s->work_parent};
    r = prover_run(&env, &preq, &po);
    prove_queue_leave(&s->queue);
    queued = false;
    prove_body_free(rq->pbody); /* the plaintext is wiped once bb is done */
    rq->pbody = NULL;
    if (!tr_ok(r)) {
        ret = prover_error(c, rq, r, &po, label);
        goto out;
    }
    metrics_observe_prove(po.prove_ms);
    ret = reply_proof(c, rq, &po, decrypt_ms, label);
    /* total_ms: request head to queued response (includes reading the body). */
    tr_log(TR_LOG_INFO, "prove_done", "{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "requestId", rq->id,
           "version", label, "decrypt_ms", (json_int_t)decrypt_ms, "prove_ms",
           (json_int_t)po.prove_ms, "total_ms", (json_int_t)(mono_ms() - rq->t_start_ms),
           "body_bytes", (json_int_t)body_bytes, "proof_bytes", (json_int_t)po.proof.len);
out:
    if (queued)
        prove_queue_leave(&s->queue);
    prove_output_free(&po);
    prove_body_free(rq->pbody);
    rq->pbody = NULL;
    atomic_fetch_sub(&s->inflight, 1);
    return ret;
}
