/* The prover input of `teerex prove --input`: for the chonk scheme the file
 * as-is (ivc-inputs.msgpack); for ultra_honk either a directory holding
 * program.json + witness.gz (packed into the "TRXC" container with
 * lib/http's writer) or a ready container file (checked before sending). */
#ifndef TEEREX_CLI_INPUT_H
#define TEEREX_CLI_INPUT_H

#include "teerex/buf.h"

enum cli_scheme { CLI_SCHEME_CHONK = 0, CLI_SCHEME_ULTRA_HONK = 1 };

/* "chonk" | "ultra_honk" -> scheme; TR_ERR_USAGE otherwise. */
TR_RESULT cli_scheme_parse(const char *s, enum cli_scheme *out);
const char *cli_scheme_name(enum cli_scheme s);

/* Reads a whole regular file (at most out->max bytes) into out. */
TR_RESULT cli_read_file(const char *path, struct tr_buf *out);

/* Loads the input for the scheme into out (use a secret buffer). */
TR_RESULT cli_input_load(const char *path, enum cli_scheme scheme, struct tr_buf *out);

/* Writes bytes to path atomically (temp file in the same directory, fsync,
 * rename), mode 0644. */
TR_RESULT cli_write_file(const char *path, const uint8_t *p, size_t n);

/* mkdir path (0755); an existing directory is fine. */
TR_RESULT cli_mkdir(const char *path);

#endif
