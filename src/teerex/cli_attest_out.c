/* Printing an attest_result for `teerex attest verify|show`. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli_attest_out.h"
#include "teerex/codec.h"

static void iso_ms(uint64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

static json_t *hex_or_null(bool present, const struct tr_buf *b)
{
    if (!present)
        return json_null();
    struct tr_buf h;
    tr_buf_init(&h, 8192);
    json_t *j =
        tr_ok(tr_hex_encode(b->data, b->len, &h)) ? json_string((const char *)h.data) : json_null();
    tr_buf_free(&h);
    return j;
}

/* user_data / public_key as text when printable UTF-8-ish ASCII, else NULL. */
static bool printable(const struct tr_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
            return false;
    }
    return b->len > 0;
}

static json_t *result_json(const struct attest_result *r, int32_t err, int code, bool verified)
{
    char ts[40], at[40];
    iso_ms(r->timestamp_ms, ts, sizeof(ts));
    iso_ms(r->checked_at_ms, at, sizeof(at));
    json_t *pcrs = json_object();
    for (unsigned i = 0; i < ATTEST_MAX_PCRS; i++) {
        if (!(r->pcr_mask & (1u << i)))
            continue;
        char hex[129], key[4];
        tr_hex_to_str(r->pcrs[i], r->pcr_len[i], hex);
        snprintf(key, sizeof(key), "%u", i);
        json_object_set_new(pcrs, key, json_string(hex));
    }
    enum attest_class cls = attest_class_of(err);
    json_t *j = json_pack(
        "{s:b,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:s,s:s,s:o,s:I,s:b}", "ok", err == TR_OK, "verified",
        verified ? "full" : "decoded-only", "error", err == TR_OK ? "" : tr_err_name(err), "class",
        attest_class_name(cls), "exit", code, "detail", r->detail, "module_id", r->module_id,
        "timestamp_ms", (json_int_t)r->timestamp_ms, "timestamp", ts, "digest", r->digest, "pcrs",
        pcrs, "cabundle", (json_int_t)r->cabundle_len, "cose_tagged", r->cose_tagged);
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "public_key", hex_or_null(r->has_public_key, &r->public_key));
    json_object_set_new(j, "user_data", hex_or_null(r->has_user_data, &r->user_data));
    json_object_set_new(j, "nonce", hex_or_null(r->has_nonce, &r->nonce));
    if (r->has_user_data && printable(&r->user_data))
        json_object_set_new(j, "user_data_text",
                            json_stringn((const char *)r->user_data.data, r->user_data.len));
    json_object_set_new(j, "certificate",
                        json_pack("{s:s,s:I,s:I}", "subject", r->cert_subject, "not_before",
                                  (json_int_t)r->cert_not_before, "not_after",
                                  (json_int_t)r->cert_not_after));
    if (verified) {
        json_object_set_new(j, "checked_at", json_string(at));
        json_object_set_new(j, "chain_ok", json_boolean(r->chain_ok));
        json_object_set_new(j, "signature_ok", json_boolean(r->signature_ok));
    }
    return j;
}

bool cli_attest_is_debug(const struct attest_result *r)
{
    if (!(r->pcr_mask & 1u))
        return false;
    for (size_t i = 0; i < r->pcr_len[0]; i++) {
        if (r->pcrs[0][i] != 0)
            return false;
    }
    return true;
}

void cli_attest_warn_unpinned(const struct attest_result *r, size_t n_pcrs)
{
    if (cli_attest_is_debug(r))
        fprintf(stderr, "WARNING: DEBUG-MODE ENCLAVE (all-zero PCRs): the host can read its "
                        "memory; accepted only because --allow-debug-mode was given.\n");
    if (n_pcrs == 0)
        fprintf(stderr, "WARNING: NO PCR PINNED: this proves that *some* Nitro enclave made the "
                        "document, not which code runs in it. Pass --pcr 0=<PCR0> (or 2=<PCR2>) "
                        "from the release's pcrs.json.\n");
}

void cli_attest_print_error(int32_t err)
{
    enum attest_class cls = attest_class_of(err);
    json_t *j = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", tr_err_name(err), "class",
                          attest_class_name(cls));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

void cli_attest_print(const struct attest_result *r, int32_t err, int code, bool verified,
                      bool json)
{
    if (json) {
        json_t *j = result_json(r, err, code, verified);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
        return;
    }
    char ts[40];
    iso_ms(r->timestamp_ms, ts, sizeof(ts));
    if (r->module_id[0]) {
        printf("module_id   %s\n", r->module_id);
        printf("timestamp   %s (%llu ms)\n", ts, (unsigned long long)r->timestamp_ms);
        printf("digest      %s\n", r->digest);
        for (unsigned i = 0; i < ATTEST_MAX_PCRS; i++) {
            if (!(r->pcr_mask & (1u << i)))
                continue;
            char hex[129];
            tr_hex_to_str(r->pcrs[i], r->pcr_len[i], hex);
            printf("PCR%-2u       %s\n", i, hex);
        }
        printf("certificate %s\n", r->cert_subject[0] ? r->cert_subject : "(not parsed)");
        printf("cabundle    %zu certificates\n", r->cabundle_len);
        printf("public_key  %zu bytes\n", r->has_public_key ? r->public_key.len : (size_t)0);
        if (r->has_user_data && printable(&r->user_data))
            printf("user_data   %.*s\n", (int)r->user_data.len, (const char *)r->user_data.data);
        else
            printf("user_data   %zu bytes\n", r->has_user_data ? r->user_data.len : (size_t)0);
        if (r->has_nonce) {
            struct tr_buf h;
            tr_buf_init(&h, 2048);
            if (tr_ok(tr_hex_encode(r->nonce.data, r->nonce.len, &h)))
                printf("nonce       %s\n", (const char *)h.data);
            tr_buf_free(&h);
        } else {
            printf("nonce       (none)\n");
        }
    }
    if (err == TR_OK) {
        printf(verified ? "OK: every check passed\n" : "decoded (not verified)\n");
    } else {
        fprintf(stderr, "FAILED %s (%s): %s [exit %d]\n", attest_class_name(attest_class_of(err)),
                tr_err_name(err), r->detail[0] ? r->detail : tr_err_desc(err), code);
    }
}
