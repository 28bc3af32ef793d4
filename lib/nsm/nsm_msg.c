/* NSM messages: the CBOR encoding of the nsm-api Request/Response enums (a
 * unit variant is a text string, a struct variant a one-entry map from its
 * name to a map of fields, an error {"Error": "<name>"}). The responses are
 * untrusted bytes from the device and are read through cose_cbor accessors. */
#include <string.h>

#include <cbor.h>

#include "teerex/cose.h"
#include "teerex/nsm.h"

#define E_RESP TR_ERR_NSM_BAD_RESPONSE

static const struct {
    const char *name;
    int32_t err;
} NSM_ERRORS[] = {
    {"InvalidArgument", TR_ERR_NSM_INVALID_ARGUMENT},
    {"InvalidIndex", TR_ERR_NSM_INVALID_INDEX},
    {"InvalidResponse", TR_ERR_NSM_INVALID_RESPONSE},
    {"ReadOnlyIndex", TR_ERR_NSM_READ_ONLY_INDEX},
    {"InvalidOperation", TR_ERR_NSM_INVALID_OPERATION},
    {"BufferTooSmall", TR_ERR_NSM_BUFFER_TOO_SMALL},
    {"InputTooLarge", TR_ERR_NSM_INPUT_TOO_LARGE},
    {"InternalError", TR_ERR_NSM_INTERNAL_ERROR},
};

int32_t nsm_error_from_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(NSM_ERRORS) / sizeof(NSM_ERRORS[0]); i++) {
        if (strlen(NSM_ERRORS[i].name) == len && memcmp(NSM_ERRORS[i].name, name, len) == 0)
            return NSM_ERRORS[i].err;
    }
    return TR_ERR_NSM_UNKNOWN_ERROR; /* includes "Success" sent as an error */
}

const char *nsm_error_name(int32_t err)
{
    for (size_t i = 0; i < sizeof(NSM_ERRORS) / sizeof(NSM_ERRORS[0]); i++) {
        if (NSM_ERRORS[i].err == err)
            return NSM_ERRORS[i].name;
    }
    return NULL;
}

TR_RESULT nsm_msg_parse_response(const uint8_t *p, size_t n, const char *expect,
                                 struct cbor_item_t **root, struct cbor_item_t **body)
{
    TR_ENSURE_REF(root);
    TR_ENSURE_REF(body);
    TR_ENSURE_REF(expect);
    *root = NULL;
    *body = NULL;
    TR_ENSURE(n <= TR_NSM_MAX_RESPONSE, E_RESP);
    cbor_item_t *it = NULL;
    TR_GUARD(cose_cbor_load(p, n, E_RESP, &it));
    tr_result res = TR_SUCCESS;
    if (cbor_isa_string(it)) {
        TR_CHECK(cose_cbor_text_eq(it, expect), E_RESP); /* unit answer */
    } else {
        TR_CHECK(cbor_isa_map(it) && cbor_map_size(it) == 1, E_RESP);
        struct cbor_pair *m = cbor_map_handle(it);
        if (cose_cbor_text_eq(m[0].key, "Error")) {
            struct tr_slice name;
            TR_CHECK(tr_ok(cose_cbor_text(m[0].value, E_RESP, &name)), E_RESP);
            TR_FAIL(nsm_error_from_name((const char *)name.ptr, name.len));
        }
        TR_CHECK(cose_cbor_text_eq(m[0].key, expect) && cbor_isa_map(m[0].value), E_RESP);
        TR_TRY(cose_cbor_map_unique(m[0].value, E_RESP));
        *body = m[0].value;
    }
    *root = it;
    it = NULL;
out:
    if (it != NULL)
        cbor_decref(&it);
    return res;
}

/* A struct-variant response: parse and require a body. */
static tr_result body_of(const uint8_t *p, size_t n, const char *name, cbor_item_t **root,
                         cbor_item_t **body)
{
    TR_GUARD(nsm_msg_parse_response(p, n, name, root, body));
    if (*body == NULL) {
        cbor_decref(root);
        TR_BAIL(E_RESP);
    }
    return TR_SUCCESS;
}

static tr_result field_bytes(const cbor_item_t *body, const char *key, size_t cap,
                             struct tr_slice *out)
{
    cbor_item_t *it = NULL;
    TR_GUARD(cose_cbor_map_get(body, key, E_RESP, &it));
    TR_GUARD(cose_cbor_bytes(it, E_RESP, out));
    TR_ENSURE(out->len <= cap, TR_ERR_NSM_BUFFER_TOO_SMALL);
    return TR_SUCCESS;
}

static tr_result field_u16(const cbor_item_t *body, const char *key, uint16_t *out)
{
    cbor_item_t *it = NULL;
    uint64_t v;
    TR_GUARD(cose_cbor_map_get(body, key, E_RESP, &it));
    TR_GUARD(cose_cbor_uint(it, E_RESP, &v));
    TR_ENSURE(v <= UINT16_MAX, E_RESP);
    *out = (uint16_t)v;
    return TR_SUCCESS;
}

TR_RESULT nsm_msg_read_attestation(const uint8_t *p, size_t n, struct tr_buf *doc)
{
    TR_ENSURE_REF(doc);
    cbor_item_t *root = NULL, *body = NULL;
    struct tr_slice s;
    TR_GUARD(body_of(p, n, "Attestation", &root, &body));
    tr_result res = TR_SUCCESS;
    TR_TRY(field_bytes(body, "document", TR_MAX_ATTEST_DOC, &s));
    TR_CHECK(s.len > 0, E_RESP);
    TR_TRY(tr_buf_append(doc, s.ptr, s.len));
out:
    cbor_decref(&root);
    return res;
}

TR_RESULT nsm_msg_read_describe_pcr(const uint8_t *p, size_t n, bool *locked, uint8_t *data,
                                    size_t cap, size_t *len)
{
    TR_ENSURE_REF(locked);
    TR_ENSURE_REF(data);
    TR_ENSURE_REF(len);
    cbor_item_t *root = NULL, *body = NULL, *lk = NULL;
    struct tr_slice s;
    TR_GUARD(body_of(p, n, "DescribePCR", &root, &body));
    tr_result res = TR_SUCCESS;
    TR_TRY(cose_cbor_map_get(body, "lock", E_RESP, &lk));
    TR_TRY(cose_cbor_bool(lk, E_RESP, locked));
    TR_TRY(field_bytes(body, "data", cap, &s));
    memcpy(data, s.ptr, s.len);
    *len = s.len;
out:
    cbor_decref(&root);
    return res;
}

TR_RESULT nsm_msg_read_extend_pcr(const uint8_t *p, size_t n, uint8_t *data, size_t cap,
                                  size_t *len)
{
    TR_ENSURE_REF(data);
    TR_ENSURE_REF(len);
    cbor_item_t *root = NULL, *body = NULL;
    struct tr_slice s;
    TR_GUARD(body_of(p, n, "ExtendPCR", &root, &body));
    tr_result res = TR_SUCCESS;
    TR_TRY(field_bytes(body, "data", cap, &s));
    memcpy(data, s.ptr, s.len);
    *len = s.len;
out:
    cbor_decref(&root);
    return res;
}

TR_RESULT nsm_msg_read_unit(const uint8_t *p, size_t n, const char *name)
{
    cbor_item_t *root = NULL, *body = NULL;
    TR_GUARD(nsm_msg_parse_response(p, n, name, &root, &body));
    cbor_decref(&root);
    TR_ENSURE(body == NULL, E_RESP); /* a unit answer has no fields */
    return TR_SUCCESS;
}

TR_RESULT nsm_msg_read_describe(const uint8_t *p, size_t n, struct nsm_description *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    cbor_item_t *root = NULL, *body = NULL, *it = NULL;
    struct tr_slice s;
    TR_GUARD(body_of(p, n, "DescribeNSM", &root, &body));
    tr_result res = TR_SUCCESS;
    TR_TRY(field_u16(body, "version_major", &out->version_major));
    TR_TRY(field_u16(body, "version_minor", &out->version_minor));
    TR_TRY(field_u16(body, "version_patch", &out->version_patch));
    TR_TRY(field_u16(body, "max_pcrs", &out->max_pcrs));
    TR_TRY(cose_cbor_map_get(body, "module_id", E_RESP, &it));
    TR_TRY(cose_cbor_text(it, E_RESP, &s));
    TR_CHECK(s.len > 0 && s.len < sizeof(out->module_id) && !memchr(s.ptr, 0, s.len), E_RESP);
    memcpy(out->module_id, s.ptr, s.len);
    TR_TRY(cose_cbor_map_get(body, "digest", E_RESP, &it));
    TR_CHECK(cose_cbor_text_eq(it, "SHA256") || cose_cbor_text_eq(it, "SHA384") ||
                 cose_cbor_text_eq(it, "SHA512"),
             E_RESP);
    memcpy(out->digest, cbor_string_handle(it), cbor_string_length(it));
    TR_TRY(cose_cbor_map_get(body, "locked_pcrs", E_RESP, &it));
    TR_CHECK(it != NULL && cbor_isa_array(it), E_RESP);
    cbor_item_t **a = cbor_array_handle(it);
    for (size_t i = 0; i < cbor_array_size(it); i++) {
        uint64_t idx;
        TR_TRY(cose_cbor_uint(a[i], E_RESP, &idx));
        TR_CHECK(idx <= UINT16_MAX, E_RESP);
        if (idx < 32)
            out->locked_mask |= 1u << idx;
    }
out:
    cbor_decref(&root);
    return res;
}

TR_RESULT nsm_msg_read_random(const uint8_t *p, size_t n, uint8_t *out, size_t cap, size_t *got)
{
    TR_ENSURE_REF(out);
    TR_ENSURE_REF(got);
    *got = 0;
    cbor_item_t *root = NULL, *body = NULL;
    struct tr_slice s;
    TR_GUARD(body_of(p, n, "GetRandom", &root, &body));
    tr_result res = TR_SUCCESS;
    TR_TRY(cose_cbor_map_get(body, "random", E_RESP, &body)); /* reuse: field item */
    TR_TRY(cose_cbor_bytes(body, E_RESP, &s));
    TR_CHECK(s.len > 0, E_RESP);
    if (s.len > cap)
        s.len = cap; /* entropy: taking fewer bytes is fine */
    memcpy(out, s.ptr, s.len);
    *got = s.len;
out:
    cbor_decref(&root);
    return res;
}
