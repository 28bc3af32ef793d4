/* Answers: JSON and text responses with X-Request-Id and the CORS headers,
 * the one mapping from an error to its HTTP status (status_of) and the one
 * way to answer a failure (reply_result). Below the routes: it calls
 * nothing of teerexd but request.h. */
#ifndef TEEREXD_REPLY_H
#define TEEREXD_REPLY_H

#include <jansson.h>
#include <microhttpd.h>

#include "request.h"
#include "teerex/result.h"

/* The HTTP status a failure is answered with: by its category (INPUT and
 * CRYPTO 400, LIMIT 413, BUSY 503, anything else 500), except for the short
 * list of codes in reply.c that say otherwise (404, 403, 429, ...).
 * 0 for TR_ERR_PROVER_CLIENT_GONE: nobody is left to answer. */
unsigned status_of(int32_t err);

/* Extras of an error answer; every field may be NULL. message replaces the
 * code's own (a message built from the request, e.g. naming versions). */
struct reply_opts {
    const char *message;
    const char *detail;         /* "detail" of the JSON body */
    const char *const *headers; /* {name, value, ..., NULL} */
};

/* Answers the failure r: status_of(r.err), {"error": the code's message,
 * ["detail": ...,] "requestId": ...}, Retry-After (RETRY_AFTER_S) where the
 * code says to come back later. Returns MHD_NO for TR_ERR_PROVER_CLIENT_GONE
 * (the connection is dropped unanswered). */
enum MHD_Result reply_result_opts(struct MHD_Connection *c, struct request *rq, tr_result r,
                                  const struct reply_opts *o);
static inline enum MHD_Result reply_result(struct MHD_Connection *c, struct request *rq,
                                           tr_result r)
{
    return reply_result_opts(c, rq, r, NULL);
}
/* The answer for a failure detected by the caller itself (a check). */
static inline enum MHD_Result reply_code(struct MHD_Connection *c, struct request *rq, int32_t err)
{
    return reply_result_opts(c, rq, (tr_result){err}, NULL);
}
/* The same answer in the middle of a body (libmicrohttpd can only answer
 * after the whole body): written to the socket directly; rq->linger asks
 * server.c for a lingering close. Returns MHD_NO (ends the request). */
enum MHD_Result reply_result_midbody(struct MHD_Connection *c, struct request *rq, tr_result r);

/* Success answers: obj is consumed. headers: NULL or {name, value, ..., NULL}. */
enum MHD_Result reply_json(struct MHD_Connection *c, struct request *rq, unsigned status,
                           json_t *obj, const char *const *headers);
/* body (malloc'ed, consumed) may be NULL for an empty answer. */
enum MHD_Result reply_text(struct MHD_Connection *c, struct request *rq, unsigned status,
                           const char *content_type, char *body, size_t len);

/* A failure's code with its message, for the tests and the docs. */
const char *reply_message_of(int32_t err);

#endif
