/* POST /prove: rate limit, body limit and MAX_INFLIGHT_BYTES (from the head,
 * before the body), the body read (and, in the SDK's shape, decrypted) as it
 * arrives (prove_body.h), its JSON verdict, prover version, readiness, queue,
 * the decryption's verdict (with a prover slot), prover, {"proof":
 * base64(4-byte BE field count + proof)} (PROTOCOL.md). Each step returns a tr_result; the first
 * failure is the answer (reply_result: its status comes from status_of). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_addr.h"
#include "prove_body.h"
#include "prover.h"
#include "reply.h"
#include "routes.h"
#include "teerex/clock.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/limits.h"
#include "teerex/log.h"
#include "teerex/pgp.h"

/* The checks of the head, in order; the first failure is answered before
 * any body byte is read. */
static tr_result prove_head(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    /* After SIGTERM the listeners are closed; a kept-alive connection may
     * still bring a new request: refused, the accepted ones are finishing. */
    if (atomic_load(&s->stopping))
        TR_BAIL(TR_ERR_PROVER_SHUTDOWN);
    rq->prove_open = true; /* drain and shutdown wait for it (server.c: completed) */
    atomic_fetch_add(&s->prove_open, 1);
    struct client_addr who;
    client_addr_of(s, c, &who);
    if (!who.local && !rate_limit_hit(s->rl, who.key, tr_mono_ms())) {
        metrics_count_rate_limited();
        tr_log(TR_LOG_WARN, "rate_limited", "{s:s,s:s}", "requestId", rq->id, "client", who.text);
        TR_BAIL(TR_ERR_HTTP_RATE_LIMITED);
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t n = 0;
    if (cl && tr_ok(tr_parse_u64(cl, UINT64_MAX, &n)) && n > s->cfg.max_body_bytes) {
        rq->too_large = true;
        tr_log(TR_LOG_WARN, "body_too_large", "{s:s,s:I}", "requestId", rq->id, "length",
               (json_int_t)(n > INT64_MAX ? INT64_MAX : n));
        TR_BAIL(TR_ERR_HTTP_BODY_TOO_LARGE);
    }
    /* A declared length is reserved whole now; a chunked body as it comes. */
    if (n > 0 && !inflight_reserve(s, rq, n)) {
        metrics_count_cut(CUT_INFLIGHT_BYTES);
        tr_log(TR_LOG_WARN, "inflight_bytes_full", "{s:s,s:I}", "requestId", rq->id, "length",
               (json_int_t)n);
        TR_BAIL(TR_ERR_HTTP_INFLIGHT_FULL);
    }
    if (!tr_ok(prove_body_new(s->key, n, s->cfg.max_body_bytes, &rq->pbody)))
        TR_BAIL(TR_ERR_NOMEM);
    return TR_SUCCESS;
}

enum MHD_Result route_prove_first(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    tr_result r = prove_head(s, c, rq);
    if (!tr_ok(r)) {
        rq->rejected = true;
        return reply_result(c, rq, r);
    }
    return MHD_YES;
}

/* Body bytes: within the body limit; what the body holds now (the text
 * kept, or the plaintext decrypted so far) within MAX_INFLIGHT_BYTES. */
static tr_result prove_append(struct server *s, struct request *rq, const char *data, size_t n)
{
    if (prove_body_received(rq->pbody) + n > s->cfg.max_body_bytes) {
        rq->too_large = true;
        tr_log(TR_LOG_WARN, "body_too_large", "{s:s,s:s}", "requestId", rq->id, "framing",
               "chunked");
        TR_BAIL(TR_ERR_HTTP_BODY_TOO_LARGE);
    }
    tr_result r = prove_body_feed(rq->pbody, data, n);
    uint64_t held = prove_body_held(rq->pbody);
    if (tr_ok(r) && held > rq->reserved && !inflight_reserve(s, rq, held - rq->reserved)) {
        metrics_count_cut(CUT_INFLIGHT_BYTES);
        TR_BAIL(TR_ERR_HTTP_INFLIGHT_FULL);
    }
    if (!tr_ok(r))
        TR_BAIL(TR_ERR_NOMEM); /* prove_body_feed fails only on memory */
    return TR_SUCCESS;
}

enum MHD_Result route_prove_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                 const char *data, size_t n)
{
    tr_result r = prove_append(s, rq, data, n);
    if (tr_ok(r))
        return MHD_YES;
    prove_body_free(rq->pbody);
    rq->pbody = NULL;
    return reply_result_midbody(c, rq, r);
}

/* What one POST /prove carries from step to step, and what its answer needs
 * besides the failure's code. */
struct prove_job {
    enum scheme scheme;
    struct bb_version bb;
    char label[160];       /* x-prover-version */
    tr_result body_err;    /* a body that parsed as JSON but will not decrypt */
    struct tr_slice plain; /* the prover's input, in rq->pbody */
    struct prove_output po;
    size_t body_bytes;
    uint64_t decrypt_ms, deadline;
    int fd;
    bool queued;
    /* the answer of a failure, when the code's own is not all */
    char message[1800];
    char detail[READINESS_REASON_MAX];
    bool label_header; /* x-prover-version on the error too */
};

static tr_result check_scheme(struct server *s, struct MHD_Connection *c, struct request *rq,
                              struct prove_job *job)
{
    if (rq->too_large)
        TR_BAIL(TR_ERR_HTTP_BODY_TOO_LARGE);
    const char *sch = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-prover-scheme");
    if (!scheme_parse(sch, &job->scheme))
        TR_BAIL(TR_ERR_HTTP_BAD_SCHEME);
    if (!(job->scheme == SCHEME_CHONK ? s->cfg.serve_chonk : s->cfg.serve_ultra_honk))
        TR_BAIL(TR_ERR_HTTP_SCHEME_NOT_SERVED);
    return TR_SUCCESS;
}

/* The JSON body's shape is judged now (400s, as the reference does); data
 * that does not decode fails later, at "decryption", as the reference's. */
static tr_result parse_body(struct server *s, struct request *rq, struct prove_job *job)
{
    /* An empty body never called route_prove_data. */
    if (!rq->pbody && !tr_ok(prove_body_new(s->key, 0, s->cfg.max_body_bytes, &rq->pbody)))
        TR_BAIL(TR_ERR_NOMEM);
    job->body_bytes = prove_body_received(rq->pbody);
    tr_result r = prove_body_judge(rq->pbody);
    if (r.err == TR_ERR_HTTP_BODY_NOT_JSON || r.err == TR_ERR_HTTP_BODY_BAD_SHAPE)
        return r;
    job->body_err = r;
    return TR_SUCCESS;
}

/* A version that is not there: its own message naming the versions there
 * are; a 400 when it does not exist or may not run here, a 503 when it could
 * not be had now. */
static tr_result unavailable(struct server *s, struct request *rq, struct prove_job *job,
                             const char *want, tr_result r, const char *why)
{
    char names[1024];
    versions_names(&s->versions, names, sizeof(names));
    bool gone = r.err == TR_OK || r.err == TR_ERR_BUNDLE_PROVISION_UNKNOWN ||
                r.err == TR_ERR_BUNDLE_NOT_ALLOWED;
    if (r.err == TR_OK)
        snprintf(job->message, sizeof(job->message),
                 "Unsupported x-aztec-version %s; available versions: [%s]", want, names);
    else if (gone)
        snprintf(job->message, sizeof(job->message),
                 "Unsupported x-aztec-version %s: %s; available versions: [%s]", want, why, names);
    else
        snprintf(job->message, sizeof(job->message),
                 "Prover version %s could not be provisioned: %s; available versions: [%s]", want,
                 why, names);
    tr_log(TR_LOG_WARN, "version_unavailable", "{s:s,s:s,s:s}", "requestId", rq->id, "requested",
           want, "error", tr_err_name(r.err));
    TR_BAIL(gone ? TR_ERR_PROVER_UNKNOWN_VERSION : TR_ERR_PROVER_VERSION_UNAVAILABLE);
}

static tr_result not_ready(struct request *rq, struct prove_job *job, const char *why)
{
    snprintf(job->detail, sizeof(job->detail), "%s", why);
    tr_log(TR_LOG_WARN, "not_ready", "{s:s,s:s}", "requestId", rq->id, "reason", why);
    TR_BAIL(TR_ERR_PROVER_NOT_READY);
}

/* The prover for the request: the version x-aztec-version names, else the
 * default. A named version that is not installed is asked from the host's
 * provisioning service (BB_PROVISION; not for a body that cannot be
 * decrypted anyway), which the request waits for; if it cannot be had the
 * answer is an error naming the versions there are. Only
 * BB_VERSION_FALLBACK=1 proves it with the default instead (and says so in
 * x-prover-version). */
static tr_result pick_binary(struct server *s, struct MHD_Connection *c, struct request *rq,
                             struct prove_job *job)
{
    const char *want = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-aztec-version");
    struct bb_version *bb = &job->bb;
    if (want && *want) {
        if (!tr_ok(http_version_validate(want))) {
            tr_log(TR_LOG_WARN, "bad_version_string", "{s:s}", "requestId", rq->id);
            TR_BAIL(TR_ERR_HTTP_BAD_VERSION_STRING);
        }
        tr_result r = TR_SUCCESS;
        char why[512] = "";
        bool have = versions_lookup(&s->versions, want, bb);
        if (!have && tr_ok(job->body_err) && s->prov.enabled && bundle_version_valid(want)) {
            r = provision_version(&s->prov, want, rq->t_start_ms + s->cfg.prove_timeout_ms, why,
                                  sizeof(why));
            have = tr_ok(r) && versions_lookup(&s->versions, want, bb);
            if (have)
                readiness_run(s); /* a new prover: check that it runs, update /health */
        }
        if (have) {
            snprintf(job->label, sizeof(job->label), "%s", want);
            return TR_SUCCESS;
        }
        if (!s->cfg.bb_version_fallback)
            return unavailable(s, rq, job, want, r, why);
    }
    if (!versions_default(&s->versions, bb)) {
        tr_log(TR_LOG_ERROR, "no_prover_binary", "{s:s}", "requestId", rq->id);
        json_t *reasons = NULL;
        bool ready = readiness_ok(s, &reasons);
        const char *why = json_string_value(json_array_get(reasons, 0));
        tr_result r = !ready && why ? not_ready(rq, job, why) /* the check said why */
                                    : tr_fail_at(TR_ERR_PROVER_NO_BINARY, __FILE__, __LINE__);
        json_decref(reasons);
        return r;
    }
    if (want && *want) {
        snprintf(job->label, sizeof(job->label), "%s (requested %s not available)", bb->version,
                 want);
        tr_log(TR_LOG_WARN, "version_fallback", "{s:s,s:s,s:s}", "requestId", rq->id, "requested",
               want, "used", bb->version);
    } else {
        snprintf(job->label, sizeof(job->label), "%s", bb->version);
    }
    return TR_SUCCESS;
}

/* What the start-up checks found missing fails here at once, with the
 * reason, instead of in bb after it tried to download a CRS. */
static tr_result check_ready(struct server *s, struct request *rq, struct prove_job *job)
{
    char why[READINESS_REASON_MAX];
    if (!readiness_for(s, job->scheme, job->bb.version, why, sizeof(why)))
        return not_ready(rq, job, why);
    return TR_SUCCESS;
}

static tr_result decrypt_failed(struct request *rq, tr_result r)
{
    metrics_count_decrypt_failure();
    tr_log(TR_LOG_WARN, "decrypt_failed", "{s:s,s:s}", "requestId", rq->id, "error",
           tr_err_name(r.err));
    TR_BAIL(TR_ERR_HTTP_DECRYPT_FAILED);
}

/* Wait for a prover slot holding what the body left (the ciphertext, or the
 * plaintext streamed so far: within the body's MAX_INFLIGHT_BYTES
 * reservation); the decryption's verdict and what remains of it (the last
 * chunk and tags, or all of a buffered or compressed message) once the slot
 * is ours, so what decompresses is bounded by PROVE_CONCURRENCY inputs, and
 * decryption errors come where they came before. PROVE_TIMEOUT
 * runs from the request's arrival: a request that cannot get a prover in
 * time is told so (503) before its client gives up. */
static tr_result enter_queue(struct server *s, struct request *rq, struct prove_job *job)
{
    tr_result r = prove_queue_enter_by(&s->queue, job->fd, job->deadline);
    switch (r.err) {
    case TR_OK: job->queued = true; return r;
    case TR_ERR_PROVER_QUEUE_TIMEOUT:
        metrics_count_queue_timeout();
        tr_log(TR_LOG_WARN, "queue_timeout", "{s:s,s:I}", "requestId", rq->id, "waited_ms",
               (json_int_t)(tr_mono_ms() - rq->t_start_ms));
        snprintf(job->detail, sizeof(job->detail), "%s", tr_err_desc(r.err));
        return r;
    case TR_ERR_PROVER_QUEUE_FULL:
        metrics_count_queue_full();
        tr_log(TR_LOG_WARN, "queue_full", "{s:s}", "requestId", rq->id);
        return r;
    case TR_ERR_PROVER_CLIENT_GONE: /* status_of: no answer, the connection is dropped */
        tr_log(TR_LOG_INFO, "client_gone_while_queued", "{s:s}", "requestId", rq->id);
        return r;
    default: TR_BAIL(TR_ERR_PROVER_SHUTDOWN);
    }
}

static tr_result decrypt(struct request *rq, struct prove_job *job)
{
    uint64_t t0 = tr_mono_ms();
    tr_result r = prove_body_decrypt(rq->pbody, &job->plain);
    job->decrypt_ms = tr_mono_ms() - t0;
    if (!tr_ok(r))
        return decrypt_failed(rq, r);
    return TR_SUCCESS;
}

/* A failed proof: logged with the tail of the prover's output; the answer
 * says why (and bb's exit code) but never bb's output. */
static tr_result prover_failed(struct request *rq, struct prove_job *job, tr_result r)
{
    struct prove_output *po = &job->po;
    if (r.err == TR_ERR_PROVER_CLIENT_GONE) {
        tr_log(TR_LOG_INFO, "client_gone_while_proving", "{s:s}", "requestId", rq->id);
        return r;
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
           tr_err_name(r.err), "version", job->label, "exit_code", po->exit_code, "prove_ms",
           (json_int_t)po->prove_ms, "output_tail", t ? t : "");
    free(t);
    if (r.err == TR_ERR_PROVER_SHUTDOWN)
        return r;
    if (input_error)
        TR_BAIL(TR_ERR_PROVER_INPUT_REJECTED);
    /* The reason and the prover's exit code help the client's operator; bb's
     * own output stays in the server log (prove_failed above). */
    if (r.err == TR_ERR_PROVER_EXIT)
        snprintf(job->detail, sizeof(job->detail), "%s (exit code %d)", tr_err_desc(r.err),
                 po->exit_code);
    else
        snprintf(job->detail, sizeof(job->detail), "%s", tr_err_desc(r.err));
    snprintf(job->message, sizeof(job->message), "Proof generation failed");
    job->label_header = true;
    /* Whatever the cause's category, a proof that failed here is a 500. */
    return status_of(r.err) == 500 ? r : tr_fail_at(TR_ERR_PROVER_EXIT, __FILE__, __LINE__);
}

static tr_result run_prover(struct server *s, struct request *rq, struct prove_job *job)
{
    tr_log(TR_LOG_INFO, "prove_start", "{s:s,s:s,s:s,s:s,s:I}", "requestId", rq->id, "version",
           job->label, "digest", job->bb.digest, "scheme", scheme_name(job->scheme), "input_bytes",
           (json_int_t)job->plain.len);
    struct prove_request preq = {.scheme = job->scheme,
                                 .bb = &job->bb.bundle,
                                 .input = job->plain,
                                 .client_fd = job->fd,
                                 .deadline_ms = job->deadline,
                                 .cancel = &s->cancel};
    struct prover_env env = {.cfg = &s->cfg, .sbx = s->sbx, .work_parent = s->work_parent};
    tr_result r = prover_run(&env, &preq, &job->po);
    prove_queue_leave(&s->queue);
    job->queued = false;
    prove_body_free(rq->pbody); /* the plaintext is wiped once bb is done */
    rq->pbody = NULL;
    job->plain = (struct tr_slice){0};
    if (!tr_ok(r))
        return prover_failed(rq, job, r);
    metrics_observe_prove(job->po.prove_ms);
    return TR_SUCCESS;
}

static tr_result prove_steps(struct server *s, struct MHD_Connection *c, struct request *rq,
                             struct prove_job *job)
{
    TR_GUARD(check_scheme(s, c, rq, job));
    TR_GUARD(parse_body(s, rq, job));
    /* The body's shape first (400s), as the reference; only then whether a
     * prover is there for this request, then whether the data decodes. */
    TR_GUARD(pick_binary(s, c, rq, job));
    TR_GUARD(check_ready(s, rq, job));
    if (!tr_ok(job->body_err))
        return decrypt_failed(rq, job->body_err); /* bad base64 */
    TR_GUARD(enter_queue(s, rq, job));
    TR_GUARD(decrypt(rq, job));
    return run_prover(s, rq, job);
}

static enum MHD_Result reply_proof(struct MHD_Connection *c, struct request *rq,
                                   struct prove_job *job)
{
    struct prove_output *po = &job->po;
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
        ret = reply_code(c, rq, TR_ERR_NOMEM);
        goto out;
    }
    if (po->vk.len)
        json_object_set_new(o, "vk", json_string((const char *)vk64.data));
    if (po->public_inputs.len)
        json_object_set_new(o, "publicInputs", json_string((const char *)pi64.data));
    char dms[24], pms[24];
    snprintf(dms, sizeof(dms), "%" PRIu64, job->decrypt_ms);
    snprintf(pms, sizeof(pms), "%" PRIu64, po->prove_ms);
    const char *hdrs[] = {"x-decrypt-duration-ms",
                          dms,
                          "x-prove-duration-ms",
                          pms,
                          "x-prover-version",
                          job->label,
                          NULL};
    ret = reply_json(c, rq, 200, o, hdrs);
out:
    tr_buf_free(&p64);
    tr_buf_free(&vk64);
    tr_buf_free(&pi64);
    return ret;
}

enum MHD_Result route_prove(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    struct prove_job job = {.fd = connection_fd(c),
                            .deadline = rq->t_start_ms + s->cfg.prove_timeout_ms};
    prove_output_init(&job.po);
    atomic_fetch_add(&s->inflight, 1);
    enum MHD_Result ret;
    tr_result r = prove_steps(s, c, rq, &job);
    if (tr_ok(r)) {
        ret = reply_proof(c, rq, &job);
        /* total_ms: request head to queued response (includes reading the body). */
        tr_log(TR_LOG_INFO, "prove_done", "{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "requestId", rq->id,
               "version", job.label, "decrypt_ms", (json_int_t)job.decrypt_ms, "prove_ms",
               (json_int_t)job.po.prove_ms, "total_ms", (json_int_t)(tr_mono_ms() - rq->t_start_ms),
               "body_bytes", (json_int_t)job.body_bytes, "proof_bytes",
               (json_int_t)job.po.proof.len);
    } else {
        const char *hdrs[] = {"x-prover-version", job.label, NULL};
        struct reply_opts o = {.message = job.message[0] ? job.message : NULL,
                               .detail = job.detail[0] ? job.detail : NULL,
                               .headers = job.label_header ? hdrs : NULL};
        ret = reply_result_opts(c, rq, r, &o);
    }
    if (job.queued)
        prove_queue_leave(&s->queue);
    prove_output_free(&job.po);
    prove_body_free(rq->pbody);
    rq->pbody = NULL;
    atomic_fetch_sub(&s->inflight, 1);
    return ret;
}
