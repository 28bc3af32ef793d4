/* OpenPGP (RFC 9580 subset) on OpenSSL 3 primitives.
 *
 * Why hand-written: existing clients encrypt with openpgp.js 6 and
 * aeadProtect (PKESK v6 + SEIPD v2); Debian 12's RNP 0.16 and GnuPG 2.2 cannot
 * read that, and no C library on Debian 12 implements it. Only the packet
 * formats are ours; every primitive (X25519, Ed25519, AES-OCB/GCM/CFB,
 * key wrap, HKDF, SHA-2, zlib) comes from OpenSSL or zlib.
 */
#ifndef TEEREX_PGP_H
#define TEEREX_PGP_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"

/* Our key pair: v4 Ed25519 primary + v4 X25519 ECDH subkey. Secret halves
 * live in locked, non-dumpable memory and never leave this object. */
struct pgp_key;

/* Same shape as openpgp.js generateKey({type:"curve25519", userIDs:[{name}]}). */
TR_RESULT pgp_key_generate(const char *user_id_name, struct pgp_key **out);
void pgp_key_free(struct pgp_key *key);
/* ASCII-armored transferable public key (with CRC-24 checksum), appended to out. */
TR_RESULT pgp_key_armored_public(const struct pgp_key *key, struct tr_buf *out);
/* 20-byte v4 fingerprint of the primary key. */
void pgp_key_fingerprint(const struct pgp_key *key, uint8_t out[20]);
/* Deterministic variant of pgp_key_generate for tests, fuzzing and fixtures:
 * the Ed25519 and X25519 private keys are the given 32-octet secrets and both
 * keys and signatures carry `created` (Unix seconds). Same packet shape. */
TR_RESULT pgp_key_from_seed(const char *user_id_name, const uint8_t ed25519_seed[32],
                            const uint8_t x25519_seed[32], uint32_t created, struct pgp_key **out);
/* Binary transferable public key (the armor's payload). */
struct tr_slice pgp_key_public_binary(const struct pgp_key *key);

struct pgp_decrypt_opts {
    size_t max_plaintext; /* cap on literal data after decompression; 0 = TR_MAX_PLAINTEXT */
    /* pgp_stream only: an upper bound on the binary message's length when
     * known (3/4 of a base64 body's length), 0 when not. The output buffer
     * is then sized in one step from the literal packet's length, never
     * beyond this bound, so a message cannot make it grow past its size. */
    size_t message_bound;
};

/* Decrypts a binary OpenPGP message (PKESK v3/v6 to our subkey, SEIPD v1/v2,
 * optionally compressed literal data). Appends the literal data body to out
 * (a secret tr_buf); on any failure nothing is appended. It is
 * pgp_stream_new + one pgp_stream_update + pgp_stream_final. */
TR_RESULT pgp_decrypt(const struct pgp_key *key, const uint8_t *msg, size_t msg_len,
                      const struct pgp_decrypt_opts *opts, struct tr_buf *out);

/* Incremental decryption of one message that arrives in pieces (a /prove
 * body read from the network): its binary octets, or the base64 text of
 * them, fed in order in pieces of any size. The literal data is decrypted
 * straight into out (a secret tr_buf: locked memory), after what out held;
 * besides it the stream keeps only the PKESK packets, fewer than 48 octets
 * of ciphertext and a 16 KiB base64 window (and, for a compressed message,
 * the compressed body, inflated into out at the end), so the plaintext
 * exists once and the work left when the last piece arrives is one chunk
 * and the tags.
 *
 * Authentication: what out receives is unauthenticated until
 * pgp_stream_final succeeds (SEIPD v2: every chunk tag and the final tag;
 * v1: the MDC); only then is *out_plain, the literal data inside out,
 * valid to use (to start the prover with). On any failure everything
 * appended to out is wiped and dropped.
 *
 * Errors are those of pgp_decrypt for the whole message, whatever the
 * pieces: pgp_stream_update fails at once on a broken packet structure;
 * failures the rest of the message could still outrank (session key,
 * decryption, the decrypted message's grammar) come from pgp_stream_final.
 * After a failure the stream only answers that failure. */
struct pgp_stream;
TR_RESULT pgp_stream_new(const struct pgp_key *key, const struct pgp_decrypt_opts *opts,
                         struct tr_buf *out, struct pgp_stream **out_stream);
/* Binary message octets. */
TR_RESULT pgp_stream_update(struct pgp_stream *s, const uint8_t *p, size_t n);
/* Base64 text of the message: strict as tr_b64_decode (TR_ERR_BAD_BASE64;
 * no whitespace). One stream takes either text or binary (TR_ERR_USAGE). */
TR_RESULT pgp_stream_update_b64(struct pgp_stream *s, const char *text, size_t n);
/* The message ended: the final checks, then *out_plain is the literal data
 * (a slice of out, valid while out is unchanged). Called once. */
TR_RESULT pgp_stream_final(struct pgp_stream *s, struct tr_slice *out_plain);
/* Frees the stream (NULL is fine); unless pgp_stream_final succeeded, what
 * it appended to out is wiped and dropped. The key must outlive it. */
void pgp_stream_free(struct pgp_stream *s);

/* Decodes one ASCII-armored block ("-----BEGIN PGP <anything>-----", optional
 * headers, base64, optional "=" CRC-24 which is checked) into binary,
 * appended to out. */
TR_RESULT pgp_dearmor(const char *text, size_t len, struct tr_buf *out);

/* A recipient's public key parsed from armor (client side). The subkey
 * binding and the user ID self-certification are verified. Accepted: v4
 * EdDSALegacy (22) or Ed25519 (27) primary with an ECDH Curve25519 (18) or
 * X25519 (25) subkey, i.e. openpgp.js generateKey type "ecc" and
 * "curve25519" (the TypeScript reference server's key) and GnuPG 2.2. */
struct pgp_pubkey;
TR_RESULT pgp_pubkey_parse_armored(const char *text, size_t len, struct pgp_pubkey **out);
void pgp_pubkey_free(struct pgp_pubkey *pk);
/* 20-byte v4 fingerprint of the recipient's primary key. */
void pgp_pubkey_fingerprint(const struct pgp_pubkey *pk, uint8_t out[20]);
/* PKESK v6 (ECDH or X25519, as the subkey) + SEIPD v2 AES-256-OCB (binary
 * message appended to out). */
TR_RESULT pgp_encrypt(const struct pgp_pubkey *pk, const uint8_t *plaintext, size_t len,
                      struct tr_buf *out);

#endif
