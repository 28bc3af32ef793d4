/* Mutation matrix on real (../shared/nitro-docs, at their own time) and
 * emulated (NSM emulator, its root passed explicitly) documents: each
 * payload field changed, removed, duplicated and retyped; certificates
 * swapped and bit-flipped; signature bits; CBOR truncated at every length;
 * wrong alg; tags; trailing bytes. Each must be rejected with the right
 * error code, never a crash (this test also runs under ASan and valgrind). */
#include <string.h>
#include <unistd.h>

#include <cbor.h>

#include "attest_testutil.h"
#include "harness.h"
#include "teerex/attest.h"
#include "teerex/cose.h"
#include "teerex/nsm.h"

/* Under valgrind (TR_VALGRIND=1, ~50x slower) the matrix runs on one real
 * and the emulated document, and truncation steps through the lengths with
 * a stride (plus the first and last 64 bytes); gcc and ASan runs do it all. */
static bool slow_mode(void)
{
    const char *v = getenv("TR_VALGRIND");
    return v != NULL && strcmp(v, "1") == 0;
}

struct subject {
    const char *name;
    uint8_t *doc;
    size_t len;
    struct attest_expect exp;
};

static int32_t verify(const struct subject *s, const uint8_t *p, size_t n)
{
    struct attest_result r;
    attest_result_init(&r);
    tr_result res = attest_verify(p, n, &s->exp, &r);
    attest_result_free(&r);
    return res.err;
}

#define EXPECT_CODE(s, buf, code, what)                                                            \
    do {                                                                                           \
        int32_t got_ = verify((s), (buf)->data, (buf)->len);                                       \
        TH_REPORT(got_ == (code), "%s: %s: expected %s, got %s", (s)->name, (what),                \
                  tr_err_name(code), tr_err_name(got_));                                           \
    } while (0)

/* The four parts of the envelope, re-encoded as a definite array. */
struct parts {
    cbor_item_t *root; /* outer array */
    cbor_item_t *payload;
};

static bool split(const struct subject *s, struct parts *p)
{
    struct cbor_load_result lr;
    p->root = cbor_load(s->doc, s->len, &lr);
    if (p->root == NULL || !cbor_isa_array(p->root))
        return false;
    cbor_item_t *pl = cbor_array_handle(p->root)[2];
    p->payload = cbor_load(cbor_bytestring_handle(pl), cbor_bytestring_length(pl), &lr);
    return p->payload != NULL;
}

static void parts_free(struct parts *p)
{
    if (p->root)
        cbor_decref(&p->root);
    if (p->payload)
        cbor_decref(&p->payload);
}

static void ser(cbor_item_t *it, struct tr_buf *out)
{
    tr_buf_clear(out);
    tr_ignore(cose_cbor_serialize(it, out));
}

/* [prot, unprot, payload, sig] with any of them replaced (NULL: original). */
static void envelope(const struct parts *p, cbor_item_t *prot, cbor_item_t *unprot,
                     const struct tr_buf *payload, cbor_item_t *sig, struct tr_buf *out)
{
    cbor_item_t **a = cbor_array_handle(p->root);
    cbor_item_t *arr = cbor_new_definite_array(4);
    cbor_item_t *pl =
        payload ? cbor_build_bytestring(payload->data, payload->len) : cbor_incref(a[2]);
    cbor_array_push(arr, prot ? prot : a[0]);
    cbor_array_push(arr, unprot ? unprot : a[1]);
    cbor_array_push(arr, pl);
    cbor_array_push(arr, sig ? sig : a[3]);
    cbor_decref(&pl);
    ser(arr, out);
    cbor_decref(&arr);
}

enum op { OP_REPLACE, OP_REMOVE, OP_DUP };

/* A copy of the payload map with field changed. */
static void mutate(const struct parts *p, const char *field, enum op op, cbor_item_t *val,
                   struct tr_buf *out)
{
    size_t n = cbor_map_size(p->payload);
    struct cbor_pair *m = cbor_map_handle(p->payload);
    cbor_item_t *map = cbor_new_definite_map(n + 1);
    for (size_t i = 0; i < n; i++) {
        bool hit = cose_cbor_text_eq(m[i].key, field);
        if (hit && op == OP_REMOVE)
            continue;
        cbor_map_add(map, (struct cbor_pair){.key = m[i].key,
                                             .value = hit && op == OP_REPLACE ? val : m[i].value});
        if (hit && op == OP_DUP)
            cbor_map_add(map, (struct cbor_pair){.key = m[i].key, .value = m[i].value});
    }
    struct tr_buf pl;
    tr_buf_init(&pl, 1 << 20);
    ser(map, &pl);
    envelope(p, NULL, NULL, &pl, NULL, out);
    tr_buf_free(&pl);
    cbor_decref(&map);
}

static cbor_item_t *field(const struct parts *p, const char *name)
{
    cbor_item_t *v = NULL;
    tr_ignore(cose_cbor_map_get(p->payload, name, TR_ERR_ATTEST_INVALID_DOCUMENT, &v));
    return v;
}

/* A byte string equal to b with one bit flipped at pos (from the end when pos < 0). */
static cbor_item_t *flipped(const cbor_item_t *b, long pos)
{
    size_t n = cbor_bytestring_length(b);
    uint8_t *c = malloc(n);
    memcpy(c, cbor_bytestring_handle(b), n);
    size_t at = pos < 0 ? n - (size_t)(-pos) : (size_t)pos;
    c[at] ^= 0x01;
    cbor_item_t *r = cbor_build_bytestring(c, n);
    free(c);
    return r;
}

static void run_payload_matrix(const struct subject *s, const struct parts *p, struct tr_buf *b)
{
    static const char *const required[] = {"module_id", "digest",      "timestamp",
                                           "pcrs",      "certificate", "cabundle"};
    static const char *const optional[] = {"public_key", "user_data", "nonce"};
    char what[96];
    /* baseline: re-encoding the untouched envelope still verifies */
    envelope(p, NULL, NULL, NULL, NULL, b);
    EXPECT_CODE(s, b, TR_OK, "re-encoded envelope");
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        snprintf(what, sizeof(what), "remove %s", required[i]);
        mutate(p, required[i], OP_REMOVE, NULL, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, what);
    }
    static const char *const all[] = {"module_id", "digest",     "timestamp", "pcrs", "certificate",
                                      "cabundle",  "public_key", "user_data", "nonce"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        snprintf(what, sizeof(what), "duplicate %s", all[i]);
        mutate(p, all[i], OP_DUP, NULL, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, what);
        /* uint, except for timestamp (a uint already): text */
        cbor_item_t *num =
            strcmp(all[i], "timestamp") == 0 ? cbor_build_string("7") : cbor_build_uint8(7);
        snprintf(what, sizeof(what), "retype %s", all[i]);
        mutate(p, all[i], OP_REPLACE, num, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, what);
        cbor_decref(&num);
        cbor_item_t *arr = cbor_new_definite_array(0);
        snprintf(what, sizeof(what), "retype %s to array", all[i]);
        mutate(p, all[i], OP_REPLACE, arr, b);
        /* an empty cabundle array is a type-correct "no chain" */
        EXPECT_CODE(s, b,
                    strcmp(all[i], "cabundle") == 0 ? TR_ERR_ATTEST_CHAIN_FAILED
                                                    : TR_ERR_ATTEST_INVALID_DOCUMENT,
                    what);
        cbor_decref(&arr);
    }
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        snprintf(what, sizeof(what), "remove %s", optional[i]);
        mutate(p, optional[i], OP_REMOVE, NULL, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_SIGNATURE_FAILED, what);
        cbor_item_t *x = cbor_build_bytestring((const uint8_t *)"x", 1);
        snprintf(what, sizeof(what), "change %s", optional[i]);
        mutate(p, optional[i], OP_REPLACE, x, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_SIGNATURE_FAILED, what);
        cbor_decref(&x);
        uint8_t big[1100] = {0};
        x = cbor_build_bytestring(big, 1025); /* each field: 0..1024 bytes */
        snprintf(what, sizeof(what), "oversize %s", optional[i]);
        mutate(p, optional[i], OP_REPLACE, x, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, what);
        cbor_decref(&x);
    }
    /* same type, other value: the signature no longer matches */
    cbor_item_t *v = cbor_build_string("i-0000000000000000-enc0000000000000000");
    mutate(p, "module_id", OP_REPLACE, v, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_SIGNATURE_FAILED, "change module_id");
    cbor_decref(&v);
    v = cbor_build_string("");
    mutate(p, "module_id", OP_REPLACE, v, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, "empty module_id");
    cbor_decref(&v);
    v = cbor_build_string("SHA512");
    mutate(p, "digest", OP_REPLACE, v, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, "digest SHA512");
    cbor_decref(&v);
    v = cbor_build_uint64(cbor_get_int(field(p, "timestamp")) + 1);
    mutate(p, "timestamp", OP_REPLACE, v, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_SIGNATURE_FAILED, "timestamp + 1 ms");
    cbor_decref(&v);
    v = cbor_build_uint8(0);
    mutate(p, "timestamp", OP_REPLACE, v, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, "timestamp 0");
    cbor_decref(&v);
    /* pcrs: a flipped value, a bad length, a bad index */
    cbor_item_t *pcrs = field(p, "pcrs");
    size_t np = cbor_map_size(pcrs);
    struct cbor_pair *pm = cbor_map_handle(pcrs);
    for (int variant = 0; variant < 3; variant++) {
        cbor_item_t *nm = cbor_new_definite_map(np);
        for (size_t i = 0; i < np; i++) {
            cbor_item_t *k = pm[i].key, *val = pm[i].value, *own = NULL, *ownk = NULL;
            if (i == 0 && variant == 0)
                val = own = flipped(pm[i].value, 5);
            if (i == 0 && variant == 1)
                val = own = cbor_build_bytestring(cbor_bytestring_handle(pm[i].value), 47);
            if (i == 0 && variant == 2)
                k = ownk = cbor_build_uint8(32);
            cbor_map_add(nm, (struct cbor_pair){.key = k, .value = val});
            if (own)
                cbor_decref(&own);
            if (ownk)
                cbor_decref(&ownk);
        }
        mutate(p, "pcrs", OP_REPLACE, nm, b);
        EXPECT_CODE(s, b,
                    variant == 0 ? TR_ERR_ATTEST_SIGNATURE_FAILED : TR_ERR_ATTEST_INVALID_DOCUMENT,
                    variant == 0   ? "PCR0 bit flip"
                    : variant == 1 ? "PCR0 47 bytes"
                                   : "PCR index 32");
        cbor_decref(&nm);
    }
}

static void run_cert_matrix(const struct subject *s, const struct parts *p, struct tr_buf *b)
{
    cbor_item_t *cert = field(p, "certificate"), *cab = field(p, "cabundle");
    size_t nc = cbor_array_size(cab);
    cbor_item_t **ca = cbor_array_handle(cab);
    /* leaf bit flips: in the signature (end), in the body (middle) */
    long spots[] = {-3, (long)cbor_bytestring_length(cert) / 2};
    for (size_t i = 0; i < 2; i++) {
        cbor_item_t *f = flipped(cert, spots[i]);
        mutate(p, "certificate", OP_REPLACE, f, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_CHAIN_FAILED, "leaf bit flip");
        cbor_decref(&f);
    }
    /* the leaf replaced by an intermediate (a CA) */
    mutate(p, "certificate", OP_REPLACE, ca[nc - 1], b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_CHAIN_FAILED, "leaf swapped for an intermediate");
    /* each cabundle certificate flipped; the root moved from the front */
    for (size_t k = 0; k <= nc; k++) {
        cbor_item_t *arr = cbor_new_definite_array(nc);
        for (size_t i = 0; i < nc; i++) {
            cbor_item_t *own = NULL;
            cbor_item_t *c = ca[i];
            if (k < nc && i == k)
                c = own = flipped(ca[i], -3);
            if (k == nc) /* swap [0] and [1] */
                c = ca[i == 0 ? 1 : i == 1 ? 0 : i];
            cbor_array_push(arr, c);
            if (own)
                cbor_decref(&own);
        }
        mutate(p, "cabundle", OP_REPLACE, arr, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_CHAIN_FAILED,
                    k == nc ? "cabundle root not first" : "cabundle bit flip");
        cbor_decref(&arr);
    }
    /* intermediates missing: no path */
    cbor_item_t *only_root = cbor_new_definite_array(1);
    cbor_array_push(only_root, ca[0]);
    mutate(p, "cabundle", OP_REPLACE, only_root, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_CHAIN_FAILED, "cabundle without intermediates");
    cbor_decref(&only_root);
    cbor_item_t *null = cbor_new_null();
    mutate(p, "cabundle", OP_REPLACE, null, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_CHAIN_FAILED, "cabundle null");
    cbor_decref(&null);
}

static void run_envelope_matrix(const struct subject *s, const struct parts *p, struct tr_buf *b)
{
    cbor_item_t **a = cbor_array_handle(p->root);
    /* signature bits */
    long bits[] = {0, 47, 48, 95, -1};
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        cbor_item_t *sig = flipped(a[3], bits[i]);
        envelope(p, NULL, NULL, NULL, sig, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_SIGNATURE_FAILED, "signature bit flip");
        cbor_decref(&sig);
    }
    cbor_item_t *short_sig = cbor_build_bytestring(cbor_bytestring_handle(a[3]), 95);
    envelope(p, NULL, NULL, NULL, short_sig, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, "95-byte signature");
    cbor_decref(&short_sig);
    /* wrong alg, duplicate label, empty protected header, alg repeated unprotected */
    static const uint8_t es256[] = {0xa1, 0x01, 0x26},
                         dup[] = {0xa2, 0x01, 0x38, 0x22, 0x01, 0x38, 0x22},
                         ps384[] = {0xa1, 0x01, 0x38, 0x25}, text_alg[] = {0xa1, 0x01, 0x61, 'x'};
    const struct {
        const uint8_t *p;
        size_t n;
        const char *what;
    } prots[] = {{es256, sizeof(es256), "alg ES256"},
                 {ps384, sizeof(ps384), "alg PS384"},
                 {dup, sizeof(dup), "duplicate alg"},
                 {text_alg, sizeof(text_alg), "alg as text"},
                 {es256, 0, "empty protected"}};
    for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
        cbor_item_t *pr = cbor_build_bytestring(prots[i].p, prots[i].n);
        envelope(p, pr, NULL, NULL, NULL, b);
        EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, prots[i].what);
        cbor_decref(&pr);
    }
    cbor_item_t *um = cbor_new_definite_map(1);
    cbor_item_t *k = cbor_build_uint8(1), *v = cbor_build_negint8(34);
    cbor_map_add(um, (struct cbor_pair){.key = k, .value = v});
    envelope(p, NULL, um, NULL, NULL, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, "alg in unprotected header");
    cbor_decref(&um);
    cbor_decref(&k);
    cbor_decref(&v);
    cbor_item_t *arr_unprot = cbor_new_definite_array(0);
    envelope(p, NULL, arr_unprot, NULL, NULL, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, "unprotected header an array");
    cbor_decref(&arr_unprot);
    /* payload not a map / with trailing bytes */
    struct tr_buf pl;
    tr_buf_init(&pl, 1 << 20);
    tr_ignore(tr_buf_append(&pl, "\x80", 1));
    envelope(p, NULL, NULL, &pl, NULL, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, "payload an array");
    ser(p->payload, &pl);
    tr_ignore(tr_buf_append_u8(&pl, 0));
    envelope(p, NULL, NULL, &pl, NULL, b);
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_DOCUMENT, "payload trailing byte");
    tr_buf_free(&pl);
    /* tags: 18 accepted, others refused; trailing bytes */
    tr_buf_clear(b);
    tr_ignore(tr_buf_append_u8(b, 0xd2));
    tr_ignore(tr_buf_append(b, s->doc, s->len));
    EXPECT_CODE(s, b, TR_OK, "tag 18");
    b->data[0] = 0xd1; /* tag 17: COSE_Mac0 */
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, "tag 17");
    tr_buf_clear(b);
    tr_ignore(tr_buf_append(b, s->doc, s->len));
    tr_ignore(tr_buf_append_u8(b, 0x00));
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, "trailing byte");
    /* the outer array with 3 or 5 elements */
    tr_buf_clear(b);
    tr_ignore(tr_buf_append(b, s->doc, s->len));
    b->data[0] = 0x83;
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, "3-element array");
    b->data[0] = 0x85;
    EXPECT_CODE(s, b, TR_ERR_ATTEST_INVALID_COSE, "5-element array");
    /* truncated at every length */
    int wrong = 0;
    size_t stride = slow_mode() ? 41 : 1;
    for (size_t n = 0; n < s->len; n++) {
        if (stride > 1 && n > 64 && n + 64 < s->len && n % stride != 0)
            continue;
        if (verify(s, s->doc, n) != TR_ERR_ATTEST_INVALID_COSE)
            wrong++;
    }
    TH_REPORT(wrong == 0, "%s: %d truncations not INVALID_COSE", s->name, wrong);
    /* over the size limit */
    uint8_t *huge = calloc(1, TR_MAX_ATTEST_DOC + 1);
    int32_t e = verify(s, huge, TR_MAX_ATTEST_DOC + 1);
    EXPECT_EQ(e, TR_ERR_ATTEST_TOO_BIG);
    EXPECT_EQ(attest_class_of(e), ATTEST_CLASS_INVALID_COSE);
    free(huge);
}

static void run_expectations(struct subject *s, const struct parts *p)
{
    struct attest_expect saved = s->exp;
    struct attest_result r;
    struct tr_buf b;
    tr_buf_init(&b, 1);
    (void)p;
    /* PCR: expect the actual PCR0, then a different one */
    attest_result_init(&r);
    tr_ignore(attest_doc_decode(s->doc, s->len, &r));
    struct attest_pcr_expect pe = {.index = 0, .len = r.pcr_len[0]};
    memcpy(pe.value, r.pcrs[0], pe.len);
    bool had_key = r.has_public_key, had_nonce = r.has_nonce;
    attest_result_free(&r);
    s->exp.pcrs = &pe;
    s->exp.n_pcrs = 1;
    EXPECT_EQ(verify(s, s->doc, s->len), TR_OK);
    pe.value[0] ^= 0x80;
    EXPECT_EQ(verify(s, s->doc, s->len), TR_ERR_ATTEST_PCR_MISMATCH);
    pe.index = 20; /* absent from the document */
    pe.value[0] ^= 0x80;
    EXPECT_EQ(verify(s, s->doc, s->len), TR_ERR_ATTEST_PCR_MISMATCH);
    pe.index = 40;
    EXPECT_EQ(verify(s, s->doc, s->len), TR_ERR_ATTEST_BAD_EXPECT);
    s->exp = saved;
    /* nonce */
    static const uint8_t other[4] = {9, 9, 9, 9};
    s->exp.nonce = other;
    s->exp.nonce_len = sizeof(other);
    EXPECT_EQ(verify(s, s->doc, s->len), TR_ERR_ATTEST_NONCE_MISMATCH);
    EXPECT_EQ(attest_class_of(TR_ERR_ATTEST_NONCE_MISMATCH), ATTEST_CLASS_NONCE_MISMATCH);
    s->exp.nonce_len = 0; /* expecting no nonce */
    EXPECT_EQ(verify(s, s->doc, s->len), had_nonce ? TR_ERR_ATTEST_NONCE_MISMATCH : TR_OK);
    s->exp = saved;
    /* public key */
    s->exp.require_public_key = true;
    EXPECT_EQ(verify(s, s->doc, s->len), had_key ? TR_OK : TR_ERR_ATTEST_MISSING_KEY);
    s->exp.public_key = (const uint8_t *)"other key";
    s->exp.public_key_len = 9;
    EXPECT_EQ(verify(s, s->doc, s->len),
              had_key ? TR_ERR_ATTEST_KEY_MISMATCH : TR_ERR_ATTEST_MISSING_KEY);
    EXPECT_EQ(attest_class_of(TR_ERR_ATTEST_KEY_MISMATCH), ATTEST_CLASS_MISSING_KEY);
    s->exp = saved;
    /* bb versions: real documents carry no version list */
    struct attest_bb_expect bb = {.version = "9.9.9"};
    s->exp.bb = &bb;
    s->exp.n_bb = 1;
    EXPECT_EQ(verify(s, s->doc, s->len), TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    s->exp = saved;
    tr_buf_free(&b);
}

static void run_all(struct subject *s)
{
    struct parts p = {0};
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_TRUE(split(s, &p));
    if (p.payload) {
        EXPECT_EQ(verify(s, s->doc, s->len), TR_OK);
        run_payload_matrix(s, &p, &b);
        run_cert_matrix(s, &p, &b);
        run_envelope_matrix(s, &p, &b);
        run_expectations(s, &p);
    }
    parts_free(&p);
    tr_buf_free(&b);
}

static const char *const REAL[] = {
    "2021-03-24_anjuna_sample_prod_doc_with_publickey",
    "2022-10-13_evervault_beta_valid",
    "2023-09-18_evervault_valid_b64_debug",
    "2024-01-24_anjuna_attester_full_debug",
    "2024-02-26_marlin_nitroprover_sample1",
    "2025-07-18_sui-sentinel_indefinite-map",
};

static void test_real(void)
{
    size_t n = slow_mode() ? 1 : sizeof(REAL) / sizeof(REAL[0]);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/nitro-docs/%s.cose", tu_shared(), REAL[i]);
        struct subject s = {REAL[i], NULL, 0, ATTEST_EXPECT_INIT};
        s.doc = tu_read(path, &s.len);
        if (s.doc == NULL) {
            printf("skip %s: absent\n", path);
            continue;
        }
        s.exp.at = ATTEST_AT_DOC;
        run_all(&s);
        free(s.doc);
    }
}

static void test_emulated(void)
{
    char dir[] = "/tmp/attest_mutation_test.XXXXXX";
    if (!mkdtemp(dir))
        return;
    struct nsm_emu_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = dir;
    struct nsm_emu *emu = NULL;
    EXPECT_OK(nsm_emu_new(&cfg, &emu));
    if (emu == NULL)
        return;
    struct nsm_client c;
    nsm_client_init(&c, nsm_emu_transport, emu);
    struct tr_buf doc;
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    static const uint8_t nonce[16] = {1, 2, 3};
    const char *ud = "{\"versions\":[{\"version\":\"1.0.0\",\"sha256\":"
                     "\"00000000000000000000000000000000000000000000000000000000000000ff\"}]}";
    EXPECT_OK(nsm_attestation(&c, (const uint8_t *)ud, strlen(ud), nonce, sizeof(nonce),
                              (const uint8_t *)"armored key", 11, &doc));
    size_t rl = 0;
    char *root = (char *)tu_read(nsm_emu_root_path(emu), &rl);
    char *rootz = calloc(1, rl + 1);
    memcpy(rootz, root, rl);
    struct subject s = {"emulated", doc.data, doc.len, ATTEST_EXPECT_INIT};
    s.exp.extra_root_pem = rootz;
    run_all(&s);
    /* the version list: present, wrong digest, absent */
    struct attest_bb_expect bb = {.version = "1.0.0"};
    bb.sha256[31] = 0xff;
    s.exp.bb = &bb;
    s.exp.n_bb = 1;
    EXPECT_EQ(verify(&s, doc.data, doc.len), TR_OK);
    bb.sha256[31] = 0xfe;
    EXPECT_EQ(verify(&s, doc.data, doc.len), TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    s.exp.n_bb = 0;
    /* a version list too long for 512 bytes travels as its digest */
    struct attest_bb_expect many[40];
    memset(many, 0, sizeof(many));
    for (int i = 0; i < 40; i++) {
        snprintf(many[i].version, sizeof(many[i].version), "%d.%d.0", 1 + i / 10, i % 10);
        many[i].sha256[0] = (uint8_t)i;
    }
    struct tr_buf ud2, doc2;
    tr_buf_init(&ud2, 4096);
    tr_buf_init(&doc2, TR_MAX_ATTEST_DOC);
    bool dig = false;
    EXPECT_OK(attest_user_data_build(many, 40, &ud2, &dig));
    EXPECT_TRUE(dig);
    EXPECT_OK(nsm_attestation(&c, ud2.data, ud2.len, NULL, 0, (const uint8_t *)"k", 1, &doc2));
    struct subject s2 = {"emulated-digest", doc2.data, doc2.len, ATTEST_EXPECT_INIT};
    s2.exp.extra_root_pem = rootz;
    s2.exp.bb = many;
    s2.exp.n_bb = 40;
    EXPECT_EQ(verify(&s2, doc2.data, doc2.len), TR_OK);
    s2.exp.n_bb = 39; /* the digest covers the whole list only */
    EXPECT_EQ(verify(&s2, doc2.data, doc2.len), TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    s2.exp.n_bb = 40;
    many[7].sha256[5] ^= 1;
    EXPECT_EQ(verify(&s2, doc2.data, doc2.len), TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    tr_buf_free(&ud2);
    tr_buf_free(&doc2);
    /* only the emulator root trusted, and then not given: chain fails */
    s.exp.extra_root_pem = NULL;
    EXPECT_EQ(verify(&s, doc.data, doc.len), TR_ERR_ATTEST_CHAIN_FAILED);
    /* freshness: 10 minutes later with the 5 minute default */
    s.exp.extra_root_pem = rootz;
    s.exp.at = ATTEST_AT_TIME;
    struct attest_result r;
    attest_result_init(&r);
    tr_ignore(attest_doc_decode(doc.data, doc.len, &r));
    s.exp.at_ms = r.timestamp_ms + 10 * 60 * 1000;
    attest_result_free(&r);
    EXPECT_EQ(verify(&s, doc.data, doc.len), TR_ERR_ATTEST_STALE);
    s.exp.max_age_ms = 20 * 60 * 1000;
    EXPECT_EQ(verify(&s, doc.data, doc.len), TR_OK);
    s.exp.at_ms -= 11 * 60 * 1000; /* a minute before the document: beyond 30 s skew */
    EXPECT_EQ(verify(&s, doc.data, doc.len), TR_ERR_ATTEST_STALE);
    s.exp.max_age_ms = ATTEST_NO_MAX_AGE;
    s.exp.at_ms += 4 * 3600 * 1000; /* after the 3 h leaf */
    EXPECT_EQ(verify(&s, doc.data, doc.len), TR_ERR_ATTEST_EXPIRED);
    free(root);
    free(rootz);
    tr_buf_free(&doc);
    nsm_emu_free(emu);
    static const char *const files[] = {"root.pem", "ca1.pem", "ca2.pem",
                                        "ca3.pem",  "ca3.key", ".lock"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    RUN_TEST(test_real);
    RUN_TEST(test_emulated);
    return TEST_SUMMARY();
}
