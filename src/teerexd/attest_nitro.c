/* The Nitro attestation providers of teerexd (attest_provider.h):
 *   TEE_MODE=nitro           the real NSM, /dev/nsm through its ioctl; start-up
 *                            fails (exit 3) when the device is missing;
 *   TEE_MODE=nitro-emulated  the NSM emulator of lib/nsm (test PKI in
 *                            NSM_EMU_DIR, PCR0-2 from NSM_EMU_PCRS or
 *                            NSM_EMU_PCR{0,1,2}_FILE): never for production.
 * Documents asked without a nonce are cached and reused while younger than
 * ATTESTATION_CACHE_MS (default 60000; 0 disables the cache); a nonce always
 * gets a fresh document. get_random() feeds NSM entropy to main.c, which
 * mixes it into OpenSSL's RNG before the key is generated. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "attest_provider.h"
#include "teerex/codec.h"
#include "teerex/clock.h"
#include "teerex/log.h"
#include "teerex/nsm.h"

#define DEFAULT_CACHE_MS 60000

struct nitro {
    struct nsm_client client;
    struct nsm_emu *emu; /* NULL for the real device */
    pthread_mutex_t lock;
    uint64_t cache_ms;
    struct tr_buf cached_doc, cached_key, cached_ud;
    uint64_t cached_at_ms;
};

static bool same(const struct tr_buf *b, struct tr_slice s)
{
    return b->len == s.len && (s.len == 0 || memcmp(b->data, s.ptr, s.len) == 0);
}

static tr_result remember(struct nitro *n, struct tr_slice key, struct tr_slice ud,
                          const struct tr_buf *doc)
{
    tr_buf_clear(&n->cached_doc);
    tr_buf_clear(&n->cached_key);
    tr_buf_clear(&n->cached_ud);
    n->cached_at_ms = 0;
    TR_GUARD(tr_buf_append(&n->cached_doc, doc->data, doc->len));
    TR_GUARD(tr_buf_append(&n->cached_key, key.ptr, key.len));
    TR_GUARD(tr_buf_append(&n->cached_ud, ud.ptr, ud.len));
    n->cached_at_ms = tr_mono_ms();
    return TR_SUCCESS;
}

static TR_RESULT nitro_document(struct attest_provider *p, struct tr_slice public_key,
                                struct tr_slice user_data, struct tr_slice nonce,
                                struct tr_buf *out_doc)
{
    struct nitro *n = p->ctx;
    tr_result res = TR_SUCCESS;
    struct tr_buf doc;
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    pthread_mutex_lock(&n->lock);
    bool cacheable = nonce.len == 0 && n->cache_ms > 0;
    if (cacheable && n->cached_at_ms != 0 && tr_mono_ms() - n->cached_at_ms < n->cache_ms &&
        same(&n->cached_key, public_key) && same(&n->cached_ud, user_data)) {
        TR_TRY(tr_buf_append(out_doc, n->cached_doc.data, n->cached_doc.len));
        goto out;
    }
    TR_TRY(nsm_attestation(&n->client, user_data.len ? user_data.ptr : NULL, user_data.len,
                           nonce.len ? nonce.ptr : NULL, nonce.len,
                           public_key.len ? public_key.ptr : NULL, public_key.len, &doc));
    if (cacheable)
        TR_TRY(remember(n, public_key, user_data, &doc));
    TR_TRY(tr_buf_append(out_doc, doc.data, doc.len));
out:
    pthread_mutex_unlock(&n->lock);
    tr_buf_free(&doc);
    return res;
}

static TR_RESULT nitro_get_random(struct attest_provider *p, uint8_t *out, size_t len)
{
    struct nitro *n = p->ctx;
    size_t have = 0;
    tr_result res = TR_SUCCESS;
    pthread_mutex_lock(&n->lock);
    while (have < len) {
        size_t got = 0;
        TR_TRY(nsm_get_random(&n->client, out + have, len - have, &got));
        TR_CHECK(got > 0, TR_ERR_RANDOM);
        have += got;
    }
out:
    pthread_mutex_unlock(&n->lock);
    if (tr_ok(res))
        tr_log(TR_LOG_INFO, "nsm_entropy", "{s:I}", "bytes", (json_int_t)len);
    return res;
}

static void nitro_destroy(struct attest_provider *p)
{
    if (p == NULL)
        return;
    struct nitro *n = p->ctx;
    if (n != NULL) {
        nsm_close(&n->client);
        nsm_emu_free(n->emu);
        tr_buf_free(&n->cached_doc);
        tr_buf_free(&n->cached_key);
        tr_buf_free(&n->cached_ud);
        pthread_mutex_destroy(&n->lock);
        free(n);
    }
    free(p);
}

static tr_result cache_ms_from_env(uint64_t *out)
{
    const char *v = getenv("ATTESTATION_CACHE_MS");
    *out = DEFAULT_CACHE_MS;
    if (v == NULL || *v == '\0')
        return TR_SUCCESS;
    if (!tr_ok(tr_parse_u64(v, UINT64_MAX / 2, out))) {
        tr_log(TR_LOG_ERROR, "config_invalid", "{s:s,s:s}", "name", "ATTESTATION_CACHE_MS", "value",
               v);
        TR_BAIL(TR_ERR_USAGE);
    }
    return TR_SUCCESS;
}

TR_RESULT attest_nitro_create(const char *tee_mode, struct attest_provider **out)
{
    TR_ENSURE_REF(tee_mode);
    TR_ENSURE_REF(out);
    *out = NULL;
    bool emulated = strcmp(tee_mode, "nitro-emulated") == 0;
    TR_ENSURE(emulated || strcmp(tee_mode, "nitro") == 0, TR_ERR_USAGE);
    struct attest_provider *p = calloc(1, sizeof(*p));
    struct nitro *n = calloc(1, sizeof(*n));
    if (p == NULL || n == NULL) {
        free(p);
        free(n);
        TR_BAIL(TR_ERR_NOMEM);
    }
    pthread_mutex_init(&n->lock, NULL);
    n->client.fd = -1;
    tr_buf_init(&n->cached_doc, TR_MAX_ATTEST_DOC);
    tr_buf_init(&n->cached_key, TR_NSM_MAX_PUBLIC_KEY);
    tr_buf_init(&n->cached_ud, TR_NSM_MAX_USER_DATA);
    p->mode = "nitro"; /* the JSON mode: the SDK knows "standard" and "nitro" */
    p->document = nitro_document;
    p->get_random = nitro_get_random;
    p->destroy = nitro_destroy;
    p->ctx = n;
    tr_result res = TR_SUCCESS;
    TR_TRY(cache_ms_from_env(&n->cache_ms));
    if (emulated) {
        struct nsm_emu_config cfg;
        nsm_emu_config_from_env(&cfg);
        /* An all-zero PCR0 is what a debug-mode enclave reports, and clients
         * refuse it: unless told otherwise, PCR0 measures this binary, as the
         * demo does (NSM_EMU_PCRS, when set, decides every value itself). */
        if (cfg.pcr_config == NULL && cfg.pcr_files[0] == NULL)
            cfg.pcr_files[0] = "/proc/self/exe";
        res = nsm_emu_new(&cfg, &n->emu);
        if (!tr_ok(res)) {
            tr_log_result(TR_LOG_ERROR, "nsm_emulator_failed", res);
            goto out;
        }
        nsm_client_init(&n->client, nsm_emu_transport, n->emu);
        tr_log(TR_LOG_WARN, "nsm_emulated", "{s:s,s:s}", "root", nsm_emu_root_path(n->emu),
               "detail", "TEE_MODE=nitro-emulated: documents chain to a TEST root, not AWS");
    } else {
        res = nsm_open(&n->client, "/dev/nsm");
        if (!tr_ok(res)) {
            tr_log(TR_LOG_ERROR, "nsm_device_missing", "{s:s,s:s}", "device", "/dev/nsm", "detail",
                   "TEE_MODE=nitro needs the Nitro Secure Module (run inside an enclave)");
            goto out;
        }
        struct nsm_description d;
        res = nsm_describe(&n->client, &d);
        if (!tr_ok(res)) {
            tr_log_result(TR_LOG_ERROR, "nsm_describe_failed", res);
            goto out;
        }
        tr_log(TR_LOG_INFO, "nsm_ready", "{s:s,s:i,s:i,s:s}", "module_id", d.module_id,
               "version_major", d.version_major, "max_pcrs", d.max_pcrs, "digest", d.digest);
    }
    *out = p;
    p = NULL;
out:
    nitro_destroy(p);
    return res;
}
