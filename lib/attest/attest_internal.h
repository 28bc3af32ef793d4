/* Internal interface between the files of lib/attest. */
#ifndef TEEREX_ATTEST_INTERNAL_H
#define TEEREX_ATTEST_INTERNAL_H

#include <time.h>

#include <openssl/evp.h>

#include "teerex/attest.h"
#include "teerex/cose.h"

#define ATTEST_MAX_CABUNDLE 16

extern const uint8_t ATTEST_AWS_ROOT_SHA256[32];

/* A parsed document: the COSE envelope, the payload tree and borrowed views
 * of the certificates (pointing into payload). */
struct attest_parsed {
    struct cose_sign1 cose;
    struct cbor_item_t *payload;
    struct tr_slice cert;
    struct tr_slice cabundle[ATTEST_MAX_CABUNDLE];
    size_t n_cabundle; /* 0 when cabundle is null or empty */
};

/* Steps 1-2: fills parsed and the decoded fields of out. */
tr_result attest_doc_parse(const uint8_t *doc, size_t len, struct attest_parsed *parsed,
                           struct attest_result *out);
void attest_parsed_free(struct attest_parsed *p);

/* Step 3: chain to a trusted root at time at; on success *leaf_key is the
 * leaf's public key (owned by the caller). */
tr_result attest_chain_verify(const struct attest_parsed *p, const struct attest_expect *exp,
                              time_t at, struct attest_result *out, EVP_PKEY **leaf_key);

/* Writes a printf-style explanation into out->detail. */
void attest_detail(struct attest_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
