/* NSM emulator: answers the CBOR requests of the real device from memory.
 * 32 PCRs of SHA-384 (PCR0-2 from a config file or SHA-384 of given files,
 * the rest zero); PCR0-15 are locked from the start like the boot-time PCRs
 * of an enclave, 16-31 can be extended (PCR = SHA-384(PCR || data)) and
 * locked. Attestation documents are shaped like AWS ones: untagged
 * COSE_Sign1, protected {1: -35}, empty unprotected map, ES384 raw r||s,
 * payload keys in AWS order, PCR0-15 in the pcrs map, timestamp in ms,
 * cabundle root first, a short-lived leaf. Selected only explicitly
 * (TEE_MODE=nitro-emulated or a test); never a production path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cbor.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "nsm_emu_internal.h"
#include "teerex/clock.h"
#include "teerex/codec.h"
#include "teerex/cose.h"
#include "teerex/file.h"

#define DEFAULT_MODULE_ID "i-0e0e0e0e0e0e0e0e0-enc0e0e0e0e0e0e0e0e"
#define DEFAULT_LIFETIME_S (3 * 3600)
#define DOC_PCRS 16

struct nsm_emu {
    uint8_t pcr[NSM_MAX_PCRS][NSM_PCR_LEN];
    uint32_t locked;
    char module_id[64];
    unsigned lifetime_s;
    struct emu_pki pki;
};

void nsm_emu_config_from_env(struct nsm_emu_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->dir = getenv("NSM_EMU_DIR");
    cfg->pcr_config = getenv("NSM_EMU_PCRS");
    cfg->pcr_files[0] = getenv("NSM_EMU_PCR0_FILE");
    cfg->pcr_files[1] = getenv("NSM_EMU_PCR1_FILE");
    cfg->pcr_files[2] = getenv("NSM_EMU_PCR2_FILE");
}

const char *nsm_emu_root_path(const struct nsm_emu *e)
{
    return e ? e->pki.root_path : NULL;
}

static tr_result hash_file(const char *path, uint8_t out[NSM_PCR_LEN])
{
    uint8_t dig[EVP_MAX_MD_SIZE];
    TR_ENSURE(tr_ok(tr_file_digest(path, 0, EVP_sha384(), UINT64_MAX, dig, NULL)),
              TR_ERR_NSM_EMU_CONFIG);
    memcpy(out, dig, NSM_PCR_LEN);
    return TR_SUCCESS;
}

/* Lines "INDEX HEX" (INDEX 0..2, 96 hex digits); '#' starts a comment. */
static tr_result read_pcr_config(const char *path, struct nsm_emu *e)
{
    FILE *f = fopen(path, "r");
    TR_ENSURE(f != NULL, TR_ERR_NSM_EMU_CONFIG);
    char line[256];
    tr_result res = TR_SUCCESS;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        TR_CHECK(p[0] >= '0' && p[0] <= '2' && (p[1] == ' ' || p[1] == '='), TR_ERR_NSM_EMU_CONFIG);
        unsigned idx = (unsigned)(p[0] - '0');
        char *hex = p + 2;
        size_t hl = strcspn(hex, " \t\r\n");
        TR_CHECK(hl == 2 * NSM_PCR_LEN, TR_ERR_NSM_EMU_CONFIG);
        hex[hl] = '\0';
        TR_CHECK(tr_ok(tr_hex_decode_fixed(hex, e->pcr[idx], NSM_PCR_LEN)), TR_ERR_NSM_EMU_CONFIG);
    }
out:
    fclose(f);
    return res;
}

TR_RESULT nsm_emu_new(const struct nsm_emu_config *cfg, struct nsm_emu **out)
{
    TR_ENSURE_REF(cfg);
    TR_ENSURE_REF(out);
    *out = NULL;
    struct nsm_emu *e = calloc(1, sizeof(*e));
    TR_ENSURE(e != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    const char *mid = cfg->module_id ? cfg->module_id : DEFAULT_MODULE_ID;
    TR_CHECK(strlen(mid) > 0 && strlen(mid) < sizeof(e->module_id), TR_ERR_NSM_EMU_CONFIG);
    memcpy(e->module_id, mid, strlen(mid) + 1);
    e->lifetime_s = cfg->leaf_lifetime_s ? cfg->leaf_lifetime_s : DEFAULT_LIFETIME_S;
    e->locked = 0xffffu; /* PCR0-15 */
    if (cfg->pcr_config != NULL)
        TR_TRY(read_pcr_config(cfg->pcr_config, e));
    for (int i = 0; i < 3; i++) {
        if (cfg->pcr_files[i] != NULL)
            TR_TRY(hash_file(cfg->pcr_files[i], e->pcr[i]));
    }
    char defdir[PATH_MAX];
    const char *dir = cfg->dir;
    if (dir == NULL) {
        const char *tmp = getenv("TMPDIR");
        int n = snprintf(defdir, sizeof(defdir), "%s/teerex-nsm-emu", tmp && *tmp ? tmp : "/tmp");
        TR_CHECK(n > 0 && (size_t)n < sizeof(defdir), TR_ERR_NSM_EMU_CONFIG);
        dir = defdir;
    }
    TR_TRY(emu_pki_load(dir, &e->pki));
    TR_TRY(emu_pki_new_leaf(&e->pki, e->module_id, e->lifetime_s));
    *out = e;
    e = NULL;
out:
    nsm_emu_free(e);
    return res;
}

void nsm_emu_free(struct nsm_emu *e)
{
    if (e == NULL)
        return;
    emu_pki_free(&e->pki);
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

/* --- responses --- */

static cbor_item_t *error_response(int32_t err)
{
    const char *name = nsm_error_name(err);
    cbor_item_t *m = cbor_new_definite_map(1);
    if (m && !cose_cbor_put(m, "Error", cbor_build_string(name ? name : "InternalError")))
        cbor_decref(&m);
    return m;
}

/* An optional bstr field of a request: absent or null -> *present false. */
static int32_t opt_field(const cbor_item_t *f, const char *key, size_t max, struct tr_slice *s,
                         bool *present)
{
    cbor_item_t *it = NULL;
    *present = false;
    if (!tr_ok(cose_cbor_map_get(f, key, TR_ERR_NSM_INVALID_ARGUMENT, &it)))
        return TR_ERR_NSM_INVALID_ARGUMENT;
    if (it == NULL || cose_cbor_is_null(it))
        return TR_OK;
    if (!tr_ok(cose_cbor_bytes(it, TR_ERR_NSM_INVALID_ARGUMENT, s)))
        return TR_ERR_NSM_INVALID_ARGUMENT;
    if (s->len > max)
        return TR_ERR_NSM_INPUT_TOO_LARGE;
    *present = true;
    return TR_OK;
}

static cbor_item_t *nullable(bool present, struct tr_slice s)
{
    return present ? cose_cbor_new_bytes(s.ptr, s.len) : cbor_new_null();
}

static tr_result make_document(struct nsm_emu *e, const cbor_item_t *f, cbor_item_t **resp,
                               int32_t *nsm_err)
{
    struct tr_slice ud = {0}, nonce = {0}, pk = {0};
    bool has_ud, has_nonce, has_pk;
    *nsm_err = opt_field(f, "user_data", TR_NSM_MAX_USER_DATA, &ud, &has_ud);
    if (*nsm_err == TR_OK)
        *nsm_err = opt_field(f, "nonce", TR_NSM_MAX_NONCE, &nonce, &has_nonce);
    if (*nsm_err == TR_OK)
        *nsm_err = opt_field(f, "public_key", TR_NSM_MAX_PUBLIC_KEY, &pk, &has_pk);
    if (*nsm_err != TR_OK)
        return TR_SUCCESS;
    if ((int64_t)time(NULL) + 60 >= e->pki.leaf_not_after)
        TR_GUARD(emu_pki_new_leaf(&e->pki, e->module_id, e->lifetime_s));

    tr_result res = TR_SUCCESS;
    struct tr_buf payload, doc;
    tr_buf_init(&payload, TR_MAX_ATTEST_DOC);
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    cbor_item_t *map = cbor_new_definite_map(9), *pcrs = cbor_new_definite_map(DOC_PCRS),
                *cab = cbor_new_definite_array(EMU_CHAIN_LEN);
    TR_CHECK(map && pcrs && cab, TR_ERR_NOMEM);
    for (unsigned i = 0; i < DOC_PCRS; i++) {
        cbor_item_t *k = cbor_build_uint8((uint8_t)i),
                    *v = cose_cbor_new_bytes(e->pcr[i], NSM_PCR_LEN);
        bool ok = k && v && cbor_map_add(pcrs, (struct cbor_pair){.key = k, .value = v});
        if (k)
            cbor_decref(&k);
        if (v)
            cbor_decref(&v);
        TR_CHECK(ok, TR_ERR_NOMEM);
    }
    for (int i = 0; i < EMU_CHAIN_LEN; i++) {
        cbor_item_t *c = cose_cbor_new_bytes(e->pki.ca_der[i].data, e->pki.ca_der[i].len);
        bool ok = c && cbor_array_push(cab, c);
        if (c)
            cbor_decref(&c);
        TR_CHECK(ok, TR_ERR_NOMEM);
    }
    bool ok = cose_cbor_put(map, "module_id", cbor_build_string(e->module_id)) &&
              cose_cbor_put(map, "digest", cbor_build_string("SHA384")) &&
              cose_cbor_put(map, "timestamp", cbor_build_uint64(tr_wall_ms())) &&
              cose_cbor_put(map, "pcrs", cbor_incref(pcrs)) &&
              cose_cbor_put(map, "certificate",
                            cose_cbor_new_bytes(e->pki.leaf_der.data, e->pki.leaf_der.len)) &&
              cose_cbor_put(map, "cabundle", cbor_incref(cab)) &&
              cose_cbor_put(map, "public_key", nullable(has_pk, pk)) &&
              cose_cbor_put(map, "user_data", nullable(has_ud, ud)) &&
              cose_cbor_put(map, "nonce", nullable(has_nonce, nonce));
    TR_CHECK(ok, TR_ERR_NOMEM);
    TR_TRY(cose_cbor_serialize(map, &payload));
    TR_TRY(cose_sign1_sign(payload.data, payload.len, e->pki.leaf_key, &doc));
    cbor_item_t *fields = cbor_new_definite_map(1);
    TR_CHECK(fields != NULL, TR_ERR_NOMEM);
    TR_CHECK(cose_cbor_put(fields, "document", cose_cbor_new_bytes(doc.data, doc.len)),
             TR_ERR_NOMEM);
    *resp = cose_cbor_variant("Attestation", fields);
    TR_CHECK(*resp != NULL, TR_ERR_NOMEM);
out:
    if (map)
        cbor_decref(&map);
    if (pcrs)
        cbor_decref(&pcrs);
    if (cab)
        cbor_decref(&cab);
    tr_buf_free(&payload);
    tr_buf_free(&doc);
    return res;
}

static int32_t get_u16(const cbor_item_t *f, const char *key, uint16_t *out)
{
    cbor_item_t *it = NULL;
    uint64_t v;
    if (!tr_ok(cose_cbor_map_get(f, key, TR_ERR_NSM_INVALID_ARGUMENT, &it)) ||
        !tr_ok(cose_cbor_uint(it, TR_ERR_NSM_INVALID_ARGUMENT, &v)) || v > UINT16_MAX)
        return TR_ERR_NSM_INVALID_ARGUMENT;
    *out = (uint16_t)v;
    return TR_OK;
}

static cbor_item_t *pcr_response(const char *name, struct nsm_emu *e, uint16_t idx, bool with_lock)
{
    cbor_item_t *f = cbor_new_definite_map(with_lock ? 2 : 1);
    if (f == NULL)
        return NULL;
    if ((with_lock && !cose_cbor_put(f, "lock", cbor_build_bool((e->locked >> idx) & 1))) ||
        !cose_cbor_put(f, "data", cose_cbor_new_bytes(e->pcr[idx], NSM_PCR_LEN))) {
        cbor_decref(&f);
        return NULL;
    }
    return cose_cbor_variant(name, f);
}

static cbor_item_t *describe(struct nsm_emu *e)
{
    cbor_item_t *f = cbor_new_definite_map(7), *locked = cbor_new_indefinite_array();
    bool ok = f && locked;
    for (unsigned i = 0; ok && i < NSM_MAX_PCRS; i++) {
        if ((e->locked >> i) & 1) {
            cbor_item_t *v = cbor_build_uint8((uint8_t)i);
            ok = v && cbor_array_push(locked, v);
            if (v)
                cbor_decref(&v);
        }
    }
    ok = ok && cose_cbor_put(f, "version_major", cbor_build_uint16(1)) &&
         cose_cbor_put(f, "version_minor", cbor_build_uint16(0)) &&
         cose_cbor_put(f, "version_patch", cbor_build_uint16(0)) &&
         cose_cbor_put(f, "module_id", cbor_build_string(e->module_id)) &&
         cose_cbor_put(f, "max_pcrs", cbor_build_uint16(NSM_MAX_PCRS)) &&
         cose_cbor_put(f, "locked_pcrs", cbor_incref(locked));
    ok = ok && cose_cbor_put(f, "digest", cbor_build_string("SHA384"));
    if (locked)
        cbor_decref(&locked);
    if (!ok) {
        if (f)
            cbor_decref(&f);
        return NULL;
    }
    return cose_cbor_variant("DescribeNSM", f);
}

/* Dispatches one request; *resp is the answer, or NULL with *nsm_err set. */
static tr_result handle(struct nsm_emu *e, const cbor_item_t *req, cbor_item_t **resp,
                        int32_t *nsm_err)
{
    *resp = NULL;
    *nsm_err = TR_OK;
    if (cose_cbor_text_eq(req, "DescribeNSM")) {
        *resp = describe(e);
    } else if (cose_cbor_text_eq(req, "GetRandom")) {
        uint8_t rnd[NSM_RANDOM_LEN];
        TR_ENSURE(RAND_bytes(rnd, sizeof(rnd)) == 1, TR_ERR_RANDOM);
        cbor_item_t *f = cbor_new_definite_map(1);
        if (f && cose_cbor_put(f, "random", cose_cbor_new_bytes(rnd, sizeof(rnd))))
            *resp = cose_cbor_variant("GetRandom", f);
        else if (f)
            cbor_decref(&f);
    } else if (cbor_isa_map(req) && cbor_map_size(req) == 1 &&
               cbor_isa_map(cbor_map_handle(req)[0].value) &&
               tr_ok(cose_cbor_map_unique(cbor_map_handle(req)[0].value,
                                          TR_ERR_NSM_INVALID_ARGUMENT))) {
        const cbor_item_t *name = cbor_map_handle(req)[0].key;
        const cbor_item_t *f = cbor_map_handle(req)[0].value;
        uint16_t idx = 0;
        if (cose_cbor_text_eq(name, "Attestation"))
            return make_document(e, f, resp, nsm_err);
        if (cose_cbor_text_eq(name, "DescribePCR")) {
            if ((*nsm_err = get_u16(f, "index", &idx)) == TR_OK && idx >= NSM_MAX_PCRS)
                *nsm_err = TR_ERR_NSM_INVALID_INDEX;
            if (*nsm_err == TR_OK)
                *resp = pcr_response("DescribePCR", e, idx, true);
        } else if (cose_cbor_text_eq(name, "ExtendPCR")) {
            cbor_item_t *d = NULL;
            struct tr_slice data;
            if ((*nsm_err = get_u16(f, "index", &idx)) != TR_OK)
                return TR_SUCCESS;
            if (!tr_ok(cose_cbor_map_get(f, "data", TR_ERR_NSM_INVALID_ARGUMENT, &d)) ||
                !tr_ok(cose_cbor_bytes(d, TR_ERR_NSM_INVALID_ARGUMENT, &data)))
                *nsm_err = TR_ERR_NSM_INVALID_ARGUMENT;
            else if (idx >= NSM_MAX_PCRS)
                *nsm_err = TR_ERR_NSM_INVALID_INDEX;
            else if ((e->locked >> idx) & 1)
                *nsm_err = TR_ERR_NSM_READ_ONLY_INDEX;
            if (*nsm_err != TR_OK)
                return TR_SUCCESS;
            EVP_MD_CTX *md = EVP_MD_CTX_new();
            bool ok = md && EVP_DigestInit_ex(md, EVP_sha384(), NULL) == 1 &&
                      EVP_DigestUpdate(md, e->pcr[idx], NSM_PCR_LEN) == 1 &&
                      EVP_DigestUpdate(md, data.ptr, data.len) == 1 &&
                      EVP_DigestFinal_ex(md, e->pcr[idx], NULL) == 1;
            EVP_MD_CTX_free(md);
            TR_ENSURE(ok, TR_ERR_OSSL);
            *resp = pcr_response("ExtendPCR", e, idx, false);
        } else if (cose_cbor_text_eq(name, "LockPCR")) {
            if ((*nsm_err = get_u16(f, "index", &idx)) == TR_OK && idx >= NSM_MAX_PCRS)
                *nsm_err = TR_ERR_NSM_INVALID_INDEX;
            if (*nsm_err == TR_OK) {
                e->locked |= 1u << idx;
                *resp = cbor_build_string("LockPCR");
            }
        } else if (cose_cbor_text_eq(name, "LockPCRs")) {
            if ((*nsm_err = get_u16(f, "range", &idx)) == TR_OK && idx > NSM_MAX_PCRS)
                *nsm_err = TR_ERR_NSM_INVALID_INDEX;
            if (*nsm_err == TR_OK) {
                e->locked |= idx == NSM_MAX_PCRS ? 0xffffffffu : ((1u << idx) - 1);
                *resp = cbor_build_string("LockPCRs");
            }
        } else {
            *nsm_err = TR_ERR_NSM_INVALID_OPERATION;
        }
        return TR_SUCCESS;
    } else {
        *nsm_err = TR_ERR_NSM_INVALID_OPERATION;
        return TR_SUCCESS;
    }
    TR_ENSURE(*resp != NULL, TR_ERR_NOMEM);
    return TR_SUCCESS;
}

tr_result nsm_emu_transport(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                            size_t resp_cap, size_t *resp_len)
{
    struct nsm_emu *e = ctx;
    TR_ENSURE_REF(e);
    TR_ENSURE_REF(resp_len);
    TR_ENSURE(req_len <= NSM_REQUEST_MAX, TR_ERR_NSM_REQUEST_TOO_BIG);
    cbor_item_t *r = NULL, *answer = NULL;
    int32_t nsm_err = TR_OK;
    tr_result res = TR_SUCCESS;
    struct tr_buf out;
    tr_buf_init(&out, TR_NSM_MAX_RESPONSE);
    if (!tr_ok(cose_cbor_load(req, req_len, TR_ERR_NSM_INVALID_ARGUMENT, &r)))
        nsm_err = TR_ERR_NSM_INVALID_ARGUMENT;
    else
        TR_TRY(handle(e, r, &answer, &nsm_err));
    if (nsm_err != TR_OK) {
        answer = error_response(nsm_err);
        TR_CHECK(answer != NULL, TR_ERR_NOMEM);
    }
    TR_TRY(cose_cbor_serialize(answer, &out));
    TR_CHECK(out.len <= resp_cap, TR_ERR_NSM_BUFFER_TOO_SMALL);
    memcpy(resp, out.data, out.len);
    *resp_len = out.len;
out:
    if (r)
        cbor_decref(&r);
    if (answer)
        cbor_decref(&answer);
    tr_buf_free(&out);
    return res;
}
