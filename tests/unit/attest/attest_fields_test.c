/* Attestation documents as AWS makes them (issue 16): public_key, user_data
 * and nonce of up to 1024 bytes each (aws-nitro-enclaves-nsm-api,
 * docs/attestation_process.md: `user_data = bytes .size (0..1024)` for all
 * three) are made by the emulator and accepted by the verifier; 1025 is
 * refused. Decoding clears its outputs first: a NULL result is an error, not
 * a free of uninitialised pointers, and a second decode into the same result
 * keeps nothing of the first. */
#include <string.h>
#include <unistd.h>

#include "attest_testutil.h"
#include "harness.h"
#include "teerex/attest.h"
#include "teerex/nsm.h"

struct env {
    char dir[64];
    struct nsm_emu *emu;
    struct nsm_client c;
    char *root;
};

static bool env_open(struct env *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/attest_fields_test.XXXXXX");
    if (!mkdtemp(e->dir))
        return false;
    struct nsm_emu_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = e->dir;
    EXPECT_OK(nsm_emu_new(&cfg, &e->emu));
    if (e->emu == NULL)
        return false;
    nsm_client_init(&e->c, nsm_emu_transport, e->emu);
    size_t rl = 0;
    uint8_t *r = tu_read(nsm_emu_root_path(e->emu), &rl);
    e->root = calloc(1, rl + 1);
    if (r && e->root)
        memcpy(e->root, r, rl);
    free(r);
    return e->root != NULL;
}

static void env_close(struct env *e)
{
    free(e->root);
    nsm_emu_free(e->emu);
    static const char *const files[] = {"root.pem", "ca1.pem", "ca2.pem",
                                        "ca3.pem",  "ca3.key", ".lock"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", e->dir, files[i]);
        unlink(p);
    }
    rmdir(e->dir);
}

/* One emulator (its PKI is made once: slow under valgrind) for the tests. */
static struct env E;
static bool have_env;

static void test_full_size_fields(void)
{
    if (!have_env)
        return;
    struct env e = E;
    static uint8_t ud[1025], nonce[1025], pk[1025];
    memset(ud, 'u', sizeof(ud));
    memset(nonce, 0xa5, sizeof(nonce));
    memset(pk, 'k', sizeof(pk));
    struct tr_buf doc;
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    EXPECT_OK(nsm_attestation(&e.c, ud, 1024, nonce, 1024, pk, 1024, &doc));
    struct attest_expect exp = ATTEST_EXPECT_INIT;
    exp.extra_root_pem = e.root;
    exp.only_extra_root = true;
    exp.nonce = nonce;
    exp.nonce_len = 1024;
    exp.public_key = pk;
    exp.public_key_len = 1024;
    struct attest_result r;
    attest_result_init(&r);
    tr_result v = attest_verify(doc.data, doc.len, &exp, &r);
    EXPECT_OK(v);
    if (!tr_ok(v))
        fprintf(stderr, "detail: %s\n", r.detail);
    EXPECT_EQ(r.user_data.len, 1024);
    EXPECT_EQ(r.nonce.len, 1024);
    EXPECT_EQ(r.public_key.len, 1024);
    attest_result_free(&r);
    /* One byte more is what the NSM refuses: so does our client. */
    tr_buf_clear(&doc);
    EXPECT_ERR(nsm_attestation(&e.c, ud, 1025, NULL, 0, NULL, 0, &doc),
               TR_ERR_NSM_USER_DATA_TOO_BIG);
    EXPECT_ERR(nsm_attestation(&e.c, NULL, 0, nonce, 1025, NULL, 0, &doc),
               TR_ERR_NSM_NONCE_TOO_BIG);
    tr_buf_free(&doc);
}

/* Our own user_data: a version list up to 1024 bytes travels as the list. */
static void test_user_data_room(void)
{
    struct attest_bb_expect v[10];
    memset(v, 0, sizeof(v));
    for (int i = 0; i < 10; i++) {
        snprintf(v[i].version, sizeof(v[i].version), "4.%d.0", i);
        v[i].sha256[0] = (uint8_t)i;
    }
    struct tr_buf b;
    tr_buf_init(&b, 4096);
    bool dig = true;
    /* 10 entries: ~900 bytes of JSON, more than 512 */
    EXPECT_OK(attest_user_data_build(v, 10, &b, &dig));
    EXPECT_TRUE(!dig && b.len > 512 && b.len <= 1024);
    struct attest_versions *pv = calloc(1, sizeof(*pv));
    EXPECT_OK(attest_user_data_parse(b.data, b.len, pv));
    EXPECT_EQ(pv->n, 10);
    free(pv);
    tr_buf_free(&b);
}

static void test_decode_clears(void)
{
    if (!have_env)
        return;
    struct env e = E;
    /* A NULL result: an error, no free of uninitialised pointers (ASan). */
    static const uint8_t junk[4] = {0x84, 0x40, 0xa0, 0x40};
    EXPECT_ERR(attest_doc_decode(junk, sizeof(junk), NULL), TR_ERR_NULL_ARG);
    struct tr_buf d1, d2;
    tr_buf_init(&d1, TR_MAX_ATTEST_DOC);
    tr_buf_init(&d2, TR_MAX_ATTEST_DOC);
    static const uint8_t n16[16] = {9, 9, 9};
    EXPECT_OK(
        nsm_attestation(&e.c, (const uint8_t *)"ud", 2, n16, 16, (const uint8_t *)"k", 1, &d1));
    EXPECT_OK(nsm_attestation(&e.c, NULL, 0, NULL, 0, NULL, 0, &d2));
    struct attest_result r;
    attest_result_init(&r);
    EXPECT_OK(attest_doc_decode(d1.data, d1.len, &r));
    EXPECT_TRUE(r.has_nonce && r.has_user_data && r.has_public_key && r.pcr_mask != 0);
    EXPECT_OK(attest_doc_decode(d2.data, d2.len, &r));
    EXPECT_TRUE(!r.has_nonce && !r.has_user_data && !r.has_public_key);
    EXPECT_EQ(r.nonce.len + r.user_data.len + r.public_key.len, 0);
    /* A failed decode leaves nothing of an earlier one. */
    EXPECT_OK(attest_doc_decode(d1.data, d1.len, &r));
    EXPECT_TRUE(attest_doc_decode(junk, sizeof(junk), &r).err != TR_OK);
    EXPECT_TRUE(!r.has_nonce && r.nonce.len == 0 && r.pcr_mask == 0 && r.timestamp_ms == 0 &&
                r.module_id[0] == '\0');
    attest_result_free(&r);
    tr_buf_free(&d1);
    tr_buf_free(&d2);
}

int main(void)
{
    have_env = env_open(&E);
    EXPECT_TRUE(have_env);
    RUN_TEST(test_full_size_fields);
    RUN_TEST(test_user_data_room);
    RUN_TEST(test_decode_clears);
    if (have_env)
        env_close(&E);
    return TEST_SUMMARY();
}
