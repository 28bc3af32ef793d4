/* attest_verify: the five steps of include/teerex/attest.h, and the mapping
 * of error codes to the failure classes the TypeScript SDK reports. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "attest_internal.h"
#include "teerex/clock.h"
#include "teerex/codec.h"

enum attest_class attest_class_of(int32_t err)
{
    switch (err) {
    case TR_ERR_ATTEST_INVALID_COSE:
    case TR_ERR_ATTEST_TOO_BIG: return ATTEST_CLASS_INVALID_COSE;
    case TR_ERR_ATTEST_INVALID_DOCUMENT: return ATTEST_CLASS_INVALID_DOCUMENT;
    case TR_ERR_ATTEST_CHAIN_FAILED: return ATTEST_CLASS_CHAIN_FAILED;
    case TR_ERR_ATTEST_SIGNATURE_FAILED: return ATTEST_CLASS_SIGNATURE_FAILED;
    case TR_ERR_ATTEST_EXPIRED:
    case TR_ERR_ATTEST_STALE: return ATTEST_CLASS_EXPIRED;
    case TR_ERR_ATTEST_PCR_MISMATCH: return ATTEST_CLASS_PCR_MISMATCH;
    case TR_ERR_ATTEST_NONCE_MISMATCH: return ATTEST_CLASS_NONCE_MISMATCH;
    case TR_ERR_ATTEST_MISSING_KEY:
    case TR_ERR_ATTEST_KEY_MISMATCH: return ATTEST_CLASS_MISSING_KEY;
    case TR_ERR_ATTEST_BB_VERSION_MISMATCH: return ATTEST_CLASS_BB_VERSION_MISMATCH;
    case TR_ERR_ATTEST_DEBUG_MODE: return ATTEST_CLASS_DEBUG_MODE;
    default: return ATTEST_CLASS_NONE;
    }
}

const char *attest_class_name(enum attest_class cls)
{
    static const char *const names[ATTEST_CLASS_COUNT] = {
        "INVALID_COSE", "INVALID_DOCUMENT", "CHAIN_FAILED", "SIGNATURE_FAILED",    "EXPIRED",
        "PCR_MISMATCH", "NONCE_MISMATCH",   "MISSING_KEY",  "BB_VERSION_MISMATCH", "DEBUG_MODE",
    };
    if (cls < 0 || cls >= ATTEST_CLASS_COUNT)
        return "NONE";
    return names[cls];
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
    }
    return true;
}

static bool two(const char *s, int *out)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return false;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). strptime
 * does not take fractions or numeric offsets with a colon everywhere, so the
 * fixed layout is read by hand. */
static tr_result parse_rfc3339(const char *s, uint64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int yh, yl, mo, d, h, mi, se;
    TR_ENSURE(strlen(s) >= 20, TR_ERR_ATTEST_BAD_TIME);
    TR_ENSURE(two(s, &yh) && two(s + 2, &yl) && s[4] == '-' && two(s + 5, &mo) && s[7] == '-' &&
                  two(s + 8, &d) && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
                  two(s + 11, &h) && s[13] == ':' && two(s + 14, &mi) && s[16] == ':' &&
                  two(s + 17, &se),
              TR_ERR_ATTEST_BAD_TIME);
    TR_ENSURE(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60,
              TR_ERR_ATTEST_BAD_TIME);
    const char *p = s + 19;
    uint64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        TR_ENSURE(isdigit((unsigned char)*p), TR_ERR_ATTEST_BAD_TIME);
        size_t nd = 0;
        for (; isdigit((unsigned char)*p); p++, nd++) {
            if (nd < 3)
                frac_ms = frac_ms * 10 + (uint64_t)(*p - '0');
        }
        for (; nd < 3; nd++)
            frac_ms *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        TR_ENSURE(two(p + 1, &oh) && p[3] == ':' && two(p + 4, &om) && oh <= 23 && om <= 59,
                  TR_ERR_ATTEST_BAD_TIME);
        off_s = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        TR_BAIL(TR_ERR_ATTEST_BAD_TIME);
    }
    TR_ENSURE(*p == '\0', TR_ERR_ATTEST_BAD_TIME);
    tm.tm_year = yh * 100 + yl - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    int64_t t = (int64_t)timegm(&tm) - off_s;
    TR_ENSURE(t > 0, TR_ERR_ATTEST_BAD_TIME);
    *ms = (uint64_t)t * 1000 + frac_ms;
    return TR_SUCCESS;
}

TR_RESULT attest_parse_time(const char *s, enum attest_at *at, uint64_t *at_ms)
{
    TR_ENSURE_REF(s);
    TR_ENSURE_REF(at);
    TR_ENSURE_REF(at_ms);
    if (strcmp(s, "doc") == 0) {
        *at = ATTEST_AT_DOC;
        *at_ms = 0;
        return TR_SUCCESS;
    }
    if (strcmp(s, "now") == 0) {
        *at = ATTEST_AT_NOW;
        *at_ms = 0;
        return TR_SUCCESS;
    }
    if (all_digits(s)) {
        uint64_t secs;
        TR_ENSURE(tr_ok(tr_parse_u64(s, UINT64_MAX / 1000, &secs)), TR_ERR_ATTEST_BAD_TIME);
        *at = ATTEST_AT_TIME;
        *at_ms = secs * 1000;
        return TR_SUCCESS;
    }
    TR_GUARD(parse_rfc3339(s, at_ms));
    *at = ATTEST_AT_TIME;
    return TR_SUCCESS;
}

static tr_result check_fresh(const struct attest_expect *exp, struct attest_result *out)
{
    if (exp->max_age_ms == ATTEST_NO_MAX_AGE)
        return TR_SUCCESS;
    uint64_t max_age = exp->max_age_ms ? exp->max_age_ms : ATTEST_DEFAULT_MAX_AGE_MS;
    uint64_t at = out->checked_at_ms, ts = out->timestamp_ms;
    if (ts > at && ts - at > ATTEST_CLOCK_SKEW_MS) {
        attest_detail(out, "timestamp is %llu ms in the future", (unsigned long long)(ts - at));
        TR_BAIL(TR_ERR_ATTEST_STALE);
    }
    if (at > ts && at - ts > max_age + ATTEST_CLOCK_SKEW_MS) {
        attest_detail(out, "document is %llu ms old (max %llu ms + 30 s skew)",
                      (unsigned long long)(at - ts), (unsigned long long)max_age);
        TR_BAIL(TR_ERR_ATTEST_STALE);
    }
    return TR_SUCCESS;
}

/* A debug-mode enclave reports every PCR as zeros (PCR0 is always present). */
static bool debug_mode(const struct attest_result *out)
{
    if (!(out->pcr_mask & 1u))
        return false;
    uint8_t acc = 0;
    for (size_t i = 0; i < out->pcr_len[0]; i++)
        acc |= out->pcrs[0][i];
    return acc == 0;
}

static tr_result check_pcrs(const struct attest_expect *exp, struct attest_result *out)
{
    if (exp->refuse_debug_mode && debug_mode(out)) {
        attest_detail(out, "PCR0 is all zeros: the enclave runs in debug mode (nitro-cli "
                           "--debug-mode); refused unless debug mode is explicitly allowed");
        TR_BAIL(TR_ERR_ATTEST_DEBUG_MODE);
    }
    /* Several values for one index mean "any of them" (the old and the new
     * image during a rollout); every index named must match one. */
    uint32_t named = 0, matched = 0;
    for (size_t i = 0; i < exp->n_pcrs; i++) {
        const struct attest_pcr_expect *e = &exp->pcrs[i];
        TR_ENSURE(e->index < ATTEST_MAX_PCRS && (e->len == 32 || e->len == 48 || e->len == 64),
                  TR_ERR_ATTEST_BAD_EXPECT);
        named |= 1u << e->index;
        if ((out->pcr_mask & (1u << e->index)) && out->pcr_len[e->index] == e->len &&
            CRYPTO_memcmp(out->pcrs[e->index], e->value, e->len) == 0)
            matched |= 1u << e->index;
    }
    for (unsigned i = 0; i < ATTEST_MAX_PCRS; i++) {
        if ((named & (1u << i)) && !(matched & (1u << i))) {
            attest_detail(out, "PCR%u differs from the expected value%s", i,
                          exp->n_pcrs > 1 ? " (or values)" : "");
            TR_BAIL(TR_ERR_ATTEST_PCR_MISMATCH);
        }
    }
    return TR_SUCCESS;
}

static tr_result check_keys(const struct attest_expect *exp, struct attest_result *out)
{
    if (exp->nonce != NULL &&
        (out->nonce.len != exp->nonce_len ||
         (exp->nonce_len > 0 && CRYPTO_memcmp(out->nonce.data, exp->nonce, exp->nonce_len) != 0))) {
        attest_detail(out, "nonce differs from the expected one (%zu bytes attested)",
                      out->nonce.len);
        TR_BAIL(TR_ERR_ATTEST_NONCE_MISMATCH);
    }
    if ((exp->require_public_key || exp->public_key != NULL) && !out->has_public_key) {
        attest_detail(out, "the document has no public_key");
        TR_BAIL(TR_ERR_ATTEST_MISSING_KEY);
    }
    if (exp->public_key != NULL &&
        (out->public_key.len != exp->public_key_len ||
         memcmp(out->public_key.data, exp->public_key, exp->public_key_len) != 0)) {
        attest_detail(out, "the attested public_key differs from the served key");
        TR_BAIL(TR_ERR_ATTEST_KEY_MISMATCH);
    }
    return TR_SUCCESS;
}

static tr_result check_bb(const struct attest_expect *exp, struct attest_result *out)
{
    if (exp->n_bb == 0 && !exp->require_pinned)
        return TR_SUCCESS;
    struct attest_versions *v = OPENSSL_zalloc(sizeof(*v));
    TR_ENSURE(v != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    if (!out->has_user_data ||
        !tr_ok(attest_user_data_parse(out->user_data.data, out->user_data.len, v))) {
        attest_detail(out, "user_data carries no prover version list");
        TR_FAIL(TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    }
    for (size_t i = 0; i < exp->n_bb && !v->digest_form; i++) {
        bool found = false;
        for (size_t j = 0; j < v->n && !found; j++) {
            found = strcmp(v->v[j].version, exp->bb[i].version) == 0 &&
                    memcmp(v->v[j].sha256, exp->bb[i].sha256, 32) == 0;
        }
        if (!found) {
            attest_detail(out, "bb %s with the expected sha256 is not attested",
                          exp->bb[i].version);
            TR_FAIL(TR_ERR_ATTEST_BB_VERSION_MISMATCH);
        }
    }
    if (v->digest_form && exp->n_bb > 0) {
        /* Only a digest of the full list is attested: the expectation must
         * be that whole list (sorted), whose digest is then compared. */
        uint8_t h[32];
        tr_result r = attest_user_data_list_sha256(exp->bb, exp->n_bb, h);
        if (!tr_ok(r) || CRYPTO_memcmp(h, v->list_sha256, 32) != 0) {
            attest_detail(out, "user_data holds a digest of a version list that differs");
            TR_FAIL(TR_ERR_ATTEST_BB_VERSION_MISMATCH);
        }
    }
    if (exp->require_pinned && strcmp(v->policy, "pinned") != 0) {
        attest_detail(out, "the enclave's bundle policy is %s, pinned is required",
                      v->policy[0] ? v->policy : "not stated");
        TR_FAIL(TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    }
out:
    OPENSSL_free(v);
    return res;
}

TR_RESULT attest_verify(const uint8_t *doc, size_t len, const struct attest_expect *exp,
                        struct attest_result *out)
{
    TR_ENSURE_REF(out);
    TR_ENSURE_REF(exp);
    tr_result res = TR_SUCCESS;
    struct attest_parsed p;
    EVP_PKEY *leaf_key = NULL;
    TR_TRY(attest_doc_parse(doc, len, &p, out));
    switch (exp->at) {
    case ATTEST_AT_DOC: out->checked_at_ms = out->timestamp_ms; break;
    case ATTEST_AT_TIME: out->checked_at_ms = exp->at_ms; break;
    default: out->checked_at_ms = tr_wall_ms(); break;
    }
    TR_TRY(attest_chain_verify(&p, exp, (time_t)(out->checked_at_ms / 1000), out, &leaf_key));
    res = cose_sign1_verify(&p.cose, leaf_key);
    if (!tr_ok(res)) {
        attest_detail(out, "ES384 signature does not verify with the leaf key");
        goto out;
    }
    out->signature_ok = true;
    TR_TRY(check_fresh(exp, out));
    TR_TRY(check_pcrs(exp, out));
    TR_TRY(check_keys(exp, out));
    TR_TRY(check_bb(exp, out));
    out->detail[0] = '\0';
out:
    EVP_PKEY_free(leaf_key);
    attest_parsed_free(&p);
    return res;
}
