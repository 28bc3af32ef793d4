/* COSE_Sign1 (RFC 9052) and checked CBOR accessors over libcbor.
 *
 * Parsing is strict and bounded: the input must be exactly one CBOR item,
 * no larger than the caller's cap, at most TR_MAX_CBOR_DEPTH deep and
 * TR_MAX_CBOR_ITEMS items, with definite-length strings (maps and arrays may
 * be indefinite: the 2025 AWS documents use an indefinite payload map).
 * Every accessor checks the type before use and fails with the error code the
 * caller names, so the same code serves the attestation verifier (ATTEST_*)
 * and the NSM response parser (NSM_BAD_RESPONSE).
 */
#ifndef TEEREX_COSE_H
#define TEEREX_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "teerex/buf.h"

struct cbor_item_t; /* libcbor */

/* --- checked CBOR accessors (cose_cbor.c) --- */

/* Decodes exactly one item from p[0..n) (trailing bytes, malformed input,
 * indefinite strings, too deep or more than TR_MAX_CBOR_ITEMS items -> err).
 * *out is owned by the caller: cbor_decref(). */
TR_RESULT cose_cbor_load(const uint8_t *p, size_t n, int32_t err, struct cbor_item_t **out);
/* The same with the caller's item limit (serde's byte arrays in an EIF
 * signature section are one item per octet). */
TR_RESULT cose_cbor_load_max(const uint8_t *p, size_t n, size_t max_items, int32_t err,
                             struct cbor_item_t **out);
/* Finds a text key in a map: *out = NULL when absent; a duplicate of the key,
 * or a map that is not a map, fails with err. */
TR_RESULT cose_cbor_map_get(const struct cbor_item_t *map, const char *key, int32_t err,
                            struct cbor_item_t **out);
/* Finds an unsigned-integer key (COSE header labels are ints); same rules. */
TR_RESULT cose_cbor_map_get_int(const struct cbor_item_t *map, int64_t key, int32_t err,
                                struct cbor_item_t **out);
/* Fails with err when two keys of the map are equal (same type and value). */
TR_RESULT cose_cbor_map_unique(const struct cbor_item_t *map, int32_t err);
/* Borrowed view of a definite byte / text string. */
TR_RESULT cose_cbor_bytes(const struct cbor_item_t *it, int32_t err, struct tr_slice *out);
TR_RESULT cose_cbor_text(const struct cbor_item_t *it, int32_t err, struct tr_slice *out);
TR_RESULT cose_cbor_uint(const struct cbor_item_t *it, int32_t err, uint64_t *out);
/* A signed integer (major type 0 or 1) that fits in int64_t. */
TR_RESULT cose_cbor_int(const struct cbor_item_t *it, int32_t err, int64_t *out);
bool cose_cbor_is_null(const struct cbor_item_t *it);
TR_RESULT cose_cbor_bool(const struct cbor_item_t *it, int32_t err, bool *out);
/* True when the text item equals s exactly. */
bool cose_cbor_text_eq(const struct cbor_item_t *it, const char *s);
/* Serialises an item into out (appended). */
TR_RESULT cose_cbor_serialize(const struct cbor_item_t *it, struct tr_buf *out);

/* --- Building (consuming) helpers shared by COSE and the NSM messages. Each
 *     takes ownership of the items it is given, also on failure. --- */
/* map[key] = value; false (and value released) when anything is NULL or fails. */
bool cose_cbor_put(struct cbor_item_t *map, const char *key, struct cbor_item_t *value);
/* {"name": fields}, the shape of every NSM request and response; NULL on failure. */
struct cbor_item_t *cose_cbor_variant(const char *name, struct cbor_item_t *fields);
/* A byte string (an empty one when n == 0, p may then be NULL). */
struct cbor_item_t *cose_cbor_new_bytes(const uint8_t *p, size_t n);
/* Serialises the definite array [items[0], ..., items[n-1]] into out (appended);
 * the items are released. */
TR_RESULT cose_cbor_serialize_array(struct cbor_item_t **items, size_t n, struct tr_buf *out);

/* --- COSE_Sign1 (cose_sign1.c) --- */

#define COSE_ALG_ES256 (-7)
#define COSE_ALG_ES384 (-35)
#define COSE_ALG_ES512 (-36)
#define COSE_TAG_SIGN1 18
#define COSE_ES384_SIG_LEN 96

/* The ECDSA algorithms of RFC 9053 2.1: attestation documents use ES384,
 * EIF signatures whichever fits the signer's curve. */
struct cose_alg {
    int64_t id;
    const char *curve;  /* OpenSSL group name */
    const char *digest; /* OpenSSL digest name */
    size_t coord;       /* octets of r and of s in the raw signature */
};
/* NULL unless id is ES256, ES384 or ES512. */
const struct cose_alg *cose_alg_find(int64_t id);
/* The algorithm of an EC key's curve (P-256, P-384, P-521); NULL otherwise. */
const struct cose_alg *cose_alg_of_key(EVP_PKEY *key);

struct cose_sign1 {
    struct cbor_item_t *root;      /* owned */
    struct tr_slice protected_hdr; /* bytes of the protected bstr (borrowed from root) */
    struct tr_slice payload;       /* exact payload bytes as received */
    struct tr_slice signature;
    int64_t alg;
    bool tagged; /* was wrapped in tag 18 */
};

/* The structure alone: [protected bstr, unprotected map, payload bstr,
 * signature bstr], untagged or tag 18; the protected bstr a map with unique
 * labels and an integer alg (label 1), which the unprotected map (or null)
 * does not repeat. Any failure is err; the caller judges alg and the
 * signature's length. */
TR_RESULT cose_sign1_decode(const uint8_t *p, size_t n, int32_t err, struct cose_sign1 *out);
/* An attestation document's envelope: cose_sign1_decode, alg ES384, the
 * signature 96 bytes. Every failure is TR_ERR_ATTEST_INVALID_COSE
 * (TR_ERR_ATTEST_TOO_BIG over TR_MAX_ATTEST_DOC). */
TR_RESULT cose_sign1_parse(const uint8_t *p, size_t n, struct cose_sign1 *out);
void cose_sign1_free(struct cose_sign1 *s);
/* Sig_structure ["Signature1", protected, h'', payload] (appended to out). */
TR_RESULT cose_sign1_tbs(struct tr_slice protected_hdr, struct tr_slice payload,
                         struct tr_buf *out);
/* Checks the raw r||s signature with s->alg (ES256/384/512) and a key on
 * its curve. An unknown alg, a signature of the wrong length, a key of
 * another type or curve, or a bad signature: err. High-S accepted. */
TR_RESULT cose_sign1_verify_alg(const struct cose_sign1 *s, EVP_PKEY *pub, int32_t err);
/* ES384 (attestation): a signature that is not 96 bytes is
 * TR_ERR_ATTEST_INVALID_COSE, anything else TR_ERR_ATTEST_SIGNATURE_FAILED. */
TR_RESULT cose_sign1_verify(const struct cose_sign1 *s, EVP_PKEY *pub);
/* Builds an untagged COSE_Sign1 over payload with protected {1: alg}, an
 * empty unprotected map and a raw r||s signature; the key must be on alg's
 * curve (else TR_ERR_USAGE). */
TR_RESULT cose_sign1_sign_alg(int64_t alg, const uint8_t *payload, size_t n, EVP_PKEY *key,
                              struct tr_buf *out);
/* ES384 (the NSM emulator). */
TR_RESULT cose_sign1_sign(const uint8_t *payload, size_t n, EVP_PKEY *key, struct tr_buf *out);

#endif
