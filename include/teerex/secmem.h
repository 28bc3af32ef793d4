/* Locked, non-dumpable memory for key material.
 *
 * tr_secmem_alloc maps whole pages, mlock()s them (so they never reach swap),
 * marks them MADV_DONTDUMP (so they never reach a core file) and returns zeroed
 * memory; tr_secmem_free wipes (OPENSSL_cleanse, every page ever touched)
 * before unmapping.
 * tr_secmem_init also starts OpenSSL's secure heap, where OpenSSL 3 keeps the
 * private halves of X25519/Ed25519 EVP_PKEYs.
 */
#ifndef TEEREX_SECMEM_H
#define TEEREX_SECMEM_H

#include <stddef.h>

#include "teerex/result.h"

/* Idempotent. heap_size: OpenSSL secure heap bytes (power of two, 0 = 64 KiB). */
TR_RESULT tr_secmem_init(size_t heap_size);
void *tr_secmem_alloc(size_t n);        /* NULL on failure */
void tr_secmem_free(void *p, size_t n); /* n must be the size passed to alloc */
void tr_secmem_wipe(void *p, size_t n);
/* Wipes every resident page of a tr_secmem_alloc region (never-touched pages
 * hold nothing and are skipped instead of being faulted in). */
void tr_secmem_wipe_resident(void *p, size_t n);

struct tr_secmem_stats {
    size_t live_bytes;    /* currently allocated */
    size_t lock_failures; /* mlock() refused (RLIMIT_MEMLOCK): memory still non-dumpable */
    int ossl_secure_heap; /* 1 when OpenSSL's secure heap is active */
};
void tr_secmem_stats(struct tr_secmem_stats *out);

#endif
