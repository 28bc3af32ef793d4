/* POST /prove body: {"data":"<base64 of the OpenPGP message>"} on jansson.
 *
 * Mirrors what the reference server's express.json() + shape check answer:
 * a body that is not a JSON object or array is "Malformed request body"; any
 * JSON without a string `data` is "Invalid request body". */
#include <string.h>

#include <jansson.h>

#include "teerex/codec.h"
#include "teerex/http.h"

tr_result http_prove_body_parse(const uint8_t *body, size_t len, struct tr_buf *out)
{
    TR_ENSURE_REF(out);
    tr_result res = TR_SUCCESS;
    json_t *root = NULL;
    /* An empty body is what express leaves as {}: a shape error. */
    TR_CHECK(len > 0 && body != NULL, TR_ERR_HTTP_BODY_BAD_SHAPE);
    /* Strict like body-parser: the first non-blank byte opens an object or array. */
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    TR_CHECK(i < len && (body[i] == '{' || body[i] == '['), TR_ERR_HTTP_BODY_NOT_JSON);
    json_error_t jerr;
    root = json_loadb((const char *)body, len, 0, &jerr);
    TR_CHECK(root != NULL, TR_ERR_HTTP_BODY_NOT_JSON);
    TR_CHECK(json_is_object(root), TR_ERR_HTTP_BODY_BAD_SHAPE);
    json_t *data = json_object_get(root, "data");
    TR_CHECK(data != NULL && json_is_string(data), TR_ERR_HTTP_BODY_BAD_SHAPE);
    const char *s = json_string_value(data);
    size_t n = json_string_length(data);
    size_t before = out->len;
    res = tr_b64_decode(s, n, out);
    if (!tr_ok(res)) {
        out->len = before;
        if (res.err == TR_ERR_BAD_BASE64)
            TR_FAIL(TR_ERR_HTTP_BODY_BAD_BASE64);
        goto out;
    }
out:
    json_decref(root);
    return res;
}
