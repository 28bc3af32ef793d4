/* Verification of AWS Nitro Enclaves attestation documents.
 *
 *   struct attest_expect exp = ATTEST_EXPECT_INIT;   // defaults: now, 5 min max age
 *   exp.nonce = n; exp.nonce_len = 32;                // optional checks
 *   struct attest_result res;
 *   tr_result r = attest_verify(doc, doc_len, &exp, &res);
 *   ... attest_class_of(r.err) ... res.detail ...
 *   attest_result_free(&res);
 *
 * Steps (each failure has its own class, see enum attest_class):
 *  1. strict CBOR (size, depth, item caps), COSE_Sign1 untagged or tag 18, ES384;
 *  2. payload fields type-checked as AWS documents them;
 *  3. chain: pinned AWS Nitro Enclaves Root G1 (embedded, fingerprint checked)
 *     or an explicitly passed extra root -> cabundle -> leaf, X509 verification
 *     at the chosen time (CA, key usage, validity);
 *  4. ES384 over the exact payload bytes (no re-encoding, high-S accepted);
 *  5. freshness, PCRs, nonce, public key, bb versions.
 * The result is filled as far as parsing got, also on failure.
 */
#ifndef TEEREX_ATTEST_H
#define TEEREX_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/limits.h"

/* Failure classes, in exit-code order: `teerex attest verify` exits with
 * 10 + class (INVALID_COSE = 10 ... BB_VERSION_MISMATCH = 18, DEBUG_MODE = 19). */
enum attest_class {
    ATTEST_CLASS_NONE = -1, /* success, or not an attestation failure */
    ATTEST_CLASS_INVALID_COSE = 0,
    ATTEST_CLASS_INVALID_DOCUMENT,
    ATTEST_CLASS_CHAIN_FAILED,
    ATTEST_CLASS_SIGNATURE_FAILED,
    ATTEST_CLASS_EXPIRED,
    ATTEST_CLASS_PCR_MISMATCH,
    ATTEST_CLASS_NONCE_MISMATCH,
    ATTEST_CLASS_MISSING_KEY,
    ATTEST_CLASS_BB_VERSION_MISMATCH,
    ATTEST_CLASS_DEBUG_MODE, /* all-zero PCR0: an enclave started with --debug-mode */
    ATTEST_CLASS_COUNT
};
/* Class of a TR_ERR_ATTEST_* code; ATTEST_CLASS_NONE for other codes. */
enum attest_class attest_class_of(int32_t err);
/* "INVALID_COSE", ... ; "NONE" for ATTEST_CLASS_NONE. */
const char *attest_class_name(enum attest_class cls);

#define ATTEST_MAX_PCRS 32
#define ATTEST_DEFAULT_MAX_AGE_MS ((uint64_t)5 * 60 * 1000)
#define ATTEST_CLOCK_SKEW_MS ((uint64_t)30 * 1000)
#define ATTEST_NO_MAX_AGE UINT64_MAX

struct attest_pcr_expect {
    unsigned index; /* 0..31 */
    size_t len;     /* 32, 48 or 64 */
    uint8_t value[64];
};

struct attest_bb_expect {
    char version[TR_MAX_VERSION_LEN + 1];
    uint8_t sha256[32];
};

enum attest_at { ATTEST_AT_NOW = 0, ATTEST_AT_TIME, ATTEST_AT_DOC };

struct attest_expect {
    /* Every PCR index named must match; several entries for one index mean
     * any of those values (an image rollout: the old and the new PCRs). */
    const struct attest_pcr_expect *pcrs;
    size_t n_pcrs;
    const uint8_t *nonce; /* checked when non-NULL (nonce_len may be 0: expects none/empty) */
    size_t nonce_len;
    uint64_t max_age_ms;        /* 0: ATTEST_DEFAULT_MAX_AGE_MS; ATTEST_NO_MAX_AGE: no check */
    enum attest_at at;          /* time of the certificate and freshness checks */
    uint64_t at_ms;             /* for ATTEST_AT_TIME: Unix milliseconds */
    const char *extra_root_pem; /* an additional trusted root (PEM text), e.g. the emulator's */
    bool only_extra_root;       /* trust extra_root_pem only, not the AWS root */
    const struct attest_bb_expect *bb;
    size_t n_bb;
    /* BB_VERSION_MISMATCH unless user_data says "policy":"pinned": the
     * enclave runs only the bundles its measured image lists. */
    bool require_pinned;
    bool require_public_key;   /* MISSING_KEY when public_key is null/empty */
    const uint8_t *public_key; /* when non-NULL, the attested key must equal it */
    size_t public_key_len;
    /* DEBUG_MODE when PCR0 is all zeros: AWS zeroes the PCRs of an enclave
     * started with --debug-mode, whose memory the parent can read (console,
     * debugger), so such a document vouches for no code at all. */
    bool refuse_debug_mode;
};
#define ATTEST_EXPECT_INIT                                                                         \
    {                                                                                              \
        0                                                                                          \
    }

struct attest_result {
    /* decoded payload */
    char module_id[128];
    char digest[16];
    uint64_t timestamp_ms;
    uint32_t pcr_mask; /* bit i: PCR i present */
    uint8_t pcr_len[ATTEST_MAX_PCRS];
    uint8_t pcrs[ATTEST_MAX_PCRS][64];
    bool has_public_key, has_user_data, has_nonce; /* present, non-null and non-empty */
    struct tr_buf public_key, user_data, nonce;
    size_t cabundle_len;
    /* leaf certificate */
    char cert_subject[256];
    int64_t cert_not_before, cert_not_after; /* Unix seconds */
    /* verification */
    bool cose_tagged;
    uint64_t checked_at_ms; /* the time the checks used */
    bool signature_ok, chain_ok;
    char detail[256]; /* why it failed ("" on success) */
};

void attest_result_init(struct attest_result *r);
void attest_result_free(struct attest_result *r);

/* Full verification. Returns TR_SUCCESS only when every check passed. */
TR_RESULT attest_verify(const uint8_t *doc, size_t len, const struct attest_expect *exp,
                        struct attest_result *out);

/* Parses and type-checks (steps 1-2) without chain or signature: `show`. */
TR_RESULT attest_doc_decode(const uint8_t *doc, size_t len, struct attest_result *out);

/* bb versions carried in user_data: {"versions":[{"version":V,"sha256":H},...],
 * "default":V|null,"policy":"pinned"|"open"} where H is a prover bundle's
 * digest (include/teerex/bundle.h), or the digest form
 * {"versions_sha256":H,"count":N,"default":..,"policy":..} when the list did
 * not fit TR_NSM_MAX_USER_DATA = 512 bytes (see attest_user_data_build).
 * default and policy are absent in documents of older servers. */
struct attest_versions {
    size_t n;
    struct attest_bb_expect v[64];
    bool digest_form; /* only a digest of the list was attested */
    uint8_t list_sha256[32];
    char default_version[TR_MAX_VERSION_LEN + 1]; /* "" when null or absent */
    char policy[16];                              /* "pinned", "open", "" when absent */
};
TR_RESULT attest_user_data_parse(const uint8_t *p, size_t n, struct attest_versions *out);
/* Builds user_data for a version list (sorted by version by the caller):
 * the full JSON when it fits TR_NSM_MAX_USER_DATA, otherwise the digest form
 * {"versions_sha256":"<sha256 of the compact JSON array>","count":N}
 * (docs/PROTOCOL-EXT.md). *digest_form tells which. */
TR_RESULT attest_user_data_build(const struct attest_bb_expect *v, size_t n, struct tr_buf *out,
                                 bool *digest_form);
/* SHA-256 of the compact JSON array of a version list, sorted by version:
 * what the digest form's versions_sha256 holds. */
TR_RESULT attest_user_data_list_sha256(const struct attest_bb_expect *v, size_t n, uint8_t out[32]);

/* The embedded AWS Nitro Enclaves Root G1 (PEM), fingerprint-checked. */
const char *attest_aws_root_pem(void);
/* Parses "doc", Unix seconds or RFC 3339 ("2024-01-24T18:14:25Z", fraction
 * and offsets allowed) into the expectation's time fields. */
TR_RESULT attest_parse_time(const char *s, enum attest_at *at, uint64_t *at_ms);

#endif
