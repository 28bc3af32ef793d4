/* A POST /prove body read as it arrives (issue 13, "streaming /prove").
 *
 * When the body has a declared length and starts with exactly {"data":"
 * (what every SDK sends: JSON.stringify of {data: base64}), the base64 text
 * between the quotes is fed to lib/pgp's streaming decryptor while the body
 * arrives: the plaintext is decrypted straight into one locked buffer and the
 * body itself is never held, so peak memory is about one copy of the input
 * and the work left after the last byte is one chunk and the tags.
 *
 * Every other body (another shape, no declared length) is kept whole and
 * judged as before (http_prove_body_parse, then pgp_decrypt): the answers are
 * the same whatever the path. A body that leaves the SDK's shape after its
 * first bytes (an escape the decoder cannot take, members after data) keeps
 * the rest from there and is judged at the end with the streamed part
 * standing in as a placeholder (see prove_body.c).
 *
 * Order of the verdicts, as for a buffered body: prove_body_judge gives the
 * body's JSON verdict (NOT_JSON, BAD_SHAPE) and whether data is base64
 * (HTTP_BODY_BAD_BASE64) once the body is complete; decryption errors, even
 * those known while the body arrived, come only from prove_body_decrypt,
 * which the caller runs once it has a prover slot (as pgp_decrypt before).
 *
 * Pure: depends on lib/pgp and lib/http only (no server state). */
#ifndef TEEREXD_PROVE_BODY_H
#define TEEREXD_PROVE_BODY_H

#include <stdbool.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/result.h"

struct pgp_key;
struct prove_body;

/* declared: the Content-Length (0 when the body is chunked: it is then kept
 * whole); max_body: MAX_BODY_BYTES. key must outlive the body. */
TR_RESULT prove_body_new(const struct pgp_key *key, uint64_t declared, uint64_t max_body,
                         struct prove_body **out);
/* The next bytes of the body, split anywhere. Fails only on memory (or a
 * body over max_body, which the caller checks first with prove_body_received). */
TR_RESULT prove_body_feed(struct prove_body *pb, const char *data, size_t n);
uint64_t prove_body_received(const struct prove_body *pb);
/* Bytes this body holds now (kept text, ciphertext, the plaintext buffer,
 * a compressed message's binary): what MAX_INFLIGHT_BYTES must cover. The
 * decryptor's fixed state (~30 KiB) is per-connection overhead like the
 * thread's stack, outside the budget. */
uint64_t prove_body_held(const struct prove_body *pb);
/* True while the SDK's shape is being decrypted as it arrives. */
bool prove_body_streaming(const struct prove_body *pb);
/* The body is complete: its verdict, exactly what http_prove_body_parse says
 * of the whole body (TR_ERR_HTTP_BODY_NOT_JSON, _BAD_SHAPE, _BAD_BASE64 or
 * success). Called once. */
TR_RESULT prove_body_judge(struct prove_body *pb);
/* After a successful judge: the plaintext (*out valid until
 * prove_body_free), or the error pgp_decrypt gives for the data. */
TR_RESULT prove_body_decrypt(struct prove_body *pb, struct tr_slice *out);
/* Wipes and frees everything (NULL is fine). */
void prove_body_free(struct prove_body *pb);

#endif
