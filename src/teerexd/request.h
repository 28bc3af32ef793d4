/* teerexd's two shared types: the server (configuration, keys, queue, the
 * daemons and what they count) and one HTTP request's context, plus the
 * small helpers every layer of the request path uses on them (request id,
 * the connection's descriptor, the MAX_INFLIGHT_BYTES budget). Nothing here
 * calls up into server.c or the routes. */
#ifndef TEEREXD_REQUEST_H
#define TEEREXD_REQUEST_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "attest_provider.h"
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
struct route_def;

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
    const struct route_def *def; /* the route table's entry (routes.h) */
    enum route route;            /* what metrics and logs call it */
    unsigned method;             /* one ROUTE_M_* bit (routes.h) */
    char id[80];
    unsigned status; /* of the answer queued, 0 before */
    enum listen_kind kind;
    bool prove_open; /* counted in srv->prove_open until completion */
    bool too_large;
    bool rejected;            /* a response was queued before the body ended */
    bool linger;              /* answered on the socket mid-body: close with a lingering close */
    uint64_t reserved;        /* bytes of s->inflight_bytes this request holds */
    struct prove_body *pbody; /* POST /prove: the body as it arrives (prove_body.h) */
    struct versions_upload *upload;
    uint64_t upload_bytes;
    int32_t upload_err;
    uint64_t t_start_ms; /* request head complete (tr_mono_ms) */
};

/* The client's X-Request-Id when it is a short token ([0-9A-Za-z._:-]{1,64}),
 * else a new random UUID. */
void request_id(struct MHD_Connection *c, char out[80]);

/* The connection's socket, -1 when MHD does not say. */
int connection_fd(struct MHD_Connection *c);

/* Reserves n more bytes of MAX_INFLIGHT_BYTES for rq (released by
 * request_release when the request ends); false when the budget would be
 * exceeded. */
bool inflight_reserve(struct server *s, struct request *rq, uint64_t n);
void request_release(struct request *rq);

#endif
