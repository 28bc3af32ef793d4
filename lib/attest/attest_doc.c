/* Attestation payload: the CBOR map AWS documents (module_id, digest,
 * timestamp, pcrs, certificate, cabundle, public_key, user_data, nonce),
 * type-checked field by field over the cose_cbor accessors. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cbor.h>

#include "attest_internal.h"

#define E_DOC TR_ERR_ATTEST_INVALID_DOCUMENT

void attest_detail(struct attest_result *out, const char *fmt, ...)
{
    if (out == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
    va_end(ap);
}

void attest_result_init(struct attest_result *r)
{
    memset(r, 0, sizeof(*r));
    tr_buf_init(&r->public_key, TR_NSM_MAX_PUBLIC_KEY);
    tr_buf_init(&r->user_data, TR_NSM_MAX_USER_DATA);
    tr_buf_init(&r->nonce, TR_NSM_MAX_NONCE);
}

void attest_result_free(struct attest_result *r)
{
    if (r == NULL)
        return;
    tr_buf_free(&r->public_key);
    tr_buf_free(&r->user_data);
    tr_buf_free(&r->nonce);
}

void attest_parsed_free(struct attest_parsed *p)
{
    if (p == NULL)
        return;
    cose_sign1_free(&p->cose);
    if (p->payload != NULL)
        cbor_decref(&p->payload);
    memset(p, 0, sizeof(*p));
}

/* A required field: present exactly once. */
static tr_result need(const cbor_item_t *map, const char *key, struct attest_result *out,
                      struct cbor_item_t **it)
{
    TR_GUARD(cose_cbor_map_get(map, key, E_DOC, it));
    if (*it == NULL) {
        attest_detail(out, "payload field %s is missing", key);
        TR_BAIL(E_DOC);
    }
    return TR_SUCCESS;
}

static tr_result bad(struct attest_result *out, const char *what)
{
    attest_detail(out, "%s", what);
    TR_BAIL(E_DOC);
}

/* Optional public_key / user_data / nonce: absent, null or a bstr <= max. */
static tr_result opt_bytes(const cbor_item_t *map, const char *key, size_t max,
                           struct attest_result *out, struct tr_buf *dst, bool *has)
{
    struct cbor_item_t *it = NULL;
    struct tr_slice s;
    *has = false;
    TR_GUARD(cose_cbor_map_get(map, key, E_DOC, &it));
    if (it == NULL || cose_cbor_is_null(it))
        return TR_SUCCESS;
    if (!tr_ok(cose_cbor_bytes(it, E_DOC, &s)) || s.len > max) {
        attest_detail(out, "payload field %s is not a byte string of at most %zu bytes", key, max);
        TR_BAIL(E_DOC);
    }
    tr_buf_clear(dst);
    TR_GUARD(tr_buf_append(dst, s.ptr, s.len));
    *has = s.len > 0;
    return TR_SUCCESS;
}

static tr_result parse_pcrs(const cbor_item_t *pcrs, struct attest_result *out)
{
    if (!cbor_isa_map(pcrs) || cbor_map_size(pcrs) == 0 || cbor_map_size(pcrs) > ATTEST_MAX_PCRS)
        return bad(out, "pcrs is not a map of 1 to 32 entries");
    struct cbor_pair *m = cbor_map_handle(pcrs);
    for (size_t i = 0; i < cbor_map_size(pcrs); i++) {
        uint64_t idx;
        struct tr_slice v;
        if (!tr_ok(cose_cbor_uint(m[i].key, E_DOC, &idx)) || idx >= ATTEST_MAX_PCRS)
            return bad(out, "a pcrs index is not an integer 0..31");
        if (out->pcr_mask & (1u << idx))
            return bad(out, "a pcrs index appears twice");
        if (!tr_ok(cose_cbor_bytes(m[i].value, E_DOC, &v)) ||
            (v.len != 32 && v.len != 48 && v.len != 64))
            return bad(out, "a pcrs value is not a 32, 48 or 64 byte string");
        out->pcr_mask |= 1u << idx;
        out->pcr_len[idx] = (uint8_t)v.len;
        memcpy(out->pcrs[idx], v.ptr, v.len);
    }
    return TR_SUCCESS;
}

static tr_result parse_cabundle(const cbor_item_t *cab, struct attest_parsed *p,
                                struct attest_result *out)
{
    if (cose_cbor_is_null(cab))
        return TR_SUCCESS; /* no chain: step 3 fails with CHAIN_FAILED */
    if (!cbor_isa_array(cab) || cbor_array_size(cab) > ATTEST_MAX_CABUNDLE)
        return bad(out, "cabundle is not an array of at most 16 certificates");
    cbor_item_t **a = cbor_array_handle(cab);
    for (size_t i = 0; i < cbor_array_size(cab); i++) {
        if (!tr_ok(cose_cbor_bytes(a[i], E_DOC, &p->cabundle[i])) || p->cabundle[i].len == 0)
            return bad(out, "a cabundle entry is not a non-empty byte string");
    }
    p->n_cabundle = cbor_array_size(cab);
    out->cabundle_len = p->n_cabundle;
    return TR_SUCCESS;
}

static tr_result parse_payload(const cbor_item_t *map, struct attest_parsed *p,
                               struct attest_result *out)
{
    struct cbor_item_t *it = NULL;
    struct tr_slice s;
    uint64_t ts;

    if (!cbor_isa_map(map))
        return bad(out, "payload is not a map");
    if (!tr_ok(cose_cbor_map_unique(map, E_DOC)))
        return bad(out, "payload has a duplicated key");
    struct cbor_pair *m = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        if (!cbor_isa_string(m[i].key))
            return bad(out, "payload has a key that is not text");
    }
    TR_GUARD(need(map, "module_id", out, &it));
    if (!tr_ok(cose_cbor_text(it, E_DOC, &s)) || s.len == 0 || s.len >= sizeof(out->module_id) ||
        memchr(s.ptr, 0, s.len) != NULL)
        return bad(out, "module_id is not a non-empty text of at most 127 bytes");
    memcpy(out->module_id, s.ptr, s.len);
    out->module_id[s.len] = '\0';

    TR_GUARD(need(map, "digest", out, &it));
    if (!cose_cbor_text_eq(it, "SHA384"))
        return bad(out, "digest is not \"SHA384\"");
    snprintf(out->digest, sizeof(out->digest), "SHA384");

    TR_GUARD(need(map, "timestamp", out, &it));
    if (!tr_ok(cose_cbor_uint(it, E_DOC, &ts)) || ts == 0)
        return bad(out, "timestamp is not a positive integer");
    out->timestamp_ms = ts;

    TR_GUARD(need(map, "pcrs", out, &it));
    TR_GUARD(parse_pcrs(it, out));

    TR_GUARD(need(map, "certificate", out, &it));
    if (!tr_ok(cose_cbor_bytes(it, E_DOC, &p->cert)) || p->cert.len == 0)
        return bad(out, "certificate is not a non-empty byte string");

    TR_GUARD(need(map, "cabundle", out, &it));
    TR_GUARD(parse_cabundle(it, p, out));

    TR_GUARD(opt_bytes(map, "public_key", TR_NSM_MAX_PUBLIC_KEY, out, &out->public_key,
                       &out->has_public_key));
    TR_GUARD(opt_bytes(map, "user_data", TR_NSM_MAX_USER_DATA, out, &out->user_data,
                       &out->has_user_data));
    TR_GUARD(opt_bytes(map, "nonce", TR_NSM_MAX_NONCE, out, &out->nonce, &out->has_nonce));
    return TR_SUCCESS;
}

/* Everything a decode fills, back to "nothing decoded" (the byte buffers keep
 * their allocation and cap): a decode never leaves a field of an earlier one. */
static void result_clear(struct attest_result *r)
{
    struct tr_buf pk = r->public_key, ud = r->user_data, nonce = r->nonce;
    tr_buf_clear(&pk);
    tr_buf_clear(&ud);
    tr_buf_clear(&nonce);
    memset(r, 0, sizeof(*r));
    r->public_key = pk;
    r->user_data = ud;
    r->nonce = nonce;
}

tr_result attest_doc_parse(const uint8_t *doc, size_t len, struct attest_parsed *p,
                           struct attest_result *out)
{
    if (p != NULL)
        memset(p, 0, sizeof(*p));
    TR_ENSURE_REF(p);
    TR_ENSURE_REF(out);
    result_clear(out);
    TR_ENSURE_REF(doc);
    tr_result r = cose_sign1_parse(doc, len, &p->cose);
    out->cose_tagged = p->cose.tagged;
    if (!tr_ok(r)) {
        attest_detail(out,
                      r.err == TR_ERR_ATTEST_TOO_BIG ? "document larger than %zu bytes"
                                                     : "not an ES384 COSE_Sign1 (%zu bytes)",
                      r.err == TR_ERR_ATTEST_TOO_BIG ? (size_t)TR_MAX_ATTEST_DOC : len);
        return r;
    }
    r = cose_cbor_load(p->cose.payload.ptr, p->cose.payload.len, E_DOC, &p->payload);
    if (!tr_ok(r)) {
        attest_detail(out, "payload is not well-formed bounded CBOR");
        return r;
    }
    return parse_payload(p->payload, p, out);
}

TR_RESULT attest_doc_decode(const uint8_t *doc, size_t len, struct attest_result *out)
{
    struct attest_parsed p;
    memset(&p, 0, sizeof(p)); /* freed below whatever parse returns */
    tr_result r = attest_doc_parse(doc, len, &p, out);
    attest_parsed_free(&p);
    return r;
}
