/* Public routes other than /prove: /attestation, /public-key and
 * /encryption-public-key (PROTOCOL.md). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "reply.h"
#include "routes.h"
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

enum MHD_Result route_attestation(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    const char *nonce_hex = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "nonce");
    struct tr_buf nonce, ud, doc, b64;
    tr_buf_init(&nonce, TR_NSM_MAX_NONCE);
    if (nonce_hex && !tr_ok(http_nonce_parse(nonce_hex, &nonce))) {
        tr_buf_free(&nonce);
        return reply_code(c, rq, TR_ERR_HTTP_BAD_NONCE);
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
        /* Whatever failed (the NSM, memory), the client's answer is a 500. */
        tr_log_result(TR_LOG_ERROR, "attestation_failed", r);
        ret = reply_code(c, rq, TR_ERR_HTTP_ATTESTATION_FAILED);
    }
    tr_buf_free(&nonce);
    tr_buf_free(&ud);
    tr_buf_free(&doc);
    tr_buf_free(&b64);
    return ret;
}

enum MHD_Result route_public_key(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    return reply_json(c, rq, 200, json_pack("{s:s}", "publicKey", s->armored), NULL);
}
