/* PCR0/1/2 as nitro-cli computes them (EifHasher without cache, then
 * tpm_extend_finalize_reset): PCR = SHA-384(48 zero bytes || SHA-384(data)).
 * PCR8 (the signing certificate) is eif_sig.c's; a parsed image's PCRs,
 * which need both, are eif_image.c's. */
#include <string.h>

#include <openssl/evp.h>

#include "teerex/eif.h"

TR_RESULT eif_pcr_extend(const uint8_t digest[EIF_PCR_LEN], uint8_t out[EIF_PCR_LEN])
{
    uint8_t buf[2 * EIF_PCR_LEN];
    unsigned int len = 0;
    memset(buf, 0, EIF_PCR_LEN);
    memcpy(buf + EIF_PCR_LEN, digest, EIF_PCR_LEN);
    TR_GUARD_OSSL(EVP_Digest(buf, sizeof(buf), out, &len, EVP_sha384(), NULL), TR_ERR_OSSL);
    TR_ENSURE(len == EIF_PCR_LEN, TR_ERR_OSSL);
    return TR_SUCCESS;
}

TR_RESULT eif_measure_init(struct eif_measure *m)
{
    memset(m, 0, sizeof(*m));
    m->image = EVP_MD_CTX_new();
    m->boot = EVP_MD_CTX_new();
    m->app = EVP_MD_CTX_new();
    if (!m->image || !m->boot || !m->app || EVP_DigestInit_ex(m->image, EVP_sha384(), NULL) != 1 ||
        EVP_DigestInit_ex(m->boot, EVP_sha384(), NULL) != 1 ||
        EVP_DigestInit_ex(m->app, EVP_sha384(), NULL) != 1) {
        eif_measure_free(m);
        TR_BAIL(TR_ERR_OSSL);
    }
    return TR_SUCCESS;
}

void eif_measure_free(struct eif_measure *m)
{
    EVP_MD_CTX_free(m->image);
    EVP_MD_CTX_free(m->boot);
    EVP_MD_CTX_free(m->app);
    m->image = m->boot = m->app = NULL;
}

void eif_measure_begin(struct eif_measure *m, uint16_t type)
{
    m->cur_type = type;
    if (type == EIF_SECTION_RAMDISK)
        m->n_ramdisks++;
}

TR_RESULT eif_measure_update(struct eif_measure *m, const void *p, size_t n)
{
    switch (m->cur_type) {
    case EIF_SECTION_KERNEL:
    case EIF_SECTION_CMDLINE:
        TR_GUARD_OSSL(EVP_DigestUpdate(m->image, p, n), TR_ERR_OSSL);
        TR_GUARD_OSSL(EVP_DigestUpdate(m->boot, p, n), TR_ERR_OSSL);
        break;
    case EIF_SECTION_RAMDISK:
        /* The first ramdisk is AWS's bootstrap (PCR1), the others the
         * application (PCR2); all of them are in PCR0. */
        TR_GUARD_OSSL(EVP_DigestUpdate(m->image, p, n), TR_ERR_OSSL);
        TR_GUARD_OSSL(EVP_DigestUpdate(m->n_ramdisks == 1 ? m->boot : m->app, p, n), TR_ERR_OSSL);
        break;
    default: break; /* metadata and signature are not measured */
    }
    return TR_SUCCESS;
}

static TR_RESULT finish(EVP_MD_CTX *ctx, uint8_t out[EIF_PCR_LEN])
{
    uint8_t d[EIF_PCR_LEN];
    unsigned int len = 0;
    TR_GUARD_OSSL(EVP_DigestFinal_ex(ctx, d, &len), TR_ERR_OSSL);
    TR_ENSURE(len == EIF_PCR_LEN, TR_ERR_OSSL);
    return eif_pcr_extend(d, out);
}

TR_RESULT eif_measure_final(struct eif_measure *m, struct eif_pcrs *out)
{
    memset(out, 0, sizeof(*out));
    TR_GUARD(finish(m->image, out->pcr0));
    TR_GUARD(finish(m->boot, out->pcr1));
    TR_GUARD(finish(m->app, out->pcr2));
    return TR_SUCCESS;
}
