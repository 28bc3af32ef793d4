/* Internal to lib/eif: CBOR structure check before cbor_load. */
#ifndef TEEREX_EIF_CBOR_H
#define TEEREX_EIF_CBOR_H

#include "teerex/buf.h"
#include "teerex/eif.h"

/* One definite-length CBOR item filling exactly p[0..n), nesting <= 16, every
 * declared count and length within the remaining bytes; else
 * TR_ERR_EIF_BAD_SIGNATURE_SECTION. */
TR_RESULT eif_cbor_check(const uint8_t *p, size_t n);

#endif
