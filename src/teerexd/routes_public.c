/* Public routes other than /prove: /attestation, /health, /public-key,
 * /encryption-public-key, /metrics, OPTIONS, 404 (PROTOCOL.md). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "server.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/limits.h"
#include "teerex/log.h"

/* Adds "default" (the default prover's name, or null) and "policy" to o. */
static TR_RESULT add_default_policy(struct server *s, json_t *o)
{
    char def[TR_MAX_VERSION_LEN + 1];
    versions_default_name(&s->versions, def, sizeof(def));
    TR_ENSURE(json_object_set_new(o, "default", def[0] ? json_string(def) : json_null()) == 0,
              TR_ERR_NOMEM);
    TR_ENSURE(json_object_set_new(o, "policy", json_string(bundle_policy_name(&s->policy))) == 0,
              TR_ERR_NOMEM);
    return TR_SUCCESS;
}

/* user_data of the document: {"versions":[...],"default":..,"policy":..}
 * (versions sorted; each sha256 is the bundle digest). When that does not
 * fit the NSM's 1024 bytes (TR_NSM_MAX_USER_DATA):
 * {"versions_sha256":"<hex>","count":N,"default":.., "policy":..}, the hash over the full compact
 * JSON list (docs/PROTOCOL-EXT.md). */
static TR_RESULT user_data(struct server *s, struct tr_buf *out)
{
    json_t *list = versions_json(&s->versions);
    TR_ENSURE(list != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    json_t *o = json_pack("{s:O}", "versions", list);
    char *text = NULL;
    TR_CHECK(o != NULL, TR_ERR_NOMEM);
    TR_TRY(add_default_policy(s, o));
    text = json_dumps(o, JSON_COMPACT);
    TR_CHECK(text != NULL, TR_ERR_NOMEM);
    if (strlen(text) <= TR_NSM_MAX_USER_DATA) {
        TR_TRY(tr_buf_append_str(out, text));
    } else {
        char *full = json_dumps(list, JSON_COMPACT);
        TR_CHECK(full != NULL, TR_ERR_NOMEM);
        uint8_t dig[32];
        char hex[65];
        unsigned dl = 0;
        int ok = EVP_Digest(full, strlen(full), dig, &dl, EVP_sha256(), NULL);
        free(full);
        TR_CHECK(ok == 1, TR_ERR_OSSL);
        tr_hex_to_str(dig, 32, hex);
        free(text);
        text = NULL;
        json_decref(o);
        o = json_pack("{s:s,s:I}", "versions_sha256", hex, "count",
                      (json_int_t)json_array_size(list));
        TR_CHECK(o != NULL, TR_ERR_NOMEM);
        TR_TRY(add_default_policy(s, o));
        text = json_dumps(o, JSON_COMPACT);
        TR_CHECK(text != NULL, TR_ERR_NOMEM);
        tr_log(TR_LOG_WARN, "user_data_versions_hashed", "{s:I}", "count",
               (json_int_t)json_array_size(list));
        TR_TRY(tr_buf_append_str(out, text));
    }
out:
    free(text);
    json_decref(o);
    json_decref(list);
    return res;
}

static enum MHD_Result attestation(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    const char *nonce_hex = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "nonce");
    struct tr_buf nonce, ud, doc, b64;
    tr_buf_init(&nonce, TR_NSM_MAX_NONCE);
    if (nonce_hex && !tr_ok(http_nonce_parse(nonce_hex, &nonce))) {
        tr_buf_free(&nonce);
        return reply_error(c, rq, 400, "Invalid nonce: expected hex of at most 512 bytes");
    }
    if (!s->attest->document) {
        tr_buf_free(&nonce);
        return reply_json(c, rq, 200,
                          json_pack("{s:s,s:s}", "mode", s->attest->mode, "publicKey", s->armored),
                          NULL);
    }
    tr_buf_init(&ud, 4096);
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    tr_buf_init(&b64, 4 * TR_MAX_ATTEST_DOC);
    enum MHD_Result ret;
    tr_result r = user_data(s, &ud);
    if (tr_ok(r))
        r = s->attest->document(s->attest, tr_slice_of(s->armored, s->armored_len),
                                tr_buf_slice(&ud), tr_buf_slice(&nonce), &doc);
    if (tr_ok(r))
        r = tr_b64_encode(doc.data, doc.len, &b64);
    if (tr_ok(r)) {
        ret = reply_json(c, rq, 200,
                         json_pack("{s:s,s:s,s:s}", "mode", s->attest->mode, "publicKey",
                                   s->armored, "attestationDocument", (const char *)b64.data),
                         NULL);
    } else {
        tr_log_result(TR_LOG_ERROR, "attestation_failed", r);
        ret = reply_error(c, rq, 500, "Failed to produce an attestation document");
    }
    tr_buf_free(&nonce);
    tr_buf_free(&ud);
    tr_buf_free(&doc);
    tr_buf_free(&b64);
    return ret;
}

/* 200 while the process serves (PROTOCOL.md); whether it can prove is in
 * "status" ("ok", "not_ready" with "reasons", "draining"), and /ready says the
 * same with its status code for balancers that only look at that. */
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

enum MHD_Result route_metrics(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    unsigned waiting, active;
    prove_queue_stats(&s->queue, &waiting, &active);
    metrics_set_state(strcmp(server_status(s, NULL), "ok") == 0, atomic_load(&s->draining),
                      atomic_load(&s->prove_open));
    if (!tr_ok(metrics_render(waiting, active, &b))) {
        tr_buf_free(&b);
        return reply_error(c, rq, 500, "Internal error");
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

enum MHD_Result route_public(struct server *s, struct MHD_Connection *c, struct request *rq,
                             const char *url, const char *method)
{
    (void)url;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    enum MHD_Result ret;
    /* With an ops listener, metrics are for the parent only, never on the
     * public listeners (reachable through the proxy from anywhere). */
    if (route_common(s, c, rq, method, s->cfg.ops_listen[0] == '\0', &ret))
        return ret;
    switch (rq->route) {
    case ROUTE_ATTESTATION:
        if (get)
            return attestation(s, c, rq);
        break;
    case ROUTE_PUBLIC_KEY:
    case ROUTE_ENC_PUBLIC_KEY:
        if (get)
            return reply_json(c, rq, 200, json_pack("{s:s}", "publicKey", s->armored), NULL);
        break;
    case ROUTE_PROVE:
        if (strcmp(method, "POST") == 0)
            return route_prove(s, c, rq);
        break;
    default: break;
    }
    rq->route = ROUTE_NOT_FOUND;
    return reply_error(c, rq, 404, "Not found");
}
