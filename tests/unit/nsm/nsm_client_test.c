/* The NSM client against the emulator through the transport pointer: every
 * request, PCR extend/lock semantics, size limits, the mapping of every NSM
 * error name, malformed responses, and the shape of emulated documents. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cbor.h>
#include <openssl/sha.h>

#include "harness.h"
#include "teerex/attest.h"
#include "teerex/cose.h"
#include "teerex/nsm.h"

static char dir[] = "/tmp/nsm_client_test.XXXXXX";
static struct nsm_emu *emu;
static struct nsm_client cli;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

static void test_describe(void)
{
    struct nsm_description d;
    EXPECT_OK(nsm_describe(&cli, &d));
    EXPECT_EQ(d.version_major, 1);
    EXPECT_EQ(d.max_pcrs, 32);
    EXPECT_EQ(d.locked_mask, 0xffff);
    EXPECT_STR_EQ(d.digest, "SHA384");
    EXPECT_TRUE(strstr(d.module_id, "-enc") != NULL);
}

static void test_pcrs(void)
{
    bool locked = false;
    uint8_t v[64], want[48];
    size_t len = 0;
    EXPECT_OK(nsm_describe_pcr(&cli, 0, &locked, v, sizeof(v), &len));
    EXPECT_TRUE(locked);
    EXPECT_EQ(len, 48);
    EXPECT_OK(nsm_describe_pcr(&cli, 16, &locked, v, sizeof(v), &len));
    EXPECT_TRUE(!locked);
    /* extend: PCR16 = SHA-384(zero || data) */
    uint8_t buf[48 + 5] = {0};
    memcpy(buf + 48, "hello", 5);
    SHA384(buf, sizeof(buf), want);
    EXPECT_OK(nsm_extend_pcr(&cli, 16, (const uint8_t *)"hello", 5, v, sizeof(v), &len));
    EXPECT_EQ(len, 48);
    EXPECT_MEM_EQ(v, want, 48);
    EXPECT_OK(nsm_describe_pcr(&cli, 16, &locked, v, sizeof(v), &len));
    EXPECT_MEM_EQ(v, want, 48);
    /* locked and out-of-range indices */
    EXPECT_ERR(nsm_extend_pcr(&cli, 0, (const uint8_t *)"x", 1, v, sizeof(v), &len),
               TR_ERR_NSM_READ_ONLY_INDEX);
    EXPECT_ERR(nsm_extend_pcr(&cli, 32, (const uint8_t *)"x", 1, v, sizeof(v), &len),
               TR_ERR_NSM_INVALID_INDEX);
    EXPECT_ERR(nsm_describe_pcr(&cli, 40, &locked, v, sizeof(v), &len), TR_ERR_NSM_INVALID_INDEX);
    EXPECT_ERR(nsm_describe_pcr(&cli, 0, &locked, v, 10, &len), TR_ERR_NSM_BUFFER_TOO_SMALL);
    EXPECT_OK(nsm_lock_pcr(&cli, 16));
    EXPECT_ERR(nsm_extend_pcr(&cli, 16, (const uint8_t *)"x", 1, v, sizeof(v), &len),
               TR_ERR_NSM_READ_ONLY_INDEX);
    EXPECT_ERR(nsm_lock_pcr(&cli, 99), TR_ERR_NSM_INVALID_INDEX);
    EXPECT_ERR(nsm_lock_pcrs(&cli, 33), TR_ERR_NSM_INVALID_INDEX);
    EXPECT_OK(nsm_lock_pcrs(&cli, 20));
    struct nsm_description d;
    EXPECT_OK(nsm_describe(&cli, &d));
    EXPECT_EQ(d.locked_mask, 0xfffff);
    EXPECT_ERR(nsm_extend_pcr(&cli, 19, (const uint8_t *)"x", 1, v, sizeof(v), &len),
               TR_ERR_NSM_READ_ONLY_INDEX);
    EXPECT_OK(nsm_extend_pcr(&cli, 20, (const uint8_t *)"x", 1, v, sizeof(v), &len));
}

static void test_random(void)
{
    uint8_t a[256], b[256];
    size_t ga = 0, gb = 0;
    EXPECT_OK(nsm_get_random(&cli, a, sizeof(a), &ga));
    EXPECT_OK(nsm_get_random(&cli, b, sizeof(b), &gb));
    EXPECT_EQ(ga, 256);
    EXPECT_EQ(gb, 256);
    EXPECT_TRUE(memcmp(a, b, 256) != 0);
    EXPECT_OK(nsm_get_random(&cli, a, 32, &ga)); /* fewer bytes is fine */
    EXPECT_EQ(ga, 32);
}

static void test_limits(void)
{
    static uint8_t big[1025]; /* each field: at most 1024 bytes */
    struct tr_buf doc;
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    EXPECT_ERR(nsm_attestation(&cli, big, 1025, NULL, 0, NULL, 0, &doc),
               TR_ERR_NSM_USER_DATA_TOO_BIG);
    EXPECT_ERR(nsm_attestation(&cli, NULL, 0, big, 1025, NULL, 0, &doc), TR_ERR_NSM_NONCE_TOO_BIG);
    EXPECT_ERR(nsm_attestation(&cli, NULL, 0, NULL, 0, big, 1025, &doc),
               TR_ERR_NSM_PUBLIC_KEY_TOO_BIG);
    EXPECT_EQ(doc.len, 0);
    EXPECT_OK(nsm_attestation(&cli, big, 1024, big, 1024, big, 1024, &doc));
    EXPECT_TRUE(doc.len > 3 * 1024);
    tr_buf_free(&doc);
    /* the emulator enforces the same limits when a client does not */
    uint8_t resp[256];
    size_t rl = 0;
    static const uint8_t hdr[] = {0xa1, 0x6b, 'A',  't', 't', 'e', 's', 't', 'a',  't',  'i', 'o',
                                  'n',  0xa1, 0x65, 'n', 'o', 'n', 'c', 'e', 0x59, 0x04, 0x01};
    uint8_t req[sizeof(hdr) + 1025];
    memcpy(req, hdr, sizeof(hdr));
    memset(req + sizeof(hdr), 7, 1025);
    EXPECT_OK(nsm_emu_transport(emu, req, sizeof(req), resp, sizeof(resp), &rl));
    EXPECT_ERR(nsm_msg_read_attestation(resp, rl, &doc), TR_ERR_NSM_INPUT_TOO_LARGE);
    tr_buf_free(&doc);
}

/* A transport that answers with fixed bytes. */
struct canned {
    const uint8_t *p;
    size_t n;
    size_t claim; /* reported length (0: n) */
};
static tr_result canned_call(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                             size_t cap, size_t *resp_len)
{
    struct canned *c = ctx;
    (void)req;
    (void)req_len;
    memcpy(resp, c->p, c->n < cap ? c->n : cap);
    *resp_len = c->claim ? c->claim : c->n;
    return TR_SUCCESS;
}

static void test_error_names(void)
{
    static const struct {
        const char *name;
        int32_t err;
    } cases[] = {
        {"InvalidArgument", TR_ERR_NSM_INVALID_ARGUMENT},
        {"InvalidIndex", TR_ERR_NSM_INVALID_INDEX},
        {"InvalidResponse", TR_ERR_NSM_INVALID_RESPONSE},
        {"ReadOnlyIndex", TR_ERR_NSM_READ_ONLY_INDEX},
        {"InvalidOperation", TR_ERR_NSM_INVALID_OPERATION},
        {"BufferTooSmall", TR_ERR_NSM_BUFFER_TOO_SMALL},
        {"InputTooLarge", TR_ERR_NSM_INPUT_TOO_LARGE},
        {"InternalError", TR_ERR_NSM_INTERNAL_ERROR},
        {"Success", TR_ERR_NSM_UNKNOWN_ERROR},
        {"SomethingNew", TR_ERR_NSM_UNKNOWN_ERROR},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t msg[64];
        size_t nl = strlen(cases[i].name);
        msg[0] = 0xa1;
        msg[1] = 0x65;
        memcpy(msg + 2, "Error", 5);
        msg[7] = (uint8_t)(0x60 + nl);
        memcpy(msg + 8, cases[i].name, nl);
        struct canned c = {msg, 8 + nl, 0};
        struct nsm_client fake;
        nsm_client_init(&fake, canned_call, &c);
        struct tr_buf doc;
        tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
        EXPECT_ERR(nsm_attestation(&fake, NULL, 0, NULL, 0, NULL, 0, &doc), cases[i].err);
        EXPECT_ERR(nsm_lock_pcr(&fake, 1), cases[i].err);
        struct nsm_description d;
        EXPECT_ERR(nsm_describe(&fake, &d), cases[i].err);
        uint8_t r[8];
        size_t g;
        EXPECT_ERR(nsm_get_random(&fake, r, sizeof(r), &g), cases[i].err);
        tr_buf_free(&doc);
        if (nsm_error_name(cases[i].err) && cases[i].err != TR_ERR_NSM_UNKNOWN_ERROR)
            EXPECT_STR_EQ(nsm_error_name(cases[i].err), cases[i].name);
    }
}

static void test_bad_responses(void)
{
    static const struct {
        const char *what;
        const uint8_t *p;
        size_t n;
    } cases[] = {
        {"empty", (const uint8_t *)"", 0},
        {"not cbor", (const uint8_t *)"\xff", 1},
        {"wrong unit", (const uint8_t *)"\x67LockPCR", 8},
        {"trailing", (const uint8_t *)"\x68LockPCRs\x00", 10},
        {"two entries", (const uint8_t *)"\xa2\x61\x61\x01\x61\x62\x02", 7},
        {"error not text",
         (const uint8_t *)"\xa1\x65"
                          "Error\x01",
         8},
        {"body not map", (const uint8_t *)"\xa1\x69GetRandom\x01", 12},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct canned c = {cases[i].p, cases[i].n, 0};
        struct nsm_client fake;
        nsm_client_init(&fake, canned_call, &c);
        uint8_t r[8];
        size_t g;
        tr_result res = nsm_get_random(&fake, r, sizeof(r), &g);
        TH_REPORT(res.err == TR_ERR_NSM_BAD_RESPONSE, "%s: %s", cases[i].what,
                  tr_err_name(res.err));
        EXPECT_ERR(nsm_lock_pcrs(&fake, 3), TR_ERR_NSM_BAD_RESPONSE);
    }
    /* a transport claiming more bytes than the buffer holds */
    struct canned c = {(const uint8_t *)"\x68LockPCRs", 9, TR_NSM_MAX_RESPONSE + 1};
    struct nsm_client fake;
    nsm_client_init(&fake, canned_call, &c);
    EXPECT_ERR(nsm_lock_pcrs(&fake, 3), TR_ERR_NSM_BAD_RESPONSE);
    /* GetRandom with the random field of the wrong type / missing */
    static const uint8_t wrongtype[] = {0xa1, 0x69, 'G',  'e', 't', 'R', 'a', 'n', 'd', 'o',
                                        'm',  0xa1, 0x66, 'r', 'a', 'n', 'd', 'o', 'm', 0x01};
    struct canned w = {wrongtype, sizeof(wrongtype), 0};
    nsm_client_init(&fake, canned_call, &w);
    uint8_t r[8];
    size_t g;
    EXPECT_ERR(nsm_get_random(&fake, r, sizeof(r), &g), TR_ERR_NSM_BAD_RESPONSE);
    /* the real device is absent here */
    struct nsm_client dev;
    EXPECT_ERR(nsm_open(&dev, "/nonexistent/nsm"), TR_ERR_NSM_NO_DEVICE);
}

static void test_document_shape_and_verify(void)
{
    struct tr_buf doc;
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    const uint8_t nonce[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const char *pk = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n...\n";
    const char *ud = "{\"versions\":[]}";
    EXPECT_OK(nsm_attestation(&cli, (const uint8_t *)ud, strlen(ud), nonce, sizeof(nonce),
                              (const uint8_t *)pk, strlen(pk), &doc));
    /* untagged COSE_Sign1, protected a1 01 38 22, unprotected {} */
    EXPECT_TRUE(doc.len > 8 && doc.data[0] == 0x84 && doc.data[1] == 0x44);
    EXPECT_MEM_EQ(doc.data + 2, "\xa1\x01\x38\x22\xa0", 5);
    struct cose_sign1 s;
    EXPECT_OK(cose_sign1_parse(doc.data, doc.len, &s));
    EXPECT_TRUE(!s.tagged);
    static const char *const order[] = {"module_id",  "digest",      "timestamp",
                                        "pcrs",       "certificate", "cabundle",
                                        "public_key", "user_data",   "nonce"};
    cbor_item_t *payload = NULL;
    EXPECT_OK(
        cose_cbor_load(s.payload.ptr, s.payload.len, TR_ERR_ATTEST_INVALID_DOCUMENT, &payload));
    if (payload) {
        EXPECT_EQ(cbor_map_size(payload), 9);
        for (size_t i = 0; i < 9 && i < cbor_map_size(payload); i++)
            EXPECT_TRUE(cose_cbor_text_eq(cbor_map_handle(payload)[i].key, order[i]));
        cbor_decref(&payload);
    }
    cose_sign1_free(&s);

    char root_path[4200];
    snprintf(root_path, sizeof(root_path), "%s", nsm_emu_root_path(emu));
    char *root = slurp(root_path);
    EXPECT_TRUE(root != NULL);
    struct attest_expect exp = ATTEST_EXPECT_INIT;
    exp.extra_root_pem = root;
    exp.nonce = nonce;
    exp.nonce_len = sizeof(nonce);
    exp.public_key = (const uint8_t *)pk;
    exp.public_key_len = strlen(pk);
    struct attest_result r;
    attest_result_init(&r);
    tr_result res = attest_verify(doc.data, doc.len, &exp, &r);
    TH_REPORT(tr_ok(res), "verify: %s %s", tr_err_name(res.err), r.detail);
    EXPECT_EQ(r.pcr_mask, 0xffff);
    EXPECT_EQ(r.cabundle_len, 4);
    EXPECT_TRUE(r.cert_not_after - r.cert_not_before <= 3 * 3600 + 60);
    EXPECT_EQ(r.user_data.len, strlen(ud));
    attest_result_free(&r);
    /* the emulator root is trusted only when passed explicitly */
    exp.extra_root_pem = NULL;
    attest_result_init(&r);
    EXPECT_ERR(attest_verify(doc.data, doc.len, &exp, &r), TR_ERR_ATTEST_CHAIN_FAILED);
    attest_result_free(&r);
    /* wrong nonce */
    exp.extra_root_pem = root;
    exp.nonce_len = 7;
    attest_result_init(&r);
    EXPECT_ERR(attest_verify(doc.data, doc.len, &exp, &r), TR_ERR_ATTEST_NONCE_MISMATCH);
    attest_result_free(&r);
    free(root);
    tr_buf_free(&doc);
}

static void test_pcr_config(void)
{
    char cfgp[4200], f1[4200], f2[4200];
    snprintf(cfgp, sizeof(cfgp), "%s/pcrs.conf", dir);
    snprintf(f1, sizeof(f1), "%s/kernel", dir);
    snprintf(f2, sizeof(f2), "%s/app", dir);
    FILE *f = fopen(cfgp, "w");
    fprintf(f, "# PCR0 of the test image\n0 ");
    for (int i = 0; i < 48; i++)
        fprintf(f, "%02x", i);
    fprintf(f, "\n");
    fclose(f);
    f = fopen(f1, "w");
    fprintf(f, "kernel bytes");
    fclose(f);
    f = fopen(f2, "w");
    fprintf(f, "application bytes");
    fclose(f);
    struct nsm_emu_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = dir;
    cfg.pcr_config = cfgp;
    cfg.pcr_files[1] = f1;
    cfg.pcr_files[2] = f2;
    struct nsm_emu *e2 = NULL;
    EXPECT_OK(nsm_emu_new(&cfg, &e2));
    struct nsm_client c2;
    nsm_client_init(&c2, nsm_emu_transport, e2);
    uint8_t v[48], want[48];
    size_t len;
    bool locked;
    EXPECT_OK(nsm_describe_pcr(&c2, 0, &locked, v, sizeof(v), &len));
    for (int i = 0; i < 48; i++)
        want[i] = (uint8_t)i;
    EXPECT_MEM_EQ(v, want, 48);
    SHA384((const uint8_t *)"kernel bytes", 12, want);
    EXPECT_OK(nsm_describe_pcr(&c2, 1, &locked, v, sizeof(v), &len));
    EXPECT_MEM_EQ(v, want, 48);
    SHA384((const uint8_t *)"application bytes", 17, want);
    EXPECT_OK(nsm_describe_pcr(&c2, 2, &locked, v, sizeof(v), &len));
    EXPECT_MEM_EQ(v, want, 48);
    nsm_emu_free(e2);
    /* a bad config is refused */
    f = fopen(cfgp, "w");
    fprintf(f, "5 00\n");
    fclose(f);
    EXPECT_ERR(nsm_emu_new(&cfg, &e2), TR_ERR_NSM_EMU_CONFIG);
    cfg.pcr_config = NULL;
    cfg.pcr_files[0] = "/nonexistent";
    EXPECT_ERR(nsm_emu_new(&cfg, &e2), TR_ERR_NSM_EMU_CONFIG);
    unlink(cfgp);
    unlink(f1);
    unlink(f2);
}

static void test_pki_dir_checked(void)
{
    char d2[] = "/tmp/nsm_client_test_open.XXXXXX";
    if (!mkdtemp(d2))
        return;
    chmod(d2, 0777); /* writable by others: the CA key must not live there */
    struct nsm_emu_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = d2;
    struct nsm_emu *e2 = NULL;
    EXPECT_ERR(nsm_emu_new(&cfg, &e2), TR_ERR_NSM_EMU_PKI);
    EXPECT_TRUE(e2 == NULL);
    char lock[64];
    snprintf(lock, sizeof(lock), "%s/.lock", d2);
    unlink(lock);
    rmdir(d2);
}

static void cleanup(void)
{
    static const char *const files[] = {"root.pem", "ca1.pem", "ca2.pem",
                                        "ca3.pem",  "ca3.key", ".lock"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[4200];
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    struct nsm_emu_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = dir;
    tr_result r = nsm_emu_new(&cfg, &emu);
    EXPECT_OK(r);
    if (!tr_ok(r))
        return TEST_SUMMARY();
    nsm_client_init(&cli, nsm_emu_transport, emu);
    RUN_TEST(test_describe);
    RUN_TEST(test_pcrs);
    RUN_TEST(test_random);
    RUN_TEST(test_limits);
    RUN_TEST(test_error_names);
    RUN_TEST(test_bad_responses);
    RUN_TEST(test_document_shape_and_verify);
    RUN_TEST(test_pcr_config);
    RUN_TEST(test_pki_dir_checked);
    nsm_emu_free(emu);
    cleanup();
    return TEST_SUMMARY();
}
