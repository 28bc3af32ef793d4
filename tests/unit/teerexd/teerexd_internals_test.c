/* teerexd internals: sliding-window rate limit, the bounded FIFO prove
 * queue, command template expansion. */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "prove_queue.h"
#include "prover.h"
#include "rate_limit.h"

static void test_rate_limit(void)
{
    struct rate_limit *rl;
    EXPECT_OK(rate_limit_create(3, 1000, 4096, &rl));
    EXPECT_TRUE(rate_limit_hit(rl, "a", 0));
    EXPECT_TRUE(rate_limit_hit(rl, "a", 100));
    EXPECT_TRUE(rate_limit_hit(rl, "a", 200));
    EXPECT_TRUE(!rate_limit_hit(rl, "a", 300)); /* 4th inside the window */
    EXPECT_TRUE(rate_limit_hit(rl, "b", 300));  /* other key, own window */
    EXPECT_TRUE(!rate_limit_hit(rl, "a", 999));
    EXPECT_TRUE(rate_limit_hit(rl, "a", 1000)); /* the hit at 0 slid out */
    EXPECT_TRUE(!rate_limit_hit(rl, "a", 1001));
    EXPECT_TRUE(rate_limit_hit(rl, "a", 1100)); /* the one at 100 slid out */
    /* many keys: the table recycles expired ones */
    char k[32];
    int refused = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "10.0.%d.%d", i / 256, i % 256);
        refused += !rate_limit_hit(rl, k, 5000 + (uint64_t)i * 2);
    }
    EXPECT_EQ(refused, 0);
    rate_limit_free(rl);
    /* A full table forgets the least recently seen client, never refuses a new one. */
    EXPECT_OK(rate_limit_create(1, 3600000, 3, &rl));
    EXPECT_TRUE(rate_limit_hit(rl, "a", 1));
    EXPECT_TRUE(rate_limit_hit(rl, "b", 2));
    EXPECT_TRUE(rate_limit_hit(rl, "c", 3));
    EXPECT_TRUE(!rate_limit_hit(rl, "a", 4)); /* a is seen again: most recent */
    EXPECT_TRUE(rate_limit_hit(rl, "d", 5));  /* full: b, the least recent, goes */
    EXPECT_TRUE(!rate_limit_hit(rl, "c", 6));
    EXPECT_TRUE(!rate_limit_hit(rl, "a", 7));
    EXPECT_TRUE(!rate_limit_hit(rl, "d", 8));
    EXPECT_TRUE(rate_limit_hit(rl, "b", 9)); /* forgotten, so new again */
    refused = 0;
    for (int i = 0; i < 5000; i++) { /* a flood of new keys: each one served */
        snprintf(k, sizeof(k), "198.18.%d.%d", i / 256, i % 256);
        refused += !rate_limit_hit(rl, k, 10 + (uint64_t)i);
    }
    EXPECT_EQ(refused, 0);
    rate_limit_free(rl);
    /* A client's ring grows with its hits (4, 8, 16 ... max) and stays exact. */
    EXPECT_OK(rate_limit_create(10, 1000, 8, &rl));
    int ok = 0;
    for (int i = 0; i < 15; i++)
        ok += rate_limit_hit(rl, "g", (uint64_t)i);
    EXPECT_EQ(ok, 10);
    EXPECT_TRUE(rate_limit_hit(rl, "g", 1000));  /* the hit at 0 slid out */
    EXPECT_TRUE(!rate_limit_hit(rl, "g", 1000)); /* the one at 1 has not */
    rate_limit_free(rl);
    /* RATE_LIMIT_MAX 1e6 and a flood of 20000 one-hit clients: small rings only. */
    EXPECT_OK(rate_limit_create(1000000, 3600000, 16384, &rl));
    refused = 0;
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof(k), "198.19.%d.%d", i / 256, i % 256);
        refused += !rate_limit_hit(rl, k, (uint64_t)i);
    }
    EXPECT_EQ(refused, 0);
    rate_limit_free(rl);
    EXPECT_OK(rate_limit_create(0, 1000, 4096, &rl)); /* disabled */
    for (int i = 0; i < 100; i++)
        EXPECT_TRUE(rate_limit_hit(rl, "a", 0));
    rate_limit_free(rl);
}

struct waiter {
    struct prove_queue *q;
    int32_t err;
    int done;
};

static void *enter_thread(void *arg)
{
    struct waiter *w = arg;
    w->err = prove_queue_enter(w->q, -1).err;
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_queue(void)
{
    struct prove_queue q;
    prove_queue_init(&q, 1, 1);
    EXPECT_OK(prove_queue_enter(&q, -1));
    struct waiter w = {.q = &q};
    pthread_t t;
    pthread_create(&t, NULL, enter_thread, &w);
    unsigned waiting = 0, active = 0;
    for (int i = 0; i < 200 && waiting == 0; i++) {
        usleep(5000);
        prove_queue_stats(&q, &waiting, &active);
    }
    EXPECT_EQ(waiting, 1);
    EXPECT_EQ(active, 1);
    EXPECT_ERR(prove_queue_enter(&q, -1), TR_ERR_PROVER_QUEUE_FULL);
    EXPECT_TRUE(!__atomic_load_n(&w.done, __ATOMIC_SEQ_CST));
    prove_queue_leave(&q); /* hands the slot to the waiter */
    pthread_join(t, NULL);
    EXPECT_EQ(w.err, TR_OK);
    prove_queue_stats(&q, &waiting, &active);
    EXPECT_EQ(waiting, 0);
    EXPECT_EQ(active, 1);
    /* close wakes waiters with SHUTDOWN */
    struct waiter w2 = {.q = &q};
    pthread_create(&t, NULL, enter_thread, &w2);
    usleep(50000);
    prove_queue_close(&q);
    pthread_join(t, NULL);
    EXPECT_EQ(w2.err, TR_ERR_PROVER_SHUTDOWN);
    EXPECT_ERR(prove_queue_enter(&q, -1), TR_ERR_PROVER_SHUTDOWN);
    prove_queue_leave(&q);
    prove_queue_destroy(&q);

    /* a waiter whose client hung up leaves the queue */
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    prove_queue_init(&q, 1, 4);
    EXPECT_OK(prove_queue_enter(&q, -1));
    close(sv[1]);
    EXPECT_ERR(prove_queue_enter(&q, sv[0]), TR_ERR_PROVER_CLIENT_GONE);
    prove_queue_stats(&q, &waiting, &active);
    EXPECT_EQ(waiting, 0);
    close(sv[0]);
    prove_queue_leave(&q);
    prove_queue_destroy(&q);
}

#define BB(p) ((const char *const[]){(p), NULL})

static void test_expand(void)
{
    char st[4096];
    char *argv[PROVER_MAX_ARGS + 1];
    EXPECT_OK(prover_expand(
        "{bb} prove --scheme chonk --ivc_inputs_path {dir}/ivc-inputs.msgpack -o {dir}/output",
        BB("/opt/bb"), "/dev/shm/t-1", "", false, st, sizeof(st), argv));
    const char *want[] = {"/opt/bb",
                          "prove",
                          "--scheme",
                          "chonk",
                          "--ivc_inputs_path",
                          "/dev/shm/t-1/ivc-inputs.msgpack",
                          "-o",
                          "/dev/shm/t-1/output",
                          NULL};
    for (size_t i = 0; want[i]; i++)
        EXPECT_STR_EQ(argv[i], want[i]);
    EXPECT_TRUE(argv[8] == NULL);
    EXPECT_OK(
        prover_expand("{bb}  prove  -o {dir}", BB("/b"), "/d", "/crs", true, st, sizeof(st), argv));
    EXPECT_STR_EQ(argv[3], "/d");
    EXPECT_STR_EQ(argv[4], "-c");
    EXPECT_STR_EQ(argv[5], "/crs");
    EXPECT_TRUE(argv[6] == NULL);
    /* {crs} already in the template: not appended twice */
    EXPECT_OK(
        prover_expand("{bb} x --crs={crs}", BB("/b"), "/d", "/crs", true, st, sizeof(st), argv));
    EXPECT_STR_EQ(argv[2], "--crs=/crs");
    EXPECT_TRUE(argv[3] == NULL);
    EXPECT_ERR(prover_expand("bb prove", BB("/b"), "/d", "", false, st, sizeof(st), argv),
               TR_ERR_PROVER_BAD_TEMPLATE);
    EXPECT_ERR(prover_expand("", BB("/b"), "/d", "", false, st, sizeof(st), argv),
               TR_ERR_PROVER_BAD_TEMPLATE);
    EXPECT_ERR(prover_expand("{bb} {dir}{dir}{dir}", BB("/b"), "/ddddddddddddddddd", "", false, st,
                             20, argv),
               TR_ERR_PROVER_BAD_TEMPLATE);
    char many[400] = "{bb}";
    for (int i = 0; i < 70; i++)
        strcat(many, " a");
    EXPECT_ERR(prover_expand(many, BB("/b"), "/d", "", false, st, sizeof(st), argv),
               TR_ERR_PROVER_BAD_TEMPLATE);
    /* a bundle: {bb} as a whole token is the loader prefix; inside a token, bb */
    const char *const bundle[] = {"/v/lib/ld-linux-x86-64.so.2",
                                  "--inhibit-cache",
                                  "--library-path",
                                  "/v/lib",
                                  "/v/bb",
                                  NULL};
    EXPECT_OK(prover_expand("{bb} prove --x={bb}", bundle, "/d", "", false, st, sizeof(st), argv));
    for (size_t i = 0; i < 5; i++)
        EXPECT_STR_EQ(argv[i], bundle[i]);
    EXPECT_STR_EQ(argv[5], "prove");
    EXPECT_STR_EQ(argv[6], "--x=/v/bb");
    EXPECT_TRUE(argv[7] == NULL);
    EXPECT_ERR(prover_expand("{bb} x", BB(NULL), "/d", "", false, st, sizeof(st), argv),
               TR_ERR_PROVER_NO_BINARY);
    enum scheme s;
    EXPECT_TRUE(scheme_parse(NULL, &s) && s == SCHEME_CHONK);
    EXPECT_TRUE(scheme_parse("ultra_honk", &s) && s == SCHEME_ULTRA_HONK);
    EXPECT_TRUE(!scheme_parse("plonk", &s));
}

int main(void)
{
    RUN_TEST(test_rate_limit);
    RUN_TEST(test_queue);
    RUN_TEST(test_expand);
    return TEST_SUMMARY();
}
