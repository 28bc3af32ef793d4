/* NSM requests: encode with libcbor, send through the transport, read the
 * answer with the nsm_msg readers. Limits are checked before the call. */
#include <string.h>

#include <cbor.h>

#include "teerex/cose.h"
#include "teerex/nsm.h"

void nsm_client_init(struct nsm_client *c, nsm_transport_fn call, void *ctx)
{
    c->call = call;
    c->ctx = ctx;
    c->fd = -1;
}

static cbor_item_t *bytes_or_null(const uint8_t *p, size_t n)
{
    static const uint8_t empty[1] = {0};
    if (p == NULL)
        return cbor_new_null();
    return cbor_build_bytestring(n ? p : empty, n);
}

/* Sends the request item (consumed) and returns the raw response. */
static tr_result roundtrip(struct nsm_client *c, cbor_item_t *req, struct tr_buf *resp)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf enc;
    tr_buf_init(&enc, NSM_REQUEST_MAX);
    TR_CHECK(req != NULL, TR_ERR_NOMEM);
    TR_CHECK(c != NULL && c->call != NULL, TR_ERR_NULL_ARG);
    res = cose_cbor_serialize(req, &enc);
    if (res.err == TR_ERR_TOO_BIG)
        TR_FAIL(TR_ERR_NSM_REQUEST_TOO_BIG);
    TR_TRY(res);
    uint8_t *dst = NULL;
    TR_TRY(tr_buf_extend(resp, TR_NSM_MAX_RESPONSE, &dst));
    size_t got = 0;
    TR_TRY(c->call(c->ctx, enc.data, enc.len, dst, TR_NSM_MAX_RESPONSE, &got));
    TR_CHECK(got <= TR_NSM_MAX_RESPONSE, TR_ERR_NSM_BAD_RESPONSE);
    resp->len = got;
out:
    if (req != NULL)
        cbor_decref(&req);
    tr_buf_free(&enc);
    return res;
}

static cbor_item_t *index_fields(const char *key, uint16_t v)
{
    cbor_item_t *f = cbor_new_definite_map(1);
    if (f != NULL && !cose_cbor_put(f, key, cbor_build_uint16(v)))
        cbor_decref(&f);
    return f;
}

TR_RESULT nsm_attestation(struct nsm_client *c, const uint8_t *user_data, size_t user_data_len,
                          const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key,
                          size_t public_key_len, struct tr_buf *doc)
{
    TR_ENSURE_REF(doc);
    TR_ENSURE(user_data == NULL || user_data_len <= TR_NSM_MAX_USER_DATA,
              TR_ERR_NSM_USER_DATA_TOO_BIG);
    TR_ENSURE(nonce == NULL || nonce_len <= TR_NSM_MAX_NONCE, TR_ERR_NSM_NONCE_TOO_BIG);
    TR_ENSURE(public_key == NULL || public_key_len <= TR_NSM_MAX_PUBLIC_KEY,
              TR_ERR_NSM_PUBLIC_KEY_TOO_BIG);
    cbor_item_t *f = cbor_new_definite_map(3);
    TR_ENSURE(f != NULL, TR_ERR_NOMEM);
    if (!cose_cbor_put(f, "user_data", bytes_or_null(user_data, user_data_len)) ||
        !cose_cbor_put(f, "nonce", bytes_or_null(nonce, nonce_len)) ||
        !cose_cbor_put(f, "public_key", bytes_or_null(public_key, public_key_len))) {
        cbor_decref(&f);
        TR_BAIL(TR_ERR_NOMEM);
    }
    struct tr_buf resp;
    tr_buf_init(&resp, TR_NSM_MAX_RESPONSE);
    tr_result res = roundtrip(c, cose_cbor_variant("Attestation", f), &resp);
    if (tr_ok(res))
        res = nsm_msg_read_attestation(resp.data, resp.len, doc);
    tr_buf_free(&resp);
    return res;
}

TR_RESULT nsm_describe_pcr(struct nsm_client *c, uint16_t index, bool *locked, uint8_t *data,
                           size_t cap, size_t *len)
{
    struct tr_buf resp;
    tr_buf_init(&resp, TR_NSM_MAX_RESPONSE);
    tr_result res =
        roundtrip(c, cose_cbor_variant("DescribePCR", index_fields("index", index)), &resp);
    if (tr_ok(res))
        res = nsm_msg_read_describe_pcr(resp.data, resp.len, locked, data, cap, len);
    tr_buf_free(&resp);
    return res;
}

TR_RESULT nsm_extend_pcr(struct nsm_client *c, uint16_t index, const uint8_t *data, size_t len,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    TR_ENSURE_REF(data);
    TR_ENSURE(len < NSM_REQUEST_MAX, TR_ERR_NSM_REQUEST_TOO_BIG);
    cbor_item_t *f = cbor_new_definite_map(2);
    TR_ENSURE(f != NULL, TR_ERR_NOMEM);
    if (!cose_cbor_put(f, "index", cbor_build_uint16(index)) ||
        !cose_cbor_put(f, "data", bytes_or_null(data, len))) {
        cbor_decref(&f);
        TR_BAIL(TR_ERR_NOMEM);
    }
    struct tr_buf resp;
    tr_buf_init(&resp, TR_NSM_MAX_RESPONSE);
    tr_result res = roundtrip(c, cose_cbor_variant("ExtendPCR", f), &resp);
    if (tr_ok(res))
        res = nsm_msg_read_extend_pcr(resp.data, resp.len, out, cap, out_len);
    tr_buf_free(&resp);
    return res;
}

static tr_result unit_call(struct nsm_client *c, cbor_item_t *req, const char *name)
{
    struct tr_buf resp;
    tr_buf_init(&resp, TR_NSM_MAX_RESPONSE);
    tr_result res = roundtrip(c, req, &resp);
    if (tr_ok(res))
        res = nsm_msg_read_unit(resp.data, resp.len, name);
    tr_buf_free(&resp);
    return res;
}

TR_RESULT nsm_lock_pcr(struct nsm_client *c, uint16_t index)
{
    return unit_call(c, cose_cbor_variant("LockPCR", index_fields("index", index)), "LockPCR");
}

TR_RESULT nsm_lock_pcrs(struct nsm_client *c, uint16_t range)
{
    return unit_call(c, cose_cbor_variant("LockPCRs", index_fields("range", range)), "LockPCRs");
}

TR_RESULT nsm_describe(struct nsm_client *c, struct nsm_description *out)
{
    struct tr_buf resp;
    tr_buf_init(&resp, TR_NSM_MAX_RESPONSE);
    tr_result res = roundtrip(c, cbor_build_string("DescribeNSM"), &resp);
    if (tr_ok(res))
        res = nsm_msg_read_describe(resp.data, resp.len, out);
    tr_buf_free(&resp);
    return res;
}

TR_RESULT nsm_get_random(struct nsm_client *c, uint8_t *out, size_t cap, size_t *got)
{
    struct tr_buf resp;
    tr_buf_init(&resp, TR_NSM_MAX_RESPONSE);
    tr_result res = roundtrip(c, cbor_build_string("GetRandom"), &resp);
    if (tr_ok(res))
        res = nsm_msg_read_random(resp.data, resp.len, out, cap, got);
    tr_buf_free(&resp);
    return res;
}
