/* user_data of tee-rex documents: the prover bundles the enclave can run,
 * {"versions":[{"version":V,"sha256":H},...],"default":..,"policy":..}
 * (sorted by version), or when that would not fit the NSM's 512 bytes the
 * digest form of docs/PROTOCOL-EXT.md: {"versions_sha256":"<SHA-256 of the
 * compact JSON array [{"version":..,"sha256":..},...]>","count":N,...}. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "attest_internal.h"
#include "teerex/codec.h"

#define E_BB TR_ERR_ATTEST_BB_VERSION_MISMATCH

static tr_result take_hex32(json_t *j, uint8_t out[32])
{
    const char *s = json_string_value(j);
    TR_ENSURE(s != NULL && json_string_length(j) == 64, E_BB);
    TR_ENSURE(tr_ok(tr_hex_decode_fixed(s, out, 32)), E_BB);
    return TR_SUCCESS;
}

static tr_result parse_list(json_t *arr, struct attest_versions *out)
{
    size_t cap = sizeof(out->v) / sizeof(out->v[0]);
    TR_ENSURE(json_is_array(arr) && json_array_size(arr) <= cap, E_BB);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        json_t *ver = json_object_get(o, "version");
        const char *vs = json_string_value(ver);
        TR_ENSURE(json_is_object(o) && vs != NULL && json_string_length(ver) > 0 &&
                      json_string_length(ver) <= TR_MAX_VERSION_LEN &&
                      strlen(vs) == json_string_length(ver),
                  E_BB);
        memcpy(out->v[i].version, vs, json_string_length(ver) + 1);
        TR_GUARD(take_hex32(json_object_get(o, "sha256"), out->v[i].sha256));
    }
    out->n = json_array_size(arr);
    return TR_SUCCESS;
}

TR_RESULT attest_user_data_parse(const uint8_t *p, size_t n, struct attest_versions *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(p != NULL && n > 0 && n <= TR_NSM_MAX_USER_DATA, E_BB);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    TR_ENSURE(root != NULL, E_BB);
    tr_result res = TR_SUCCESS;
    TR_CHECK(json_is_object(root), E_BB);
    json_t *list = json_object_get(root, "versions");
    json_t *dig = json_object_get(root, "versions_sha256");
    json_t *def = json_object_get(root, "default");
    json_t *pol = json_object_get(root, "policy");
    if (def != NULL && !json_is_null(def)) {
        const char *d = json_string_value(def);
        TR_CHECK(d != NULL && json_string_length(def) > 0 &&
                     json_string_length(def) <= TR_MAX_VERSION_LEN &&
                     strlen(d) == json_string_length(def),
                 E_BB);
        memcpy(out->default_version, d, json_string_length(def) + 1);
    }
    if (pol != NULL) {
        const char *p2 = json_string_value(pol);
        TR_CHECK(p2 != NULL && (strcmp(p2, "pinned") == 0 || strcmp(p2, "open") == 0), E_BB);
        memcpy(out->policy, p2, strlen(p2) + 1);
    }
    if (list != NULL) {
        TR_TRY(parse_list(list, out));
    } else {
        TR_CHECK(dig != NULL, E_BB);
        TR_TRY(take_hex32(dig, out->list_sha256));
        out->digest_form = true;
    }
out:
    json_decref(root);
    return res;
}

static int by_version(const void *a, const void *b)
{
    return strcmp(((const struct attest_bb_expect *)a)->version,
                  ((const struct attest_bb_expect *)b)->version);
}

static tr_result dump_append(json_t *j, struct tr_buf *out)
{
    char *s = json_dumps(j, JSON_COMPACT);
    TR_ENSURE(s != NULL, TR_ERR_NOMEM);
    tr_result r = tr_buf_append(out, s, strlen(s));
    free(s);
    return r;
}

/* [{"version":..,"sha256":..},...] sorted by version (a new reference). */
static TR_RESULT sorted_list(const struct attest_bb_expect *v, size_t n, json_t **out)
{
    tr_result res = TR_SUCCESS;
    struct attest_bb_expect *sorted = NULL;
    json_t *list = json_array();
    TR_CHECK(list != NULL, TR_ERR_NOMEM);
    if (n > 0) {
        sorted = calloc(n, sizeof(*sorted));
        TR_CHECK(sorted != NULL, TR_ERR_NOMEM);
        memcpy(sorted, v, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), by_version);
    }
    for (size_t i = 0; i < n; i++) {
        char hex[65];
        tr_hex_to_str(sorted[i].sha256, 32, hex);
        json_t *o = json_pack("{s:s,s:s}", "version", sorted[i].version, "sha256", hex);
        TR_CHECK(o != NULL, TR_ERR_NOMEM);
        TR_CHECK(json_array_append_new(list, o) == 0, TR_ERR_NOMEM);
    }
    *out = list;
    list = NULL;
out:
    json_decref(list);
    free(sorted);
    return res;
}

TR_RESULT attest_user_data_build(const struct attest_bb_expect *v, size_t n, struct tr_buf *out,
                                 bool *digest_form)
{
    TR_ENSURE_REF(out);
    TR_ENSURE_REF(digest_form);
    TR_ENSURE(n == 0 || v != NULL, TR_ERR_NULL_ARG);
    tr_result res = TR_SUCCESS;
    json_t *root = json_object(), *list = NULL, *small = NULL;
    struct tr_buf full;
    tr_buf_init(&full, 1 << 20);
    TR_CHECK(root != NULL, TR_ERR_NOMEM);
    TR_TRY(sorted_list(v, n, &list));
    TR_CHECK(json_object_set(root, "versions", list) == 0, TR_ERR_NOMEM);
    TR_TRY(dump_append(root, &full));
    if (full.len <= TR_NSM_MAX_USER_DATA) {
        *digest_form = false;
        TR_TRY(tr_buf_append(out, full.data, full.len));
    } else {
        /* the hash covers the compact JSON array (as teerexd writes it) */
        uint8_t h[32];
        char hex[65];
        tr_buf_clear(&full);
        TR_TRY(dump_append(list, &full));
        SHA256(full.data, full.len, h);
        tr_hex_to_str(h, 32, hex);
        small = json_pack("{s:s,s:I}", "versions_sha256", hex, "count", (json_int_t)n);
        TR_CHECK(small != NULL, TR_ERR_NOMEM);
        *digest_form = true;
        TR_TRY(dump_append(small, out));
    }
out:
    json_decref(small);
    json_decref(list);
    json_decref(root);
    tr_buf_free(&full);
    return res;
}

tr_result attest_user_data_list_sha256(const struct attest_bb_expect *v, size_t n, uint8_t out[32])
{
    /* the same compact, sorted array attest_user_data_build hashes */
    TR_ENSURE(n == 0 || v != NULL, TR_ERR_NULL_ARG);
    json_t *list = NULL;
    struct tr_buf full;
    tr_buf_init(&full, 1 << 20);
    tr_result res = sorted_list(v, n, &list);
    if (tr_ok(res))
        res = dump_append(list, &full);
    if (tr_ok(res))
        SHA256(full.data, full.len, out);
    json_decref(list);
    tr_buf_free(&full);
    return res;
}
