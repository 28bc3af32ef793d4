/* Every size and count cap in one place. */
#ifndef TEEREX_LIMITS_H
#define TEEREX_LIMITS_H

#define TR_MAX_BODY_DEFAULT ((size_t)50 * 1024 * 1024) /* POST /prove body (reference: 50 MiB) */
#define TR_MAX_PLAINTEXT ((size_t)64 * 1024 * 1024)    /* decrypted / decompressed prover input */
#define TR_MAX_ARMORED_KEY ((size_t)64 * 1024)         /* armored public key text */
#define TR_MAX_PGP_PACKET_DEPTH 4                      /* compressed-in-encrypted nesting */
#define TR_MAX_ATTEST_DOC ((size_t)16 * 1024)          /* COSE_Sign1 attestation document */
#define TR_MAX_CBOR_DEPTH 8
#define TR_MAX_CBOR_ITEMS 4096
#define TR_NSM_MAX_RESPONSE ((size_t)0x3000) /* NSM driver's response buffer */
/* What the NSM puts into a document: aws-nitro-enclaves-nsm-api
 * docs/attestation_process.md types public_key, user_data and nonce as
 * `bytes .size (0..1024)`. Verifiers accept that; our own user_data uses it. */
#define TR_NSM_MAX_PUBLIC_KEY 1024
#define TR_NSM_MAX_USER_DATA 1024
#define TR_NSM_MAX_NONCE 1024
/* A nonce a client may ask teerexd for (GET /attestation?nonce=): 512 bytes,
 * the bound the same AWS page states under "validation" (a stricter verifier
 * may hold to it), so every verifier accepts the documents we make. */
#define TR_MAX_REQUEST_NONCE 512
#define TR_MAX_VERSION_LEN 64
#define TR_MAX_PROVER_STDERR ((size_t)64 * 1024)

#endif
