/* Text codecs over OpenSSL: strict base64 (RFC 4648, padded) and hex. */
#ifndef TEEREX_CODEC_H
#define TEEREX_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"

/* Appends the base64 text (no newlines, NUL-terminated but the NUL is not
 * counted in out->len). */
TR_RESULT tr_b64_encode(const uint8_t *p, size_t n, struct tr_buf *out);
/* Strict: only A-Z a-z 0-9 + /, length a multiple of 4, '=' only as padding.
 * On failure nothing is appended. */
TR_RESULT tr_b64_decode(const char *s, size_t n, struct tr_buf *out);

/* The same strict base64, decoded as the text arrives in pieces of any size
 * (a request body read from the network): the concatenation of every piece
 * is accepted exactly when tr_b64_decode accepts it, with the same bytes.
 * Only the characters of an unfinished quad are kept between calls. */
struct tr_b64_stream {
    uint8_t quad[4];
    uint8_t n;     /* characters held in quad */
    uint8_t ended; /* a padded quad was decoded: nothing may follow */
};
/* Octets one update of n characters may write (the held quad included). */
#define TR_B64_DECODED_MAX(n) (((n) / 4 + 1) * 3)
void tr_b64_stream_init(struct tr_b64_stream *s);
/* Decodes text into out (room for TR_B64_DECODED_MAX(n) octets); *out_len is
 * what was written. After a failure (TR_ERR_BAD_BASE64) the stream is dead. */
TR_RESULT tr_b64_stream_update(struct tr_b64_stream *s, const char *text, size_t n, uint8_t *out,
                               size_t *out_len);
/* The text ended: fails unless it was a whole number of quads. */
TR_RESULT tr_b64_stream_final(const struct tr_b64_stream *s);
/* Lowercase hex, NUL-terminated (not counted). */
TR_RESULT tr_hex_encode(const uint8_t *p, size_t n, struct tr_buf *out);
/* Accepts upper or lower case; odd length or other characters fail. */
TR_RESULT tr_hex_decode(const char *s, size_t n, struct tr_buf *out);
/* Hex into a fixed array: exactly out_len bytes or TR_ERR_BAD_HEX. */
TR_RESULT tr_hex_decode_fixed(const char *s, uint8_t *out, size_t out_len);
/* Writes 2n+1 bytes (lowercase, NUL-terminated) into out. */
void tr_hex_to_str(const uint8_t *p, size_t n, char *out);

/* Strict decimal parse of an unsigned number no larger than max. */
TR_RESULT tr_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Durations like "300", "300s", "5m", "1h", "250ms" into milliseconds. */
TR_RESULT tr_parse_duration_ms(const char *s, uint64_t *out_ms);

#endif
