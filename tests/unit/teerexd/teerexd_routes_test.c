/* The route table (which listener serves which path and method, and which
 * handler answers from the head) and status_of (the status of each failure),
 * with the messages clients and the integration tests read. */
#include <string.h>

#include "harness.h"
#include "reply.h"
#include "routes.h"

struct want {
    const char *path, *method;
    enum listen_kind kind;
    bool has_ops;
    enum route id;
};

static void test_route_find(void)
{
    static const struct want W[] = {
        /* OPTIONS: every path, every listener (CORS preflight) */
        {"/prove", "OPTIONS", LISTEN_PUBLIC, false, ROUTE_OPTIONS},
        {"/nowhere", "OPTIONS", LISTEN_ADMIN, false, ROUTE_OPTIONS},
        {"/drain", "OPTIONS", LISTEN_OPS, true, ROUTE_OPTIONS},
        /* health and readiness everywhere, GET and HEAD only */
        {"/health", "GET", LISTEN_PUBLIC, false, ROUTE_HEALTH},
        {"/health", "HEAD", LISTEN_ADMIN, false, ROUTE_HEALTH},
        {"/health", "GET", LISTEN_OPS, true, ROUTE_HEALTH},
        {"/health", "POST", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/ready", "GET", LISTEN_PUBLIC, false, ROUTE_READY},
        {"/ready", "GET", LISTEN_OPS, true, ROUTE_READY},
        {"/ready", "DELETE", LISTEN_OPS, true, ROUTE_NOT_FOUND},
        /* metrics: public only while there is no ops listener */
        {"/metrics", "GET", LISTEN_PUBLIC, false, ROUTE_METRICS},
        {"/metrics", "GET", LISTEN_PUBLIC, true, ROUTE_NOT_FOUND},
        {"/metrics", "GET", LISTEN_OPS, true, ROUTE_METRICS},
        {"/metrics", "HEAD", LISTEN_ADMIN, true, ROUTE_METRICS},
        {"/metrics", "POST", LISTEN_OPS, true, ROUTE_NOT_FOUND},
        /* drain: the ops listener only */
        {"/drain", "POST", LISTEN_OPS, true, ROUTE_DRAIN},
        {"/drain", "DELETE", LISTEN_OPS, true, ROUTE_DRAIN},
        {"/drain", "GET", LISTEN_OPS, true, ROUTE_DRAIN},
        {"/drain", "HEAD", LISTEN_OPS, true, ROUTE_DRAIN},
        {"/drain", "PUT", LISTEN_OPS, true, ROUTE_NOT_FOUND},
        {"/drain", "POST", LISTEN_PUBLIC, true, ROUTE_NOT_FOUND},
        {"/drain", "POST", LISTEN_ADMIN, true, ROUTE_NOT_FOUND},
        /* admin API: the admin listener only */
        {"/upload-bb", "POST", LISTEN_ADMIN, false, ROUTE_UPLOAD_BB},
        {"/upload-bb", "PUT", LISTEN_ADMIN, false, ROUTE_NOT_FOUND},
        {"/upload-bb", "POST", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/upload-bb", "POST", LISTEN_OPS, true, ROUTE_NOT_FOUND},
        {"/admin/versions", "GET", LISTEN_ADMIN, false, ROUTE_ADMIN_VERSIONS},
        {"/admin/versions", "HEAD", LISTEN_ADMIN, false, ROUTE_NOT_FOUND},
        {"/admin/versions", "GET", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        /* public API: the public listeners only */
        {"/attestation", "GET", LISTEN_PUBLIC, false, ROUTE_ATTESTATION},
        {"/attestation", "HEAD", LISTEN_PUBLIC, true, ROUTE_ATTESTATION},
        {"/attestation", "POST", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/attestation", "GET", LISTEN_ADMIN, false, ROUTE_NOT_FOUND},
        {"/attestation", "GET", LISTEN_OPS, true, ROUTE_NOT_FOUND},
        {"/public-key", "GET", LISTEN_PUBLIC, false, ROUTE_PUBLIC_KEY},
        {"/encryption-public-key", "GET", LISTEN_PUBLIC, false, ROUTE_ENC_PUBLIC_KEY},
        {"/public-key", "GET", LISTEN_OPS, true, ROUTE_NOT_FOUND},
        {"/prove", "POST", LISTEN_PUBLIC, true, ROUTE_PROVE},
        {"/prove", "GET", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/prove", "PATCH", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/prove", "POST", LISTEN_ADMIN, false, ROUTE_NOT_FOUND},
        {"/prove", "POST", LISTEN_OPS, true, ROUTE_NOT_FOUND},
        /* exact paths only */
        {"/prove/", "POST", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/PROVE", "POST", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/health/x", "GET", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"", "GET", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
        {"/", "GET", LISTEN_PUBLIC, false, ROUTE_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(W) / sizeof(W[0]); i++) {
        const struct route_def *r = route_find(W[i].path, W[i].method, W[i].kind, W[i].has_ops);
        TH_REPORT(r != NULL && r->id == W[i].id, "%s %s on listener %d (ops %d): route %d, want %d",
                  W[i].method, W[i].path, (int)W[i].kind, (int)W[i].has_ops, r ? (int)r->id : -1,
                  (int)W[i].id);
        /* every route answers, at the head or at the end */
        EXPECT_TRUE(r != NULL && (r->first != NULL || r->done != NULL));
    }
}

static void test_route_handlers(void)
{
    /* POST /prove: all three stages are the prove route's */
    const struct route_def *r = route_find("/prove", "POST", LISTEN_PUBLIC, false);
    EXPECT_TRUE(r->first == route_prove_first);
    EXPECT_TRUE(r->data == route_prove_data);
    EXPECT_TRUE(r->done == route_prove);
    /* another method on /prove is refused from the head: its body is never read */
    r = route_find("/prove", "PUT", LISTEN_PUBLIC, false);
    EXPECT_TRUE(r->first == route_not_found);
    EXPECT_TRUE(r->data == NULL);
    /* an unknown path: its body is discarded, the 404 comes at the end */
    r = route_find("/nope", "POST", LISTEN_PUBLIC, false);
    EXPECT_TRUE(r->first == NULL);
    EXPECT_TRUE(r->data == NULL);
    EXPECT_TRUE(r->done == route_not_found);
    /* the upload streams its body; nothing else on the admin listener keeps one */
    r = route_find("/upload-bb", "POST", LISTEN_ADMIN, false);
    EXPECT_TRUE(r->first == route_upload_first && r->data == route_upload_data &&
                r->done == route_upload_done);
    r = route_find("/admin/versions", "GET", LISTEN_ADMIN, false);
    EXPECT_TRUE(r->first == NULL && r->data == NULL && r->done == route_admin_versions);
    r = route_find("/encryption-public-key", "HEAD", LISTEN_PUBLIC, false);
    EXPECT_TRUE(r->done == route_public_key);
    r = route_find("/drain", "DELETE", LISTEN_OPS, true);
    EXPECT_TRUE(r->done == route_drain);
    /* methods */
    EXPECT_EQ(route_method_bit("GET"), ROUTE_M_GET);
    EXPECT_EQ(route_method_bit("DELETE"), ROUTE_M_DELETE);
    EXPECT_EQ(route_method_bit("PATCH"), ROUTE_M_OTHER);
    EXPECT_EQ(route_method_bit("get"), ROUTE_M_OTHER); /* methods are case-sensitive */
    EXPECT_EQ(route_method_bit(NULL), ROUTE_M_OTHER);
}

static void test_status_of(void)
{
    /* by category */
    EXPECT_EQ(status_of(TR_ERR_HTTP_BODY_NOT_JSON), 400);  /* INPUT */
    EXPECT_EQ(status_of(TR_ERR_PGP_BAD_MDC), 400);         /* CRYPTO */
    EXPECT_EQ(status_of(TR_ERR_HTTP_BODY_TOO_LARGE), 413); /* LIMIT */
    EXPECT_EQ(status_of(TR_ERR_BUNDLE_TOO_BIG), 413);
    EXPECT_EQ(status_of(TR_ERR_PROVER_QUEUE_FULL), 503); /* BUSY */
    EXPECT_EQ(status_of(TR_ERR_PROVER_EXIT), 500);       /* IO */
    EXPECT_EQ(status_of(TR_ERR_NOMEM), 500);             /* INTERNAL */
    EXPECT_EQ(status_of(TR_ERR_PROVER_NO_BINARY), 500);  /* USAGE: the server's configuration */
    EXPECT_EQ(status_of(999999), 500);                   /* unknown code */
    EXPECT_EQ(status_of(TR_OK), 200);
    /* the overrides */
    EXPECT_EQ(status_of(TR_ERR_HTTP_NOT_FOUND), 404);
    EXPECT_EQ(status_of(TR_ERR_HTTP_RATE_LIMITED), 429);
    EXPECT_EQ(status_of(TR_ERR_BUNDLE_NOT_ALLOWED), 403);
    EXPECT_EQ(status_of(TR_ERR_USAGE), 400);
    EXPECT_EQ(status_of(TR_ERR_PROVER_CLIENT_GONE), 0); /* nobody to answer */
    /* the request path's answers (PROTOCOL.md) */
    EXPECT_EQ(status_of(TR_ERR_HTTP_INFLIGHT_FULL), 503);
    EXPECT_EQ(status_of(TR_ERR_HTTP_DECRYPT_FAILED), 400);
    EXPECT_EQ(status_of(TR_ERR_HTTP_BAD_SCHEME), 400);
    EXPECT_EQ(status_of(TR_ERR_HTTP_CONFLICTING_LENGTH), 400);
    EXPECT_EQ(status_of(TR_ERR_HTTP_ATTESTATION_FAILED), 500);
    EXPECT_EQ(status_of(TR_ERR_HTTP_UPLOAD_TOO_LARGE), 413);
    EXPECT_EQ(status_of(TR_ERR_PROVER_SHUTDOWN), 503);
    EXPECT_EQ(status_of(TR_ERR_PROVER_NOT_READY), 503);
    EXPECT_EQ(status_of(TR_ERR_PROVER_QUEUE_TIMEOUT), 503);
    EXPECT_EQ(status_of(TR_ERR_PROVER_VERSION_UNAVAILABLE), 503);
    EXPECT_EQ(status_of(TR_ERR_PROVER_UNKNOWN_VERSION), 400);
    EXPECT_EQ(status_of(TR_ERR_PROVER_INPUT_REJECTED), 400);
    /* every code there is gets a status a client understands; only a gone
     * client none */
    int odd = 0;
    for (int32_t e = 1; e < 1200; e++) {
        if (strcmp(tr_err_name(e), "UNKNOWN") == 0)
            continue;
        unsigned st = status_of(e);
        bool known = st == 400 || st == 403 || st == 404 || st == 413 || st == 429 || st == 500 ||
                     st == 503 || (st == 0 && e == TR_ERR_PROVER_CLIENT_GONE);
        if (!known) {
            odd++;
            TH_REPORT(false, "%s: status %u", tr_err_name(e), st);
        }
    }
    EXPECT_EQ(odd, 0);
}

static void test_messages(void)
{
    /* the exact messages the integration and attack tests read */
    EXPECT_STR_EQ(reply_message_of(TR_ERR_HTTP_NOT_FOUND), "Not found");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_HTTP_BODY_TOO_LARGE), "Request body too large");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_HTTP_BODY_NOT_JSON), "Malformed request body");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_HTTP_BODY_BAD_SHAPE),
                  "Invalid request body: expected { data: string }");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_HTTP_DECRYPT_FAILED),
                  "Failed to decrypt request payload");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_HTTP_RATE_LIMITED),
                  "Too many prove requests, try again later");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_HTTP_INFLIGHT_FULL), "Server busy, try again later");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_PROVER_SHUTDOWN), "Server is shutting down");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_PROVER_QUEUE_FULL),
                  "Prove queue is full, try again later");
    /* a code without its own message: the status's */
    EXPECT_STR_EQ(reply_message_of(TR_ERR_NOMEM), "Internal error");
    EXPECT_STR_EQ(reply_message_of(TR_ERR_PGP_BAD_MDC), "Bad request");
}

int main(void)
{
    RUN_TEST(test_route_find);
    RUN_TEST(test_route_handlers);
    RUN_TEST(test_status_of);
    RUN_TEST(test_messages);
    return TEST_SUMMARY();
}
