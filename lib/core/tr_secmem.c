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

/* Wipes the pages of [p, p+len) that are resident. A page that was never
 * touched holds no data and is not resident: wiping it would only fault in a
 * zero page (a secret buffer's capacity is up to twice what it ever held, and
 * on this VM a 4 KiB fault costs ~10 us). A page that is not resident because
 * it was swapped out keeps its swap copy whether or not it is wiped in memory;
 * key material is mlock()ed and never swapped. p must be page-aligned. */
void tr_secmem_wipe_resident(void *p, size_t len)
{
    if (!p || !len)
        return;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *base = p;
    size_t npages = (len + pg - 1) / pg;
    unsigned char vec[1024];
    for (size_t first = 0; first < npages; first += sizeof(vec)) {
        size_t cnt = npages - first < sizeof(vec) ? npages - first : sizeof(vec);
        uint8_t *chunk = base + first * pg;
        size_t chunk_len = first + cnt == npages ? len - first * pg : cnt * pg;
        if (mincore(chunk, cnt * pg, vec) != 0) {
            OPENSSL_cleanse(chunk, chunk_len);
            continue;
        }
        size_t i = 0;
        while (i < cnt) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < cnt && (vec[j] & 1))
                j++;
            size_t off = i * pg, end = j * pg < chunk_len ? j * pg : chunk_len;
            OPENSSL_cleanse(chunk + off, end - off);
            i = j;
        }
    }
}

void tr_secmem_free(void *p, size_t n)
{
    if (!p)
        return;
    size_t len = page_round(n ? n : 1);
    tr_secmem_wipe_resident(p, len);
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
