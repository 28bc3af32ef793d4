/* Answers (reply.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "reply.h"
#include "teerex/clock.h"

/* Each failure a route reports: its status when the category's is not the
 * one (status != 0), the client's message, and whether a busy client is told
 * when to come back (Retry-After). The messages are the protocol's
 * (docs/PROTOCOL.md and the TypeScript server's): clients and tests read them. */
enum { RETRY = 1u };
struct answer {
    int32_t err;
    unsigned status;
    const char *message;
    unsigned flags;
};
static const struct answer ANSWERS[] = {
    {TR_ERR_HTTP_NOT_FOUND, 404, "Not found", 0},
    {TR_ERR_HTTP_CONFLICTING_LENGTH, 0, "Conflicting Content-Length headers", 0},
    {TR_ERR_HTTP_LENGTH_AND_CHUNKED, 0, "Content-Length together with Transfer-Encoding", 0},
    {TR_ERR_HTTP_BAD_TRANSFER_ENCODING, 0, "Unsupported Transfer-Encoding (only chunked)", 0},
    {TR_ERR_HTTP_RATE_LIMITED, 429, "Too many prove requests, try again later", 0},
    {TR_ERR_HTTP_BODY_TOO_LARGE, 0, "Request body too large", 0},
    {TR_ERR_HTTP_INFLIGHT_FULL, 0, "Server busy, try again later", RETRY},
    {TR_ERR_HTTP_BAD_SCHEME, 0, "Unknown x-prover-scheme (expected chonk or ultra_honk)", 0},
    {TR_ERR_HTTP_SCHEME_NOT_SERVED, 0, "This x-prover-scheme is not served here (PROVE_SCHEMES)",
     0},
    {TR_ERR_HTTP_BODY_NOT_JSON, 0, "Malformed request body", 0},
    {TR_ERR_HTTP_BODY_BAD_SHAPE, 0, "Invalid request body: expected { data: string }", 0},
    {TR_ERR_HTTP_BAD_VERSION_STRING, 0, "Invalid x-aztec-version", 0},
    {TR_ERR_HTTP_DECRYPT_FAILED, 0, "Failed to decrypt request payload", 0},
    {TR_ERR_HTTP_BAD_NONCE, 0, "Invalid nonce: expected hex of at most 512 bytes", 0},
    {TR_ERR_HTTP_ATTESTATION_FAILED, 0, "Failed to produce an attestation document", 0},
    {TR_ERR_HTTP_BAD_BB_VERSION, 0,
     "Invalid x-bb-version (expected [0-9A-Za-z._+-]{1,64}, no .. or leading .)", 0},
    {TR_ERR_HTTP_BAD_BB_DIGEST, 0, "Invalid x-bb-digest (expected 64 lowercase hex digits)", 0},
    {TR_ERR_HTTP_UPLOAD_TOO_LARGE, 0, "Upload too large", 0},
    {TR_ERR_PROVER_SHUTDOWN, 0, "Server is shutting down", 0},
    {TR_ERR_PROVER_NO_BINARY, 0, "No prover binary available", 0},
    {TR_ERR_PROVER_NOT_READY, 0, "Server not ready", RETRY},
    {TR_ERR_PROVER_QUEUE_TIMEOUT, 0, "No prover became free in time", RETRY},
    {TR_ERR_PROVER_QUEUE_FULL, 0, "Prove queue is full, try again later", RETRY},
    {TR_ERR_PROVER_INPUT_REJECTED, 0, "Invalid prover input", 0},
    {TR_ERR_PROVER_VERSION_UNAVAILABLE, 0, "Prover version unavailable", RETRY},
    /* Statuses only (the admin API names its own messages). */
    {TR_ERR_BUNDLE_NOT_ALLOWED, 403, NULL, 0},
    {TR_ERR_USAGE, 400, NULL, 0}, /* an upload the configuration refuses (no BB_VERSIONS_DIR) */
};
#define N_ANSWERS (sizeof(ANSWERS) / sizeof(ANSWERS[0]))

static const struct answer *answer_of(int32_t err)
{
    for (size_t i = 0; i < N_ANSWERS; i++) {
        if (ANSWERS[i].err == err)
            return &ANSWERS[i];
    }
    return NULL;
}

unsigned status_of(int32_t err)
{
    if (err == TR_ERR_PROVER_CLIENT_GONE)
        return 0;
    const struct answer *a = answer_of(err);
    if (a && a->status)
        return a->status;
    switch (tr_err_category(err)) {
    case TR_CAT_NONE: return 200;
    case TR_CAT_INPUT:
    case TR_CAT_CRYPTO: return 400;
    case TR_CAT_LIMIT: return 413;
    case TR_CAT_BUSY: return 503;
    default: return 500;
    }
}

const char *reply_message_of(int32_t err)
{
    const struct answer *a = answer_of(err);
    if (a && a->message)
        return a->message;
    switch (status_of(err)) {
    case 400: return "Bad request";
    case 413: return "Request too large";
    case 503: return "Service unavailable";
    default: return "Internal error";
    }
}

static bool retry_after(int32_t err)
{
    const struct answer *a = answer_of(err);
    return a && (a->flags & RETRY);
}

/* Headers of every answer besides X-Request-Id (PROTOCOL.md). */
static const char *const COMMON_HEADERS[][2] = {
    {"Access-Control-Allow-Origin", "*"},
    {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
    {"Access-Control-Allow-Headers", "Content-Type, X-Request-Id, X-Aztec-Version"},
    {"Access-Control-Expose-Headers", "X-Request-Id, X-Prove-Duration-Ms, X-Decrypt-Duration-Ms"},
};
#define N_COMMON (sizeof(COMMON_HEADERS) / sizeof(COMMON_HEADERS[0]))

static void add_common(struct MHD_Response *r, struct request *rq)
{
    MHD_add_response_header(r, "X-Request-Id", rq->id);
    for (size_t i = 0; i < N_COMMON; i++)
        MHD_add_response_header(r, COMMON_HEADERS[i][0], COMMON_HEADERS[i][1]);
}

enum MHD_Result reply_text(struct MHD_Connection *c, struct request *rq, unsigned status,
                           const char *content_type, char *body, size_t len)
{
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    add_common(r, rq);
    if (content_type)
        MHD_add_response_header(r, "Content-Type", content_type);
    rq->status = status;
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result reply_json(struct MHD_Connection *c, struct request *rq, unsigned status,
                           json_t *obj, const char *const *headers)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    add_common(r, rq);
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    rq->status = status;
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* {"error": .., ["detail": ..,] "requestId": ..} */
static json_t *error_body(struct request *rq, const char *message, const char *detail)
{
    return detail
               ? json_pack("{s:s,s:s,s:s}", "error", message, "detail", detail, "requestId", rq->id)
               : json_pack("{s:s,s:s}", "error", message, "requestId", rq->id);
}

enum MHD_Result reply_result_opts(struct MHD_Connection *c, struct request *rq, tr_result r,
                                  const struct reply_opts *o)
{
    unsigned status = status_of(r.err);
    if (status == 0)
        return MHD_NO;
    const char *message = o && o->message ? o->message : reply_message_of(r.err);
    const char *hdrs[16];
    size_t n = 0;
    char ra[24];
    if (retry_after(r.err)) {
        snprintf(ra, sizeof(ra), "%" PRIu64, rq->srv->cfg.retry_after_s);
        hdrs[n++] = "Retry-After";
        hdrs[n++] = ra;
    }
    for (size_t i = 0; o && o->headers && o->headers[i] && o->headers[i + 1] && n + 3 < 16;
         i += 2) {
        hdrs[n++] = o->headers[i];
        hdrs[n++] = o->headers[i + 1];
    }
    hdrs[n] = NULL;
    return reply_json(c, rq, status, error_body(rq, message, o ? o->detail : NULL), hdrs);
}

/* Writes all of p within timeout_ms (the socket may be non-blocking). */
static bool send_all(int fd, const char *p, size_t n, int timeout_ms)
{
    uint64_t end = tr_mono_ms() + (uint64_t)timeout_ms;
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        uint64_t now = tr_mono_ms();
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || now >= end)
            return false;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        (void)poll(&pf, 1, (int)(end - now));
    }
    return true;
}

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

enum MHD_Result reply_result_midbody(struct MHD_Connection *c, struct request *rq, tr_result r)
{
    unsigned status = status_of(r.err);
    rq->status = status;
    rq->rejected = true;
    rq->linger = true;
    json_t *o = error_body(rq, reply_message_of(r.err), NULL);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char head[1024];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json; "
                     "charset=utf-8\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n",
                     status, reason_phrase(status), bl, rq->id);
    for (size_t i = 0; i < N_COMMON && n > 0 && (size_t)n < sizeof(head); i++)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "%s: %s\r\n", COMMON_HEADERS[i][0],
                      COMMON_HEADERS[i][1]);
    if (retry_after(r.err) && rq->srv->cfg.retry_after_s && n > 0 && (size_t)n < sizeof(head))
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Retry-After: %" PRIu64 "\r\n",
                      rq->srv->cfg.retry_after_s);
    if (n > 0 && (size_t)n + 2 < sizeof(head)) {
        memcpy(head + n, "\r\n", 3);
        int fd = connection_fd(c);
        /* MHD reads the body and writes nothing until it ends: the socket's
         * write side is ours here. */
        if (fd >= 0 && send_all(fd, head, (size_t)n + 2, 1000) && body)
            (void)send_all(fd, body, bl, 1000);
    }
    free(body);
    return MHD_NO; /* MHD shuts the write side and closes (lingering) */
}
