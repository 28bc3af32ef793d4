/* Locked, non-dumpable allocations for secrets (see include/teerex/secmem.h). */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "teerex/secmem.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tr_secmem_stats stats;

tr_result tr_secmem_init(size_t heap_size)
{
    if (CRYPTO_secure_malloc_initialized()) {
        stats.ossl_secure_heap = 1;
        return TR_SUCCESS;
    }
    if (heap_size == 0)
        heap_size = 64 * 1024;
    /* 1: fully locked and guarded; 2: heap up but mlock refused. */
    int rc = CRYPTO_secure_malloc_init(heap_size, 32);
    TR_ENSURE(rc != 0, TR_ERR_NOMEM);
    stats.ossl_secure_heap = 1;
    if (rc == 2) {
        pthread_mutex_lock(&lock);
        stats.lock_failures++;
        pthread_mutex_unlock(&lock);
    }
    return TR_SUCCESS;
}

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (n > SIZE_MAX - pg)
        return 0;
    return (n + pg - 1) / pg * pg;
}

void *tr_secmem_alloc(size_t n)
{
    size_t len = page_round(n ? n : 1);
    if (len == 0)
        return NULL;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (len >= ((size_t)1 << 20)) /* see tr_buf.c: huge pages make first touch ~20x cheaper */
        (void)madvise(p, len, MADV_HUGEPAGE);
#endif
    int lock_failed = mlock(p, len) != 0;
#ifdef MADV_DONTDUMP
    (void)madvise(p, len, MADV_DONTDUMP);
#endif
    pthread_mutex_lock(&lock);
    stats.live_bytes += len;
    if (lock_failed)
        stats.lock_failures++;
    pthread_mutex_unlock(&lock);
    return p;
}

void tr_secmem_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void tr_secmem_free(void *p, size_t n)
{
    if (!p)
        return;
    size_t len = page_round(n ? n : 1);
    OPENSSL_cleanse(p, len);
    (void)munlock(p, len);
    (void)munmap(p, len);
    pthread_mutex_lock(&lock);
    stats.live_bytes -= len;
    pthread_mutex_unlock(&lock);
}

void tr_secmem_stats(struct tr_secmem_stats *out)
{
    pthread_mutex_lock(&lock);
    *out = stats;
    pthread_mutex_unlock(&lock);
}
