/* The real AWS documents of ../shared/nitro-docs: each verifies at its own
 * timestamp, fails EXPIRED at the current time, and negative/ fails on the
 * chain. Decoded fields are compared with the README table. */
#include <string.h>

#include "attest_testutil.h"
#include "harness.h"
#include "teerex/attest.h"

struct real_doc {
    const char *name;
    uint64_t timestamp_ms;
    uint32_t nonzero_pcrs; /* mask of PCRs that are not all zero */
    size_t public_key, user_data, nonce;
};

static const struct real_doc DOCS[] = {
    {"2021-03-24_anjuna_sample_prod_doc_with_publickey", 1616602241734ULL, 0x1f, 294, 0, 0},
    {"2022-10-13_evervault_beta_valid", 1665651482136ULL, 0x11f, 0, 0, 256},
    {"2023-09-18_evervault_valid_b64_debug", 1695049410860ULL, 0x18, 0, 91, 256},
    {"2024-01-24_anjuna_attester_full_debug", 1706120065635ULL, 0x18, 294, 13, 6},
    {"2024-02-26_marlin_nitroprover_sample1", 1708930921439ULL, 0x17, 32, 42, 0},
    {"2025-07-18_sui-sentinel_indefinite-map", 1752827858990ULL, 0x17, 32, 0, 0},
};

static uint32_t nonzero_mask(const struct attest_result *r)
{
    uint32_t m = 0;
    for (unsigned i = 0; i < ATTEST_MAX_PCRS; i++) {
        if (!(r->pcr_mask & (1u << i)))
            continue;
        for (unsigned j = 0; j < r->pcr_len[i]; j++) {
            if (r->pcrs[i][j] != 0) {
                m |= 1u << i;
                break;
            }
        }
    }
    return m;
}

static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/nitro-docs/%s.cose", tu_shared(), name);
    return tu_read(path, len);
}

static void test_real_docs_at_doc_time(void)
{
    for (size_t i = 0; i < sizeof(DOCS) / sizeof(DOCS[0]); i++) {
        size_t len;
        uint8_t *doc = load(DOCS[i].name, &len);
        EXPECT_TRUE(doc != NULL);
        if (!doc)
            continue;
        struct attest_expect exp = ATTEST_EXPECT_INIT;
        exp.at = ATTEST_AT_DOC;
        struct attest_result r;
        attest_result_init(&r);
        tr_result res = attest_verify(doc, len, &exp, &r);
        TH_REPORT(tr_ok(res), "%s: %s (%s)", DOCS[i].name, tr_err_name(res.err), r.detail);
        EXPECT_EQ(r.timestamp_ms, DOCS[i].timestamp_ms);
        EXPECT_EQ(r.checked_at_ms, DOCS[i].timestamp_ms);
        EXPECT_EQ(r.pcr_mask, 0xffff);
        EXPECT_EQ(r.pcr_len[0], 48);
        EXPECT_EQ(nonzero_mask(&r), DOCS[i].nonzero_pcrs);
        EXPECT_EQ(r.public_key.len, DOCS[i].public_key);
        EXPECT_EQ(r.user_data.len, DOCS[i].user_data);
        EXPECT_EQ(r.nonce.len, DOCS[i].nonce);
        EXPECT_EQ(r.has_nonce, DOCS[i].nonce > 0);
        EXPECT_EQ(r.cabundle_len, 4);
        EXPECT_STR_EQ(r.digest, "SHA384");
        EXPECT_TRUE(r.module_id[0] == 'i' && strstr(r.module_id, "-enc") != NULL);
        EXPECT_TRUE(r.signature_ok && r.chain_ok);
        /* the leaf lives about three hours around the timestamp */
        EXPECT_TRUE(r.cert_not_before * 1000 <= (int64_t)r.timestamp_ms);
        EXPECT_TRUE(r.cert_not_after * 1000 >= (int64_t)r.timestamp_ms);
        EXPECT_TRUE(r.cert_not_after - r.cert_not_before <= 4 * 3600);
        attest_result_free(&r);

        /* at the current time: the leaf has long expired */
        exp.at = ATTEST_AT_NOW;
        attest_result_init(&r);
        EXPECT_ERR(attest_verify(doc, len, &exp, &r), TR_ERR_ATTEST_EXPIRED);
        EXPECT_EQ(attest_class_of(TR_ERR_ATTEST_EXPIRED), ATTEST_CLASS_EXPIRED);
        EXPECT_TRUE(strstr(r.detail, "expired") != NULL);
        attest_result_free(&r);

        /* one hour after the timestamp: chain fine, but too old for 5 min */
        exp.at = ATTEST_AT_TIME;
        exp.at_ms = DOCS[i].timestamp_ms + 3600 * 1000ULL;
        attest_result_init(&r);
        tr_result late = attest_verify(doc, len, &exp, &r);
        EXPECT_TRUE(late.err == TR_ERR_ATTEST_STALE || late.err == TR_ERR_ATTEST_EXPIRED);
        EXPECT_EQ(attest_class_of(late.err), ATTEST_CLASS_EXPIRED);
        attest_result_free(&r);

        /* a date before the leaf existed */
        exp.at_ms = DOCS[i].timestamp_ms - 24 * 3600 * 1000ULL;
        attest_result_init(&r);
        EXPECT_ERR(attest_verify(doc, len, &exp, &r), TR_ERR_ATTEST_EXPIRED);
        attest_result_free(&r);

        /* trusting only another root: the AWS chain is refused */
        exp.at = ATTEST_AT_DOC;
        exp.only_extra_root = true;
        exp.extra_root_pem = "-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n";
        attest_result_init(&r);
        EXPECT_ERR(attest_verify(doc, len, &exp, &r), TR_ERR_ATTEST_BAD_ROOT);
        attest_result_free(&r);
        free(doc);
    }
}

static void test_negative(void)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/nitro-docs/negative/blocky_selfsigned_not-aws.cose",
             tu_shared());
    uint8_t *doc = tu_read(path, &len);
    EXPECT_TRUE(doc != NULL);
    if (!doc)
        return;
    struct attest_expect exp = ATTEST_EXPECT_INIT;
    struct attest_result r;
    enum attest_at modes[2] = {ATTEST_AT_DOC, ATTEST_AT_NOW};
    for (int m = 0; m < 2; m++) {
        exp.at = modes[m];
        attest_result_init(&r);
        EXPECT_ERR(attest_verify(doc, len, &exp, &r), TR_ERR_ATTEST_CHAIN_FAILED);
        EXPECT_EQ(attest_class_of(TR_ERR_ATTEST_CHAIN_FAILED), ATTEST_CLASS_CHAIN_FAILED);
        EXPECT_TRUE(!r.signature_ok && !r.chain_ok);
        attest_result_free(&r);
    }
    free(doc);
}

static void test_root_pin(void)
{
    const char *pem = attest_aws_root_pem();
    EXPECT_TRUE(strstr(pem, "BEGIN CERTIFICATE") != NULL);
    char path[512];
    size_t len;
    snprintf(path, sizeof(path), "%s/nitro-docs/aws-nitro-root-g1.pem", tu_shared());
    uint8_t *shared = tu_read(path, &len);
    if (shared) {
        EXPECT_EQ(len, strlen(pem));
        EXPECT_MEM_EQ(shared, pem, len < strlen(pem) ? len : strlen(pem));
        free(shared);
    }
}

/* Debug mode (PCR0 all zeros, bit 0 clear in nonzero_pcrs) is refused only
 * when asked; several expected values for one PCR mean any of them. */
static void test_debug_mode_and_pcr_alternatives(void)
{
    for (size_t i = 0; i < sizeof(DOCS) / sizeof(DOCS[0]); i++) {
        size_t len;
        uint8_t *doc = load(DOCS[i].name, &len);
        if (!doc)
            continue;
        bool debug = !(DOCS[i].nonzero_pcrs & 1u);
        struct attest_expect exp = ATTEST_EXPECT_INIT;
        exp.at = ATTEST_AT_DOC;
        exp.refuse_debug_mode = true;
        struct attest_result r;
        attest_result_init(&r);
        tr_result res = attest_verify(doc, len, &exp, &r);
        TH_REPORT(res.err == (debug ? TR_ERR_ATTEST_DEBUG_MODE : TR_OK), "%s: %s", DOCS[i].name,
                  tr_err_name(res.err));
        if (debug) {
            EXPECT_EQ(attest_class_of(res.err), ATTEST_CLASS_DEBUG_MODE);
            EXPECT_STR_EQ(attest_class_name(ATTEST_CLASS_DEBUG_MODE), "DEBUG_MODE");
            EXPECT_TRUE(strstr(r.detail, "debug mode") != NULL);
        }
        struct attest_pcr_expect pe[3] = {
            {.index = 0, .len = 48}, {.index = 0, .len = 48}, {.index = 1, .len = 48}};
        memcpy(pe[1].value, r.pcrs[0], 48); /* pe[0]: all zeros, wrong unless debug */
        memcpy(pe[2].value, r.pcrs[1], 48);
        pe[0].value[47] = 1;
        attest_result_free(&r);
        exp.refuse_debug_mode = false;
        exp.pcrs = pe;
        exp.n_pcrs = 3;
        attest_result_init(&r);
        EXPECT_OK(attest_verify(doc, len, &exp, &r)); /* PCR0 is one of two, PCR1 matches */
        attest_result_free(&r);
        pe[1].value[0] ^= 1; /* now neither value of PCR0 */
        attest_result_init(&r);
        EXPECT_ERR(attest_verify(doc, len, &exp, &r), TR_ERR_ATTEST_PCR_MISMATCH);
        EXPECT_TRUE(strstr(r.detail, "PCR0") != NULL);
        attest_result_free(&r);
        pe[1].value[0] ^= 1;
        pe[2].value[0] ^= 1; /* PCR0 fine, PCR1 wrong */
        attest_result_init(&r);
        EXPECT_ERR(attest_verify(doc, len, &exp, &r), TR_ERR_ATTEST_PCR_MISMATCH);
        EXPECT_TRUE(strstr(r.detail, "PCR1") != NULL);
        attest_result_free(&r);
        free(doc);
    }
}

int main(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/nitro-docs/README.md", tu_shared());
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("skip: %s absent (set TEEREX_SHARED)\n", path);
        return 77;
    }
    fclose(f);
    RUN_TEST(test_real_docs_at_doc_time);
    RUN_TEST(test_negative);
    RUN_TEST(test_root_pin);
    RUN_TEST(test_debug_mode_and_pcr_alternatives);
    return TEST_SUMMARY();
}
