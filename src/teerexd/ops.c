/* The operations API (OPS_LISTEN, for the EC2 parent only: never put it
 * behind the public proxy) and the status every /health reports.
 *
 *   GET  /health   the same body as the public /health
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
#include <string.h>

#include "server.h"
#include "teerex/log.h"

const char *server_status(struct server *s, json_t **reasons)
{
    bool ready = readiness_ok(s, reasons);
    if (!ready)
        return "not_ready";
    if (atomic_load(&s->draining))
        return "draining";
    return "ok";
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

static json_t *drain_state(struct server *s)
{
    unsigned waiting, active;
    prove_queue_stats(&s->queue, &waiting, &active);
    unsigned open = atomic_load(&s->prove_open);
    return json_pack("{s:b,s:b,s:i,s:i,s:i}", "draining", atomic_load(&s->draining), "idle",
                     open == 0, "open", (int)open, "waiting", (int)waiting, "active", (int)active);
}

static enum MHD_Result drain(struct server *s, struct MHD_Connection *c, struct request *rq,
                             const char *method)
{
    if (strcmp(method, "POST") == 0) {
        if (!atomic_exchange(&s->draining, true))
            tr_log(TR_LOG_WARN, "drain_started", "{s:i}", "open", (int)atomic_load(&s->prove_open));
    } else if (strcmp(method, "DELETE") == 0) {
        if (atomic_exchange(&s->draining, false))
            tr_log(TR_LOG_WARN, "drain_cancelled", NULL);
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        rq->route = ROUTE_NOT_FOUND;
        return reply_error(c, rq, 404, "Not found");
    }
    return reply_json(c, rq, 200, drain_state(s), NULL);
}

bool route_common(struct server *s, struct MHD_Connection *c, struct request *rq,
                  const char *method, bool metrics, enum MHD_Result *ret)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (rq->route == ROUTE_OPTIONS)
        *ret = reply_text(c, rq, 204, NULL, NULL, 0);
    else if (rq->route == ROUTE_HEALTH && get)
        *ret = route_health(s, c, rq);
    else if (rq->route == ROUTE_READY && get)
        *ret = route_ready(s, c, rq);
    else if (rq->route == ROUTE_METRICS && get && metrics)
        *ret = route_metrics(s, c, rq);
    else
        return false;
    return true;
}

enum MHD_Result route_ops(struct server *s, struct MHD_Connection *c, struct request *rq,
                          const char *method)
{
    enum MHD_Result ret;
    if (rq->route == ROUTE_DRAIN)
        return drain(s, c, rq, method);
    if (route_common(s, c, rq, method, true, &ret))
        return ret;
    rq->route = ROUTE_NOT_FOUND;
    return reply_error(c, rq, 404, "Not found");
}
