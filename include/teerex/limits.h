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
#define TR_NSM_MAX_PUBLIC_KEY 1024
#define TR_NSM_MAX_USER_DATA 512
#define TR_NSM_MAX_NONCE 512
#define TR_MAX_VERSION_LEN 64
#define TR_MAX_PROVER_STDERR ((size_t)64 * 1024)

#endif
