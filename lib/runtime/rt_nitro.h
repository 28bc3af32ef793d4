/* Finding an enclave's CID from `nitro-cli describe-enclaves` (seed lesson
 * 7: every run-enclave assigns a new CID). */
#ifndef TEEREX_RT_NITRO_H
#define TEEREX_RT_NITRO_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/result.h"

#define RT_NITRO_MAX_OUTPUT ((size_t)256 * 1024)

/* The output is a JSON array of enclave objects; the CID of the one RUNNING
 * enclave whose EnclaveName equals name. Errors: RT_NITRO_JSON (not that
 * shape, CID not an integer in 3..UINT32_MAX-1), RT_NITRO_NOT_FOUND,
 * RT_NITRO_AMBIGUOUS. */
TR_RESULT rt_nitro_parse_cid(const uint8_t *json, size_t n, const char *name, uint32_t *cid);
/* Runs `PROG describe-enclaves` (PROG searched in PATH) with a time limit and
 * an output cap, then parses it. */
TR_RESULT rt_nitro_lookup(const char *prog, const char *name, int timeout_ms, uint32_t *cid);

#endif
