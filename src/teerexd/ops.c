/* The routes every listener serves (OPTIONS, /health, /ready, /metrics) and
 * the operations API (OPS_LISTEN, for the EC2 parent only: never put it
 * behind the public proxy).
 *
 *   GET  /health   200 while the process serves; whether it can prove is in
 *                  "status" ("ok", "not_ready" with "reasons", "draining")
 *   GET  /ready    200 {"ready":true} when proofs can run and no drain is on,
 *                  else 503 with the status and the reasons
 *   GET  /metrics  Prometheus text (not served publicly when OPS_LISTEN is set)
 *   POST /drain    start draining: /ready answers 503, so a balancer that
 *                  checks it stops sending new clients; requests already here
 *                  (running, queued, and those of clients that attested here
 *                  before) are still served. `nitro-cli terminate-enclave`
 *                  sends teerexd no signal, so this is how the parent says
 *                  "finish your work": drain, wait for idle, then terminate.
 *   GET  /drain    {"draining":..,"idle":..,"open":N,"waiting":N,"active":N}
 *   DELETE /drain  stop draining (an aborted restart)
 * None of it gives the parent a power it lacks: it can terminate the
 * enclave at any time, and metrics count what it relays anyway. */
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "routes.h"
#include "teerex/limits.h"
#include "teerex/log.h"

enum MHD_Result route_options(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    (void)s;
    return reply_text(c, rq, 204, NULL, NULL, 0);
}

enum MHD_Result route_health(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    char def[TR_MAX_VERSION_LEN + 1];
    versions_default_name(&s->versions, def, sizeof(def));
    struct bb_version dv;
    bool has_def = versions_default(&s->versions, &dv);
    unsigned waiting, active;
    prove_queue_stats(&s->queue, &waiting, &active);
    json_t *reasons = NULL;
    const char *status = server_status(s, &reasons);
    return reply_json(c, rq, 200,
                      json_pack("{s:s,s:o,s:b,s:o,s:i,s:o,s:s,s:b,s:o,s:s,s:{s:i,s:i}}", "status",
                                status, "reasons", reasons, "draining", atomic_load(&s->draining),
                                "provers", readiness_provers_json(s), "api_version", 1,
                                "available_versions", versions_names_json(&s->versions), "tee_mode",
                                s->cfg.tee_mode, "default_prover", has_def, "default_version",
                                has_def ? json_string(def) : json_null(), "bb_policy",
                                bundle_policy_name(&s->policy), "queue", "waiting", (int)waiting,
                                "active", (int)active),
                      NULL);
}

enum MHD_Result route_ready(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    json_t *reasons = NULL;
    const char *status = server_status(s, &reasons);
    bool ready = strcmp(status, "ok") == 0;
    return reply_json(
        c, rq, ready ? 200 : 503,
        json_pack("{s:b,s:s,s:o}", "ready", ready, "status", status, "reasons", reasons), NULL);
}

enum MHD_Result route_metrics(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    unsigned waiting, active;
    prove_queue_stats(&s->queue, &waiting, &active);
    metrics_set_state(strcmp(server_status(s, NULL), "ok") == 0, atomic_load(&s->draining),
                      atomic_load(&s->prove_open));
    tr_result r = metrics_render(waiting, active, &b);
    if (!tr_ok(r)) { /* out of memory or over 1 MiB: the server's fault, a 500 */
        tr_buf_free(&b);
        tr_log_result(TR_LOG_ERROR, "metrics_failed", r);
        return reply_code(c, rq, TR_ERR_NOMEM);
    }
    size_t len = b.len;
    char *body = malloc(len ? len : 1);
    if (!body) {
        tr_buf_free(&b);
        return MHD_NO;
    }
    memcpy(body, b.data, len);
    tr_buf_free(&b);
    return reply_text(c, rq, 200, "text/plain; version=0.0.4", body, len);
}

static json_t *drain_state(struct server *s)
{
    unsigned waiting, active;
    prove_queue_stats(&s->queue, &waiting, &active);
    unsigned open = atomic_load(&s->prove_open);
    return json_pack("{s:b,s:b,s:i,s:i,s:i}", "draining", atomic_load(&s->draining), "idle",
                     open == 0, "open", (int)open, "waiting", (int)waiting, "active", (int)active);
}

enum MHD_Result route_drain(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    if (rq->method == ROUTE_M_POST) {
        if (!atomic_exchange(&s->draining, true))
            tr_log(TR_LOG_WARN, "drain_started", "{s:i}", "open", (int)atomic_load(&s->prove_open));
    } else if (rq->method == ROUTE_M_DELETE) {
        if (atomic_exchange(&s->draining, false))
            tr_log(TR_LOG_WARN, "drain_cancelled", NULL);
    }
    return reply_json(c, rq, 200, drain_state(s), NULL);
}
