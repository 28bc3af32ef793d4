/* POST /prove body: {"data":"<base64 of the OpenPGP message>"} on jansson.
 *
 * Mirrors what the reference server's express.json() + shape check answer:
 * a body that is not a JSON object or array is "Malformed request body"; any
 * JSON without a string `data` is "Invalid request body". */
#include <string.h>

#include <jansson.h>

#include "teerex/codec.h"
#include "teerex/http.h"

static int b64_byte(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* The one shape every SDK sends, byte for byte: {"data":"<base64>"} (what
 * JSON.stringify produces). Base64 text has no escapes, so such a body is
 * valid JSON whose `data` is exactly the bytes between the quotes; it is
 * decoded in place of the input. Why not jansson here: for a 22 MB body
 * jansson lexes byte by byte and copies the string three times (measured:
 * ~25 % of teerexd's CPU per 16 MiB /prove). Anything else — whitespace,
 * other keys, escapes — goes to jansson below, so the answer is the same. */
static int exact_shape(const uint8_t *body, size_t len, struct tr_slice *out_b64)
{
    static const char head[] = "{\"data\":\"";
    const size_t hl = sizeof(head) - 1;
    if (len < hl + 2 || memcmp(body, head, hl) != 0 || body[len - 2] != '"' || body[len - 1] != '}')
        return 0;
    for (size_t i = hl; i < len - 2; i++) {
        if (!b64_byte(body[i]))
            return 0;
    }
    *out_b64 = tr_slice_of(body + hl, len - hl - 2);
    return 1;
}

static tr_result decode_data(const char *s, size_t n, struct tr_buf *out)
{
    size_t before = out->len;
    tr_result r = tr_b64_decode(s, n, out);
    if (!tr_ok(r)) {
        out->len = before;
        if (r.err == TR_ERR_BAD_BASE64)
            TR_BAIL(TR_ERR_HTTP_BODY_BAD_BASE64);
    }
    return r;
}

tr_result http_prove_body_parse(const uint8_t *body, size_t len, struct tr_buf *out)
{
    TR_ENSURE_REF(out);
    struct tr_slice b64;
    if (body != NULL && exact_shape(body, len, &b64))
        return decode_data((const char *)b64.ptr, b64.len, out);
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
    res = decode_data(json_string_value(data), json_string_length(data), out);
out:
    json_decref(root);
    return res;
}
