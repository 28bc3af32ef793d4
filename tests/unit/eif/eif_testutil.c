#include "eif_testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <zlib.h>

int tu_memfd(void)
{
    return memfd_create("eif-test", MFD_CLOEXEC);
}

uint8_t *tu_slurp(int fd, size_t *len)
{
    struct stat st;
    *len = 0;
    if (fstat(fd, &st) != 0)
        return NULL;
    uint8_t *p = malloc((size_t)st.st_size + 1);
    if (!p)
        return NULL;
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t r = pread(fd, p + done, (size_t)st.st_size - done, (off_t)done);
        if (r <= 0) {
            free(p);
            return NULL;
        }
        done += (size_t)r;
    }
    *len = done;
    return p;
}

void tu_fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

uint8_t *tu_build(const uint8_t *kernel, size_t klen, const char *cmdline, const uint8_t *const *rd,
                  const size_t *rdlen, size_t n, size_t *len, struct eif_pcrs *pcrs)
{
    struct eif_build b;
    struct tr_buf meta;
    struct eif_meta_info mi = {"test", "1", "6.1", 1700000000};
    *len = 0;
    eif_build_init(&b);
    tr_buf_init(&meta, 4096);
    if (!tr_ok(eif_meta_json(&mi, &meta)))
        return NULL;
    b.kernel = eif_blob_mem(kernel, klen);
    b.cmdline = eif_blob_mem(cmdline, strlen(cmdline));
    b.metadata = eif_blob_mem(meta.data, meta.len);
    for (size_t i = 0; i < n; i++)
        b.ramdisks[i] = eif_blob_mem(rd[i], rdlen[i]);
    b.n_ramdisks = n;
    int fd = tu_memfd();
    uint8_t *p = NULL;
    if (fd >= 0 && tr_ok(eif_write(&b, fd, pcrs)))
        p = tu_slurp(fd, len);
    if (fd >= 0)
        close(fd);
    tr_buf_free(&meta);
    return p;
}

void tu_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

void tu_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void tu_fix_crc(uint8_t *p, size_t n)
{
    uLong c = crc32(0, p, EIF_HEADER_LEN - 4);
    c = crc32(c, p + EIF_HEADER_LEN, (uInt)(n - EIF_HEADER_LEN));
    p[544] = (uint8_t)(c >> 24);
    p[545] = (uint8_t)(c >> 16);
    p[546] = (uint8_t)(c >> 8);
    p[547] = (uint8_t)c;
}

EVP_PKEY *tu_ec_key(const char *curve)
{
    return EVP_EC_gen(curve);
}

char *tu_self_signed_pem(EVP_PKEY *key, size_t *len)
{
    X509 *x = X509_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;
    *len = 0;
    if (!x || !bio)
        goto done;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"eif-test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    if (X509_sign(x, key, EVP_sha384()) <= 0 || PEM_write_bio_X509(bio, x) != 1)
        goto done;
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    out = malloc((size_t)n + 1);
    if (out) {
        memcpy(out, data, (size_t)n);
        out[n] = 0;
        *len = (size_t)n;
    }
done:
    BIO_free(bio);
    X509_free(x);
    return out;
}
