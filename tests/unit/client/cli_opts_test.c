/* The CLI's command-line expectations (--pcr, --expect-bb: one parser for
 * teerex prove and teerex attest verify) and its error -> exit code table. */
#include <string.h>

#include "cli_expect.h"
#include "exit_codes.h"
#include "harness.h"

static const char HEX64[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void test_pcr(void)
{
    struct attest_pcr_expect p;
    char arg[200];
    snprintf(arg, sizeof(arg), "0=%s", HEX64);
    EXPECT_OK(cli_parse_pcr(arg, &p));
    EXPECT_EQ(p.index, 0);
    EXPECT_EQ(p.len, 32);
    EXPECT_EQ(p.value[1], 0x11);
    snprintf(arg, sizeof(arg), "31=%s%s", HEX64, HEX64);
    EXPECT_OK(cli_parse_pcr(arg, &p));
    EXPECT_EQ(p.index, 31);
    EXPECT_EQ(p.len, 64);
    snprintf(arg, sizeof(arg), "8=%s%.32s", HEX64, HEX64);
    EXPECT_OK(cli_parse_pcr(arg, &p));
    EXPECT_EQ(p.len, 48);
    const char *bad[] = {"",      "=",    "0",     "0=",          "=00",
                         "32=00", "x=00", "-1=00", "00000000=00", "0=0011"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        EXPECT_ERR(cli_parse_pcr(bad[i], &p), TR_ERR_USAGE);
    snprintf(arg, sizeof(arg), "32=%s", HEX64); /* index past 31 */
    EXPECT_ERR(cli_parse_pcr(arg, &p), TR_ERR_USAGE);
    snprintf(arg, sizeof(arg), "0=%.63sg", HEX64); /* not hex */
    EXPECT_ERR(cli_parse_pcr(arg, &p), TR_ERR_USAGE);
    snprintf(arg, sizeof(arg), "0=%s00", HEX64); /* 33 bytes */
    EXPECT_ERR(cli_parse_pcr(arg, &p), TR_ERR_USAGE);
}

static void test_bb(void)
{
    struct attest_bb_expect b;
    char arg[300];
    snprintf(arg, sizeof(arg), "4.1.2-rc.1=%s", HEX64);
    EXPECT_OK(cli_parse_bb(arg, &b));
    EXPECT_STR_EQ(b.version, "4.1.2-rc.1");
    EXPECT_EQ(b.sha256[31], 0xff);
    snprintf(arg, sizeof(arg), "4.3.0-nightly.20260501=%s", HEX64);
    EXPECT_OK(cli_parse_bb(arg, &b));
    /* The stricter of the two former parsers: the version must be valid. */
    snprintf(arg, sizeof(arg), "../etc=%s", HEX64);
    EXPECT_ERR(cli_parse_bb(arg, &b), TR_ERR_USAGE);
    snprintf(arg, sizeof(arg), "4.1.2 x=%s", HEX64);
    EXPECT_ERR(cli_parse_bb(arg, &b), TR_ERR_USAGE);
    snprintf(arg, sizeof(arg), "=%s", HEX64);
    EXPECT_ERR(cli_parse_bb(arg, &b), TR_ERR_USAGE);
    snprintf(arg, sizeof(arg), "4.1.2=%.62s", HEX64);
    EXPECT_ERR(cli_parse_bb(arg, &b), TR_ERR_USAGE);
    snprintf(arg, sizeof(arg), "4.1.2=%.63sz", HEX64);
    EXPECT_ERR(cli_parse_bb(arg, &b), TR_ERR_USAGE);
    char longv[TR_MAX_VERSION_LEN + 2];
    memset(longv, '1', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    snprintf(arg, sizeof(arg), "%s=%s", longv, HEX64);
    EXPECT_ERR(cli_parse_bb(arg, &b), TR_ERR_USAGE);
    EXPECT_ERR(cli_parse_bb("4.1.2", &b), TR_ERR_USAGE);
}

/* The codes `teerex --help` documents, as they were before the table. */
static void test_exit_codes(void)
{
    EXPECT_EQ(cli_exit_code(TR_OK), 0);
    EXPECT_EQ(cli_exit_code(TR_ERR_NOMEM), 1);
    EXPECT_EQ(cli_exit_code(TR_ERR_IO), 1);
    EXPECT_EQ(cli_exit_code(TR_ERR_USAGE), 2);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BAD_INPUT), 2);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_NETWORK), 3);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_HTTP_STATUS), 4);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BAD_RESPONSE), 4);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BAD_MODE), 4);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BAD_PROOF), 4);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_UNHEALTHY), 4);
    EXPECT_EQ(cli_exit_code(TR_ERR_PGP_BAD_ARMOR), 4); /* the server's key */
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_UNATTESTED), 5);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_NO_DOCUMENT), 5);
    EXPECT_EQ(cli_exit_code(TR_ERR_ATTEST_INVALID_COSE), 10 + ATTEST_CLASS_INVALID_COSE);
    EXPECT_EQ(cli_exit_code(TR_ERR_ATTEST_PCR_MISMATCH), 10 + ATTEST_CLASS_PCR_MISMATCH);
    EXPECT_EQ(cli_exit_code(TR_ERR_ATTEST_DEBUG_MODE), 10 + ATTEST_CLASS_DEBUG_MODE);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BB_UNKNOWN_VERSION), 30);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BB_NO_BINARY), 31);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BB_INTEGRITY), 32);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BB_DOES_NOT_RUN), 33);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BB_RUNTIME), 34);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BB_DEB), 34);
    EXPECT_EQ(cli_exit_code(TR_ERR_CLIENT_BB_APT), 34);
    /* Every code --help lists is documented. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_exit_help(f);
    fclose(f);
    const char *want[] = {"  0 ", "  1 ", "  2 ", "  3 ", "  4 ", "  5 ", "  10+ ", "  30-34 "};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        TH_REPORT(text && strstr(text, want[i]), "--help lists '%s'", want[i]);
    free(text);
}

int main(void)
{
    RUN_TEST(test_pcr);
    RUN_TEST(test_bb);
    RUN_TEST(test_exit_codes);
    return TEST_SUMMARY();
}
