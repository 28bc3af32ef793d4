/* The route table: which path and method each listener serves, and the
 * handlers server.c calls for it (routes.c holds the table, the handlers
 * live in routes_public.c, routes_prove.c, admin.c and ops.c). A handler
 * answers through reply.h and never calls back into server.c. */
#ifndef TEEREXD_ROUTES_H
#define TEEREXD_ROUTES_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"

/* Methods, one bit each (a route lists those it serves). */
enum {
    ROUTE_M_GET = 1u << 0,
    ROUTE_M_HEAD = 1u << 1,
    ROUTE_M_POST = 1u << 2,
    ROUTE_M_PUT = 1u << 3,
    ROUTE_M_DELETE = 1u << 4,
    ROUTE_M_OPTIONS = 1u << 5,
    ROUTE_M_OTHER = 1u << 6, /* PATCH, CONNECT, anything else */
    ROUTE_M_ANY = (1u << 7) - 1,
};
unsigned route_method_bit(const char *method);

/* Listeners, one bit each; ON_PUBLIC_UNLESS_OPS: the public listeners only
 * while no ops listener (OPS_LISTEN) is configured. */
enum {
    ROUTE_ON_PUBLIC = 1u << LISTEN_PUBLIC,
    ROUTE_ON_ADMIN = 1u << LISTEN_ADMIN,
    ROUTE_ON_OPS = 1u << LISTEN_OPS,
    ROUTE_ON_ALL = ROUTE_ON_PUBLIC | ROUTE_ON_ADMIN | ROUTE_ON_OPS,
    ROUTE_ON_PUBLIC_UNLESS_OPS = 1u << 3,
};

/* first: the head is complete, before any body byte (may answer: a refusal
 * then ends the request with rq->rejected set). data: body bytes (NULL: the
 * body is discarded). done: the body is complete; answers. */
typedef enum MHD_Result (*route_first_fn)(struct server *s, struct MHD_Connection *c,
                                          struct request *rq);
typedef enum MHD_Result (*route_data_fn)(struct server *s, struct MHD_Connection *c,
                                         struct request *rq, const char *data, size_t n);
typedef enum MHD_Result (*route_done_fn)(struct server *s, struct MHD_Connection *c,
                                         struct request *rq);

struct route_def {
    const char *path; /* NULL: every path */
    unsigned methods; /* ROUTE_M_* */
    unsigned on;      /* ROUTE_ON_* */
    enum route id;    /* metrics and logs */
    route_first_fn first;
    route_data_fn data;
    route_done_fn done;
};

/* The first entry of the table that serves path and method on a listener of
 * this kind; the not-found route (404, id ROUTE_NOT_FOUND) when none does.
 * has_ops: an ops listener is configured. Never NULL. */
const struct route_def *route_find(const char *path, const char *method, enum listen_kind kind,
                                   bool has_ops);

/* Handlers (the table in routes.c names them). */
enum MHD_Result route_not_found(struct server *s, struct MHD_Connection *c, struct request *rq);
/* routes_public.c */
enum MHD_Result route_attestation(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_public_key(struct server *s, struct MHD_Connection *c, struct request *rq);
/* routes_prove.c */
enum MHD_Result route_prove_first(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_prove_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                 const char *data, size_t n);
enum MHD_Result route_prove(struct server *s, struct MHD_Connection *c, struct request *rq);
/* admin.c */
enum MHD_Result route_upload_first(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_upload_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                  const char *data, size_t n);
enum MHD_Result route_upload_done(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_admin_versions(struct server *s, struct MHD_Connection *c,
                                     struct request *rq);
/* ops.c: the routes every listener serves, and the operations API */
enum MHD_Result route_options(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_health(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_ready(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_metrics(struct server *s, struct MHD_Connection *c, struct request *rq);
enum MHD_Result route_drain(struct server *s, struct MHD_Connection *c, struct request *rq);

#endif
