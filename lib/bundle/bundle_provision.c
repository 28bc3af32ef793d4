/* Provisioning messages between teerexd and the host's provisioning
 * service (see bundle.h): one JSON line each way, read with jansson. Both
 * sides treat the other as untrusted: the enclave does not trust the host,
 * the service listens where any local process (or enclave) can connect. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "teerex/bundle.h"

static const char *const CODES[] = {"unknown_version", "no_binary", "integrity",
                                    "does_not_run",    "runtime",   "network",
                                    "refused",         "busy",      "internal"};

static bool known_code(const char *c)
{
    for (size_t i = 0; i < sizeof(CODES) / sizeof(CODES[0]); i++)
        if (strcmp(c, CODES[i]) == 0)
            return true;
    return false;
}

static json_t *load_line(const char *line, size_t n, size_t max)
{
    if (line == NULL || n == 0 || n > max || memchr(line, '\n', n) || memchr(line, '\0', n))
        return NULL;
    json_error_t e;
    json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &e);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A string member that passes check (or is absent when optional). */
static bool take(json_t *o, const char *key, bool (*check)(const char *), char *out, size_t cap,
                 bool optional)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        out[0] = '\0';
        return optional;
    }
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) >= cap || strlen(s) != json_string_length(v) ||
        !check(s))
        return false;
    memcpy(out, s, json_string_length(v) + 1);
    return true;
}

static bool any_text(const char *s)
{
    (void)s;
    return true;
}

tr_result bundle_prov_request_parse(const char *line, size_t n, struct bundle_prov_request *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    json_t *j = load_line(line, n, BUNDLE_PROV_REQUEST_MAX);
    TR_ENSURE(j != NULL, TR_ERR_BUNDLE_PROVISION_MSG);
    bool ok = json_object_size(j) <= 2 &&
              take(j, "version", bundle_version_valid, out->version, sizeof(out->version), false) &&
              take(j, "digest", bundle_digest_valid, out->digest, sizeof(out->digest), true);
    json_decref(j);
    TR_ENSURE(ok, TR_ERR_BUNDLE_PROVISION_MSG);
    return TR_SUCCESS;
}

tr_result bundle_prov_reply_parse(const char *line, size_t n, struct bundle_prov_reply *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    json_t *j = load_line(line, n, BUNDLE_PROV_REPLY_MAX);
    TR_ENSURE(j != NULL, TR_ERR_BUNDLE_PROVISION_MSG);
    tr_result res = TR_SUCCESS;
    if (json_object_get(j, "error") != NULL) {
        char detail[2048];
        TR_CHECK(take(j, "error", known_code, out->error, sizeof(out->error), false) &&
                     take(j, "detail", any_text, detail, sizeof(detail), true),
                 TR_ERR_BUNDLE_PROVISION_MSG);
        /* the host's words end up in our answers and logs: printable ASCII only */
        size_t k = 0;
        for (size_t i = 0; detail[i] && k + 1 < sizeof(out->detail); i++)
            out->detail[k++] = detail[i] >= 0x20 && detail[i] < 0x7f ? detail[i] : '?';
        out->detail[k] = '\0';
        goto out;
    }
    json_t *size = json_object_get(j, "size");
    TR_CHECK(json_object_size(j) == 3 && json_is_integer(size) && json_integer_value(size) > 0 &&
                 (uint64_t)json_integer_value(size) <= BUNDLE_MAX_TOTAL_BYTES + (1u << 20),
             TR_ERR_BUNDLE_PROVISION_MSG);
    TR_CHECK(take(j, "version", bundle_version_valid, out->version, sizeof(out->version), false) &&
                 take(j, "digest", bundle_digest_valid, out->digest, sizeof(out->digest), false),
             TR_ERR_BUNDLE_PROVISION_MSG);
    out->size = (uint64_t)json_integer_value(size);
    out->ok = true;
out:
    json_decref(j);
    return res;
}

static TR_RESULT dump_line(json_t *j, size_t max, struct tr_buf *out)
{
    TR_ENSURE(j != NULL, TR_ERR_NOMEM);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    TR_ENSURE(s != NULL, TR_ERR_NOMEM);
    size_t n = strlen(s);
    tr_result r =
        n <= max ? tr_buf_append(out, s, n) : tr_fail_at(TR_ERR_TOO_BIG, __FILE__, __LINE__);
    free(s);
    TR_GUARD(r);
    return tr_buf_append_u8(out, '\n');
}

tr_result bundle_prov_request_write(const struct bundle_prov_request *rq, struct tr_buf *out)
{
    TR_ENSURE(bundle_version_valid(rq->version), TR_ERR_BUNDLE_PROVISION_MSG);
    json_t *j = json_pack("{s:s}", "version", rq->version);
    if (j && rq->digest[0])
        json_object_set_new(j, "digest", json_string(rq->digest));
    return dump_line(j, BUNDLE_PROV_REQUEST_MAX, out);
}

tr_result bundle_prov_reply_write(const struct bundle_prov_reply *rp, struct tr_buf *out)
{
    json_t *j;
    if (rp->ok) {
        TR_ENSURE(bundle_version_valid(rp->version) && bundle_digest_valid(rp->digest),
                  TR_ERR_BUNDLE_PROVISION_MSG);
        j = json_pack("{s:s,s:s,s:I}", "version", rp->version, "digest", rp->digest, "size",
                      (json_int_t)rp->size);
    } else {
        TR_ENSURE(known_code(rp->error), TR_ERR_BUNDLE_PROVISION_MSG);
        char detail[400]; /* keeps the line under BUNDLE_PROV_REPLY_MAX even escaped */
        size_t k = 0;
        for (size_t i = 0; rp->detail[i] && k + 1 < sizeof(detail); i++)
            detail[k++] = rp->detail[i] >= 0x20 && rp->detail[i] < 0x7f ? rp->detail[i] : '?';
        detail[k] = '\0';
        j = json_pack("{s:s,s:s}", "error", rp->error, "detail", detail);
    }
    return dump_line(j, BUNDLE_PROV_REPLY_MAX, out);
}
