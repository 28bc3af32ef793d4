/* nitro-cli describe-enclaves parsing and the lookup (with a fake nitro-cli). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "rt_nitro.h"

/* The example in AWS's nitro-cli describe-enclaves documentation. */
static const char DOC[] =
    "[ { \"EnclaveName\": \"my_enclave\", \"EnclaveID\": "
    "\"i-abc12345def67890a-enc9876abcd543210ef12\", \"ProcessID\": 12345, \"EnclaveCID\": 10, "
    "\"NumberOfCPUs\": 2, \"CPUIDs\": [ 1, 3 ], \"MemoryMiB\": 1600, \"State\": \"RUNNING\", "
    "\"Flags\": \"NONE\" } ]";

static tr_result parse(const char *j, const char *name, uint32_t *cid)
{
    return rt_nitro_parse_cid((const uint8_t *)j, strlen(j), name, cid);
}

static void test_parse(void)
{
    uint32_t cid = 1;
    EXPECT_OK(parse(DOC, "my_enclave", &cid));
    EXPECT_EQ(cid, 10);
    EXPECT_ERR(parse(DOC, "other", &cid), TR_ERR_RT_NITRO_NOT_FOUND);
    EXPECT_EQ(cid, 0);
    EXPECT_ERR(parse("[]", "x", &cid), TR_ERR_RT_NITRO_NOT_FOUND);
    /* A terminating enclave with the name does not count; a running one does. */
    EXPECT_OK(parse("[{\"EnclaveName\":\"t\",\"EnclaveCID\":16,\"State\":\"TERMINATING\"},"
                    "{\"EnclaveName\":\"t\",\"EnclaveCID\":17,\"State\":\"running\"}]",
                    "t", &cid));
    EXPECT_EQ(cid, 17);
    EXPECT_ERR(parse("[{\"EnclaveName\":\"t\",\"EnclaveCID\":16,\"State\":\"RUNNING\"},"
                     "{\"EnclaveName\":\"t\",\"EnclaveCID\":17,\"State\":\"RUNNING\"}]",
                     "t", &cid),
               TR_ERR_RT_NITRO_AMBIGUOUS);
    EXPECT_EQ(cid, 0);
    static const char *bad[] = {
        "",
        "{}",
        "[1]",
        "[{\"EnclaveName\":\"t\",\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":\"t\",\"EnclaveCID\":\"16\",\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":\"t\",\"EnclaveCID\":2,\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":\"t\",\"EnclaveCID\":4294967295,\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":\"t\",\"EnclaveCID\":-5,\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":\"t\",\"EnclaveCID\":16.5,\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":\"t\",\"EnclaveName\":\"u\",\"EnclaveCID\":16,\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":1,\"EnclaveCID\":16,\"State\":\"RUNNING\"}]",
        "[{\"EnclaveName\":\"t\",\"EnclaveCID\":16,\"State\":\"RUNNING\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        EXPECT_ERR(parse(bad[i], "t", &cid), TR_ERR_RT_NITRO_JSON);
}

static char dir[64];

static void write_script(const char *name, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    EXPECT_TRUE(f != NULL);
    if (!f)
        return;
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0755);
}

static void test_lookup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rt_nitro_XXXXXX");
    EXPECT_TRUE(mkdtemp(dir) != NULL);
    write_script("good",
                 "[ \"$1\" = describe-enclaves ] || exit 3\n"
                 "echo '[{\"EnclaveName\":\"teerex\",\"EnclaveCID\":23,\"State\":\"RUNNING\"}]'");
    write_script("fails", "echo '[]'; exit 1");
    write_script("garbage", "echo 'E51 not json'");
    write_script("slow", "exec sleep 5");
    write_script("huge", "head -c 400000 /dev/zero | tr '\\0' ' '");
    char prog[128];
    uint32_t cid = 0;
    snprintf(prog, sizeof(prog), "%s/good", dir);
    EXPECT_OK(rt_nitro_lookup(prog, "teerex", 2000, &cid));
    EXPECT_EQ(cid, 23);
    EXPECT_ERR(rt_nitro_lookup(prog, "nope", 2000, &cid), TR_ERR_RT_NITRO_NOT_FOUND);
    snprintf(prog, sizeof(prog), "%s/fails", dir);
    EXPECT_ERR(rt_nitro_lookup(prog, "teerex", 2000, &cid), TR_ERR_RT_NITRO_CLI);
    snprintf(prog, sizeof(prog), "%s/garbage", dir);
    EXPECT_ERR(rt_nitro_lookup(prog, "teerex", 2000, &cid), TR_ERR_RT_NITRO_JSON);
    snprintf(prog, sizeof(prog), "%s/slow", dir);
    EXPECT_ERR(rt_nitro_lookup(prog, "teerex", 300, &cid), TR_ERR_TIMEOUT);
    snprintf(prog, sizeof(prog), "%s/huge", dir);
    EXPECT_ERR(rt_nitro_lookup(prog, "teerex", 5000, &cid), TR_ERR_RT_NITRO_JSON);
    EXPECT_ERR(rt_nitro_lookup("/nonexistent/nitro-cli", "teerex", 2000, &cid),
               TR_ERR_RT_NITRO_CLI);
    EXPECT_EQ(cid, 0);
    const char *names[] = {"good", "fails", "garbage", "slow", "huge"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(prog, sizeof(prog), "%s/%s", dir, names[i]);
        unlink(prog);
    }
    rmdir(dir);
}

int main(void)
{
    RUN_TEST(test_parse);
    RUN_TEST(test_lookup);
    return TEST_SUMMARY();
}
