/* Helpers for the eif unit tests: synthetic images built with eif_write
 * into a memfd and read back. */
#ifndef EIF_TESTUTIL_H
#define EIF_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/eif.h"

/* Reads the whole fd (from offset 0) into a malloc'd buffer. */
uint8_t *tu_slurp(int fd, size_t *len);
int tu_memfd(void);
/* Deterministic filler bytes. */
void tu_fill(uint8_t *p, size_t n, uint32_t seed);
/* An unsigned EIF from in-memory sections (ramdisks: n of them). */
uint8_t *tu_build(const uint8_t *kernel, size_t klen, const char *cmdline, const uint8_t *const *rd,
                  const size_t *rdlen, size_t n, size_t *len, struct eif_pcrs *pcrs);
/* Recomputes the header CRC after a test edited the bytes. */
void tu_fix_crc(uint8_t *p, size_t n);
void tu_put_be64(uint8_t *p, uint64_t v);
void tu_put_be16(uint8_t *p, uint16_t v);
/* A fresh EC key on the named curve and a self-signed PEM certificate. */
EVP_PKEY *tu_ec_key(const char *curve);
char *tu_self_signed_pem(EVP_PKEY *key, size_t *len);

#endif
