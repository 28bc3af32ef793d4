/* The route table (routes.h). Order matters: the first match wins. What is
 * not here answers 404 once its body is read; a /prove with another method
 * is refused from its head, so its body is never read. */
#include <string.h>

#include "reply.h"
#include "routes.h"

#define GET_HEAD (ROUTE_M_GET | ROUTE_M_HEAD)

static const struct route_def ROUTES[] = {
    /* path, methods, listeners, id, first, data, done */
    {NULL, ROUTE_M_OPTIONS, ROUTE_ON_ALL, ROUTE_OPTIONS, NULL, NULL, route_options},
    {"/health", GET_HEAD, ROUTE_ON_ALL, ROUTE_HEALTH, NULL, NULL, route_health},
    {"/ready", GET_HEAD, ROUTE_ON_ALL, ROUTE_READY, NULL, NULL, route_ready},
    /* With an ops listener, metrics are for the parent only, never on the
     * public listeners (reachable through the proxy from anywhere). */
    {"/metrics", GET_HEAD, ROUTE_ON_ADMIN | ROUTE_ON_OPS | ROUTE_ON_PUBLIC_UNLESS_OPS,
     ROUTE_METRICS, NULL, NULL, route_metrics},
    {"/drain", GET_HEAD | ROUTE_M_POST | ROUTE_M_DELETE, ROUTE_ON_OPS, ROUTE_DRAIN, NULL, NULL,
     route_drain},
    {"/upload-bb", ROUTE_M_POST, ROUTE_ON_ADMIN, ROUTE_UPLOAD_BB, route_upload_first,
     route_upload_data, route_upload_done},
    {"/admin/versions", ROUTE_M_GET, ROUTE_ON_ADMIN, ROUTE_ADMIN_VERSIONS, NULL, NULL,
     route_admin_versions},
    {"/attestation", GET_HEAD, ROUTE_ON_PUBLIC, ROUTE_ATTESTATION, NULL, NULL, route_attestation},
    {"/public-key", GET_HEAD, ROUTE_ON_PUBLIC, ROUTE_PUBLIC_KEY, NULL, NULL, route_public_key},
    {"/encryption-public-key", GET_HEAD, ROUTE_ON_PUBLIC, ROUTE_ENC_PUBLIC_KEY, NULL, NULL,
     route_public_key},
    {"/prove", ROUTE_M_POST, ROUTE_ON_PUBLIC, ROUTE_PROVE, route_prove_first, route_prove_data,
     route_prove},
    {"/prove", ROUTE_M_ANY & ~ROUTE_M_POST, ROUTE_ON_PUBLIC, ROUTE_NOT_FOUND, route_not_found, NULL,
     NULL},
};

static const struct route_def NOT_FOUND = {NULL, ROUTE_M_ANY, ROUTE_ON_ALL,   ROUTE_NOT_FOUND,
                                           NULL, NULL,        route_not_found};

unsigned route_method_bit(const char *method)
{
    static const struct {
        const char *name;
        unsigned bit;
    } M[] = {{"GET", ROUTE_M_GET}, {"HEAD", ROUTE_M_HEAD},     {"POST", ROUTE_M_POST},
             {"PUT", ROUTE_M_PUT}, {"DELETE", ROUTE_M_DELETE}, {"OPTIONS", ROUTE_M_OPTIONS}};
    for (size_t i = 0; method && i < sizeof(M) / sizeof(M[0]); i++) {
        if (strcmp(method, M[i].name) == 0)
            return M[i].bit;
    }
    return ROUTE_M_OTHER;
}

static bool serves(const struct route_def *r, enum listen_kind kind, bool has_ops)
{
    if (r->on & (1u << kind))
        return true;
    return kind == LISTEN_PUBLIC && (r->on & ROUTE_ON_PUBLIC_UNLESS_OPS) && !has_ops;
}

const struct route_def *route_find(const char *path, const char *method, enum listen_kind kind,
                                   bool has_ops)
{
    unsigned m = route_method_bit(method);
    for (size_t i = 0; i < sizeof(ROUTES) / sizeof(ROUTES[0]); i++) {
        const struct route_def *r = &ROUTES[i];
        if ((r->methods & m) && serves(r, kind, has_ops) &&
            (!r->path || (path && strcmp(r->path, path) == 0)))
            return r;
    }
    return &NOT_FOUND;
}

/* 404, from the head (the body is then not read) or after the body. */
enum MHD_Result route_not_found(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    (void)s;
    rq->rejected = true;
    rq->route = ROUTE_NOT_FOUND;
    return reply_code(c, rq, TR_ERR_HTTP_NOT_FOUND);
}
