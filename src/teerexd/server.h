/* teerexd's shared state and the libmicrohttpd glue (server.c): per-request
 * context, JSON responses with X-Request-Id and CORS headers, connection
 * tracking for the request-head and request-body deadlines (slow clients),
 * answers given before a body was read (with a lingering close, lingering.h),
 * and the budget of /prove body bytes held at once (MAX_INFLIGHT_BYTES). */
#ifndef TEEREXD_SERVER_H
#define TEEREXD_SERVER_H

#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "attest_provider.h"
#include "client_addr.h"
#include "config.h"
#include "metrics.h"
#include "prove_queue.h"
#include "provision.h"
#include "rate_limit.h"
#include "readiness.h"
#include "versions.h"

struct pgp_key;
struct prove_body;
struct conn;
struct lingering;

/* Which listener a connection came in on: the public API, the admin API
 * (ADMIN_LISTEN) or the operations API for the parent (OPS_LISTEN: health,
 * readiness, metrics, drain). */
enum listen_kind { LISTEN_PUBLIC = 0, LISTEN_ADMIN, LISTEN_OPS };

struct server {
    struct config cfg;
    char work_parent[1024];
    struct sbx *sbx; /* the prover's sandbox */
    struct pgp_key *key;
    char *armored; /* armored public key, NUL-terminated */
    size_t armored_len;
    struct attest_provider *attest;
    struct bundle_policy policy; /* BB_POLICY + BB_ALLOWED_FILE */
    struct versions versions;
    struct provisioner prov; /* BB_PROVISION: on-demand versions */
    struct prove_queue queue;
    struct rate_limit *rl;
    struct MHD_Daemon *pub, *adm, *ops;
    atomic_bool stopping;   /* SIGTERM received */
    atomic_bool draining;   /* POST /drain: /ready says 503 so balancers stop sending */
    atomic_uint prove_open; /* POST /prove requests from head to completion (queued too) */
    struct readiness ready; /* start-up checks (readiness.h) */
    atomic_bool cancel;     /* grace period over: kill running provers */
    atomic_uint inflight;   /* /prove requests past the body */
    atomic_uint_fast64_t inflight_bytes; /* /prove body bytes reserved (MAX_INFLIGHT_BYTES) */
    struct lingering *linger;
    atomic_bool wd_stop; /* ends the watchdog (server_stop) */
    pthread_mutex_t conns_mu;
    struct conn *conns;
    pthread_t watchdog;
    bool watchdog_started;
};

struct request {
    struct server *srv;
    enum route route;
    char id[80];
    unsigned status;
    bool admin;
    enum listen_kind kind;
    bool prove_open; /* counted in srv->prove_open until completion */
    bool too_large;
    bool rejected;     /* a response was queued before the body ended */
    bool prove_body;   /* POST /prove: the only public body that is kept */
    uint64_t reserved; /* bytes of s->inflight_bytes this request holds */
    struct tr_buf body;
    struct prove_body *pbody; /* POST /prove: the body as it arrives (prove_body.h) */
    struct versions_upload *upload;
    uint64_t upload_bytes;
    int32_t upload_err;
    uint64_t t_start_ms; /* request head complete */
};

uint64_t mono_ms(void);

/* Starts the public and (when configured) admin daemons (no listen sockets:
 * listeners.c hands connections over) and the head-deadline watchdog. */
TR_RESULT server_start(struct server *s);
void server_stop(struct server *s);

/* Responses: obj is consumed. headers: NULL or {name, value, ..., NULL}. */
enum MHD_Result reply_json(struct MHD_Connection *c, struct request *rq, unsigned status,
                           json_t *obj, const char *const *headers);
enum MHD_Result reply_error(struct MHD_Connection *c, struct request *rq, unsigned status,
                            const char *message);
enum MHD_Result reply_text(struct MHD_Connection *c, struct request *rq, unsigned status,
                           const char *content_type, char *body, size_t len);
/* An error answered in the middle of a body (libmicrohttpd can only answer
 * after the whole body): written to the socket directly, then the connection
 * is closed with a lingering close. Returns MHD_NO (ends the request). */
enum MHD_Result reply_error_midbody(struct MHD_Connection *c, struct request *rq, unsigned status,
                                    const char *message, uint64_t retry_after_s);
/* Reserves n more bytes of MAX_INFLIGHT_BYTES for rq (released when the
 * request ends); false when the budget would be exceeded. */
bool inflight_reserve(struct server *s, struct request *rq, uint64_t n);

int connection_fd(struct MHD_Connection *c);

/* Route handlers (routes_public.c, routes_prove.c, admin.c). */
enum MHD_Result route_public(struct server *s, struct MHD_Connection *c, struct request *rq,
                             const char *url, const char *method);
enum MHD_Result route_prove_first(struct server *s, struct MHD_Connection *c, struct request *rq,
                                  const char *method);
enum MHD_Result route_prove_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                 const char *data, size_t n);
enum MHD_Result route_prove(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_admin(struct server *s, struct MHD_Connection *c, struct request *rq,
                            const char *url, const char *method);
/* ops.c: the operations API, and the status /health reports everywhere. */
enum MHD_Result route_ops(struct server *s, struct MHD_Connection *c, struct request *rq,
                          const char *method);
enum MHD_Result route_health(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_ready(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_metrics(struct server *s, struct MHD_Connection *c, struct request *rq);
/* The routes every listener serves: OPTIONS, GET /health, GET /ready and,
 * when metrics is true, GET /metrics. True (and *ret set) when it answered. */
bool route_common(struct server *s, struct MHD_Connection *c, struct request *rq,
                  const char *method, bool metrics, enum MHD_Result *ret);
/* "ok", "not_ready" or "draining"; reasons (may be NULL) gets a new array. */
const char *server_status(struct server *s, json_t **reasons);
enum MHD_Result route_admin_first(struct server *s, struct MHD_Connection *c, struct request *rq,
                                  const char *url, const char *method);
enum MHD_Result route_admin_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                 const char *data, size_t n);

#endif
