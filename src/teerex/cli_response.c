/* Server response parsers (see cli_response.h). */
#include <string.h>

#include <jansson.h>

#include "cli_response.h"
#include "teerex/codec.h"
#include "teerex/limits.h"

/* The proof of a large circuit is a few hundred KiB; keep a generous cap. */
#define MAX_PROOF ((size_t)32 * 1024 * 1024)
#define MAX_VK ((size_t)1024 * 1024)
#define MAX_PUBLIC_INPUTS ((size_t)16 * 1024 * 1024)

static json_t *load_object(const uint8_t *body, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A base64 string member into out (out->max is the cap). Absent -> *present = 0. */
static tr_result b64_member(json_t *obj, const char *name, struct tr_buf *out, int *present)
{
    json_t *v = json_object_get(obj, name);
    *present = v != NULL;
    if (!v)
        return TR_SUCCESS;
    TR_ENSURE(json_is_string(v), TR_ERR_CLIENT_BAD_RESPONSE);
    size_t n = json_string_length(v);
    TR_ENSURE(n / 4 * 3 <= out->max, TR_ERR_TOO_BIG);
    TR_GUARD(tr_b64_decode(json_string_value(v), n, out));
    return TR_SUCCESS;
}

void cli_attestation_init(struct cli_attestation *a)
{
    a->mode = 0;
    tr_buf_init(&a->public_key, TR_MAX_ARMORED_KEY + 1);
    tr_buf_init(&a->document, TR_MAX_ATTEST_DOC);
}

void cli_attestation_free(struct cli_attestation *a)
{
    tr_buf_free(&a->public_key);
    tr_buf_free(&a->document);
}

tr_result cli_parse_attestation(const uint8_t *body, size_t len, struct cli_attestation *out)
{
    tr_result res = TR_SUCCESS;
    json_t *j = load_object(body, len);
    TR_CHECK(j != NULL, TR_ERR_CLIENT_BAD_RESPONSE);
    tr_buf_clear(&out->public_key);
    tr_buf_clear(&out->document);

    const char *mode = json_string_value(json_object_get(j, "mode"));
    TR_CHECK(mode != NULL, TR_ERR_CLIENT_BAD_RESPONSE);
    if (strcmp(mode, "standard") == 0)
        out->mode = CLI_MODE_STANDARD;
    else if (strcmp(mode, "nitro") == 0)
        out->mode = CLI_MODE_NITRO;
    else
        TR_FAIL(TR_ERR_CLIENT_BAD_MODE);

    json_t *pk = json_object_get(j, "publicKey");
    TR_CHECK(json_is_string(pk), TR_ERR_CLIENT_BAD_RESPONSE);
    size_t pk_len = json_string_length(pk);
    TR_CHECK(pk_len > 0 && pk_len <= TR_MAX_ARMORED_KEY, TR_ERR_CLIENT_BAD_RESPONSE);
    TR_CHECK(memchr(json_string_value(pk), 0, pk_len) == NULL, TR_ERR_CLIENT_BAD_RESPONSE);
    TR_TRY(tr_buf_append(&out->public_key, json_string_value(pk), pk_len + 1));
    out->public_key.len--;

    int present;
    TR_TRY(b64_member(j, "attestationDocument", &out->document, &present));
    if (out->mode == CLI_MODE_NITRO)
        TR_CHECK(present && out->document.len > 0, TR_ERR_CLIENT_NO_DOCUMENT);
out:
    json_decref(j);
    if (!tr_ok(res)) {
        tr_buf_clear(&out->public_key);
        tr_buf_clear(&out->document);
    }
    return res;
}

void cli_proof_init(struct cli_proof *p)
{
    tr_buf_init(&p->proof, MAX_PROOF);
    tr_buf_init(&p->vk, MAX_VK);
    tr_buf_init(&p->public_inputs, MAX_PUBLIC_INPUTS);
    p->fields = 0;
}

void cli_proof_free(struct cli_proof *p)
{
    tr_buf_free(&p->proof);
    tr_buf_free(&p->vk);
    tr_buf_free(&p->public_inputs);
}

tr_result cli_parse_proof(const uint8_t *body, size_t len, struct cli_proof *out)
{
    tr_result res = TR_SUCCESS;
    int present;
    json_t *j = load_object(body, len);
    TR_CHECK(j != NULL, TR_ERR_CLIENT_BAD_RESPONSE);
    tr_buf_clear(&out->proof);
    tr_buf_clear(&out->vk);
    tr_buf_clear(&out->public_inputs);

    TR_TRY(b64_member(j, "proof", &out->proof, &present));
    TR_CHECK(present, TR_ERR_CLIENT_BAD_RESPONSE);
    struct tr_reader r;
    tr_reader_init(&r, out->proof.data, out->proof.len);
    uint32_t count;
    TR_CHECK(tr_ok(tr_read_be32(&r, &count)), TR_ERR_CLIENT_BAD_PROOF);
    TR_CHECK(tr_reader_remaining(&r) % 32 == 0 && tr_reader_remaining(&r) / 32 == count,
             TR_ERR_CLIENT_BAD_PROOF);
    out->fields = count;
    TR_TRY(b64_member(j, "vk", &out->vk, &present));
    TR_TRY(b64_member(j, "publicInputs", &out->public_inputs, &present));
    TR_CHECK(out->public_inputs.len % 32 == 0, TR_ERR_CLIENT_BAD_PROOF);
out:
    json_decref(j);
    if (!tr_ok(res)) {
        tr_buf_clear(&out->proof);
        tr_buf_clear(&out->vk);
        tr_buf_clear(&out->public_inputs);
    }
    return res;
}

static void copy_printable(const char *s, size_t n, char *out, size_t out_size)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[k] = 0;
}

static void string_member(const uint8_t *body, size_t len, const char *name, char *out,
                          size_t out_size)
{
    if (out_size == 0)
        return;
    out[0] = 0;
    json_t *j = load_object(body, len);
    if (!j)
        return;
    json_t *e = json_object_get(j, name);
    if (json_is_string(e))
        copy_printable(json_string_value(e), json_string_length(e), out, out_size);
    json_decref(j);
}

void cli_parse_error(const uint8_t *body, size_t len, char *out, size_t out_size)
{
    string_member(body, len, "error", out, out_size);
}

void cli_parse_error_detail(const uint8_t *body, size_t len, char *out, size_t out_size)
{
    string_member(body, len, "detail", out, out_size);
}

tr_result cli_parse_health(const uint8_t *body, size_t len, struct cli_health *out)
{
    memset(out, 0, sizeof(*out));
    out->api_version = -1;
    json_t *j = load_object(body, len);
    TR_ENSURE(j != NULL, TR_ERR_CLIENT_BAD_RESPONSE);
    json_t *st = json_object_get(j, "status");
    if (json_is_string(st)) {
        copy_printable(json_string_value(st), json_string_length(st), out->status,
                       sizeof(out->status));
        out->ok = strcmp(json_string_value(st), "ok") == 0;
    }
    json_t *why = json_object_get(j, "reasons");
    size_t i, k = 0;
    json_t *v;
    json_array_foreach(why, i, v)
    {
        const char *s = json_string_value(v);
        size_t room = sizeof(out->reasons) - k;
        if (!s || room < 4)
            continue;
        if (k) {
            memcpy(out->reasons + k, "; ", 3);
            k += 2;
            room -= 2;
        }
        copy_printable(s, json_string_length(v), out->reasons + k, room);
        k += strlen(out->reasons + k);
    }
    json_t *api = json_object_get(j, "api_version");
    if (json_is_integer(api))
        out->api_version = (long)json_integer_value(api);
    json_t *vs = json_object_get(j, "available_versions");
    k = 0;
    json_array_foreach(vs, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || out->n_names == CLI_HEALTH_MAX_VERSIONS)
            continue;
        char *one = out->names[out->n_names];
        copy_printable(s, json_string_length(v), one, sizeof(out->names[0]));
        out->n_names++;
        int w = snprintf(out->versions + k, sizeof(out->versions) - k, "%s%s", k ? "," : "", one);
        if (w < 0 || (size_t)w >= sizeof(out->versions) - k)
            continue;
        k += (size_t)w;
    }
    json_decref(j);
    return TR_SUCCESS;
}
