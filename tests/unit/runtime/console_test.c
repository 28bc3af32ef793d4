/* Bounded console: never blocks, drops and counts when the console is full. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rt_console.h"

static void test_fill_and_drop(void)
{
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    fcntl(p[1], F_SETPIPE_SZ, 4096);
    struct rt_console c;
    EXPECT_OK(rt_console_init(&c, p[1], 1024));
    char line[100];
    memset(line, 'x', sizeof(line));
    line[99] = '\n';
    /* Nobody reads p[0]: the pipe (4 KiB) fills, then the ring (1 KiB). */
    uint64_t pushed = 0, dropped = 0;
    for (int i = 0; i < 200; i++) {
        if (rt_console_push(&c, line, sizeof(line)))
            pushed++;
        else
            dropped++;
        rt_console_flush(&c); /* must return at once (O_NONBLOCK) */
    }
    EXPECT_TRUE(dropped > 0);
    EXPECT_EQ(c.lines_dropped, dropped);
    EXPECT_EQ(c.lines_in, 200);
    EXPECT_EQ(c.bytes_dropped, dropped * sizeof(line));
    EXPECT_TRUE(c.len <= c.cap);
    EXPECT_TRUE(rt_console_flush(&c)); /* bytes still queued */
    /* Drain the pipe: everything queued comes out, then the drop notice. */
    char buf[65536];
    size_t got = 0;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 100; i++) {
        ssize_t k = read(p[0], buf + got, sizeof(buf) - got);
        if (k > 0)
            got += (size_t)k;
        if (!rt_console_flush(&c) && k <= 0)
            break;
    }
    ssize_t k;
    while ((k = read(p[0], buf + got, sizeof(buf) - got)) > 0)
        got += (size_t)k;
    EXPECT_EQ(c.len, 0);
    EXPECT_EQ(c.lines_written, pushed + 1);
    buf[got < sizeof(buf) ? got : sizeof(buf) - 1] = 0;
    EXPECT_TRUE(strstr(buf, "\"event\":\"console_dropped\"") != NULL);
    char want[64];
    snprintf(want, sizeof(want), "\"lines\":%llu", (unsigned long long)dropped);
    EXPECT_TRUE(strstr(buf, want) != NULL);
    EXPECT_EQ(got, pushed * sizeof(line) + strlen(strstr(buf, "{\"level\"")));
    rt_console_free(&c);
    close(p[0]);
    close(p[1]);
}

static void test_wraparound_and_newline(void)
{
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    struct rt_console c;
    EXPECT_OK(rt_console_init(&c, p[1], 256));
    char out[4096];
    size_t got = 0;
    for (int i = 0; i < 20; i++) {
        char l[40];
        int n = snprintf(l, sizeof(l), "line %02d without newline", i);
        EXPECT_TRUE(rt_console_push(&c, l, (size_t)n));
        EXPECT_TRUE(!rt_console_flush(&c));
        ssize_t k = read(p[0], out + got, sizeof(out) - got);
        got += k > 0 ? (size_t)k : 0;
    }
    out[got] = 0;
    EXPECT_TRUE(strncmp(out, "line 00 without newline\nline 01", 31) == 0);
    EXPECT_TRUE(strstr(out, "line 19 without newline\n") != NULL);
    EXPECT_EQ(c.lines_written, 20);
    EXPECT_EQ(c.lines_dropped, 0);
    rt_console_free(&c);
    close(p[0]);
    close(p[1]);
}

static void test_silenced_and_broken(void)
{
    struct rt_console c;
    EXPECT_OK(rt_console_init(&c, -1, 4096));
    EXPECT_TRUE(rt_console_push(&c, "x\n", 2));
    EXPECT_EQ(c.lines_silenced, 1);
    EXPECT_TRUE(!rt_console_flush(&c));
    rt_console_free(&c);
    EXPECT_ERR(rt_console_init(&c, -1, 10), TR_ERR_USAGE);

    int p[2];
    EXPECT_EQ(pipe(p), 0);
    signal(SIGPIPE, SIG_IGN);
    close(p[0]); /* reader gone: EPIPE */
    EXPECT_OK(rt_console_init(&c, p[1], 4096));
    EXPECT_TRUE(rt_console_push(&c, "a\n", 2));
    EXPECT_TRUE(!rt_console_flush(&c));
    EXPECT_TRUE(c.broken);
    EXPECT_TRUE(!rt_console_push(&c, "b\n", 2));
    EXPECT_EQ(c.lines_dropped, 2);
    rt_console_free(&c);
    close(p[1]);
}

static void test_linebuf(void)
{
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    fcntl(p[1], F_SETPIPE_SZ, 65536);
    struct rt_console c;
    EXPECT_OK(rt_console_init(&c, p[1], 65536));
    static struct rt_linebuf lb;
    rt_linebuf_init(&lb, rt_console_line, &c);
    rt_linebuf_feed(&lb, (const uint8_t *)"par", 3);
    EXPECT_EQ(c.lines_in, 0);
    rt_linebuf_feed(&lb, (const uint8_t *)"tial\nnext\nrest", 14);
    EXPECT_EQ(c.lines_in, 2);
    static uint8_t big[RT_LINE_MAX * 2 + 10];
    memset(big, 'z', sizeof(big));
    rt_linebuf_feed(&lb, big, sizeof(big)); /* cut into RT_LINE_MAX pieces */
    EXPECT_EQ(c.lines_in, 4);
    rt_linebuf_finish(&lb);
    EXPECT_EQ(c.lines_in, 5);
    EXPECT_EQ(lb.len, 0);
    rt_console_flush(&c);
    char head[16];
    EXPECT_EQ(read(p[0], head, 13), 13);
    EXPECT_MEM_EQ(head, "partial\nnext\n", 13);
    rt_console_free(&c);
    close(p[0]);
    close(p[1]);
}

/* Hold mode (the log forwarder's ring): lines wait while detached; a write
 * error detaches instead of breaking; a line cut by the detach is skipped. */
static void test_hold_detach_attach(void)
{
    struct rt_console c;
    EXPECT_OK(rt_console_init(&c, -1, 4096));
    rt_console_hold(&c, "log_forward_dropped");
    EXPECT_TRUE(rt_console_push(&c, "one\n", 4)); /* kept, not silenced */
    EXPECT_EQ(c.lines_silenced, 0);
    EXPECT_TRUE(!rt_console_flush(&c)); /* no sink: nothing to do */
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    rt_console_attach(&c, p[1]);
    EXPECT_TRUE(!rt_console_flush(&c));
    char got[64] = {0};
    EXPECT_EQ(read(p[0], got, sizeof(got)), 4);
    EXPECT_MEM_EQ(got, "one\n", 4);
    /* A line half written, then the reader goes away: detached, not broken. */
    static char big[70000];
    memset(big, 'b', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    struct rt_console c2;
    EXPECT_OK(rt_console_init(&c2, -1, 200000));
    rt_console_hold(&c2, "log_forward_dropped");
    EXPECT_TRUE(rt_console_push(&c2, big, sizeof(big)));
    EXPECT_TRUE(rt_console_push(&c2, "next\n", 5));
    int q[2];
    EXPECT_EQ(pipe(q), 0);
    fcntl(q[1], F_SETPIPE_SZ, 4096);
    rt_console_attach(&c2, q[1]);
    EXPECT_TRUE(rt_console_flush(&c2)); /* the pipe took part of the big line */
    EXPECT_TRUE(c2.mid_line);
    close(q[0]);
    signal(SIGPIPE, SIG_IGN);
    EXPECT_TRUE(!rt_console_flush(&c2)); /* EPIPE */
    EXPECT_EQ(c2.fd, -1);
    EXPECT_EQ(c2.sink_errors, 1);
    EXPECT_TRUE(!c2.broken);
    int r[2];
    EXPECT_EQ(pipe(r), 0);
    rt_console_attach(&c2, r[1]); /* the rest of the big line is skipped */
    EXPECT_TRUE(!rt_console_flush(&c2));
    memset(got, 0, sizeof(got));
    EXPECT_EQ(read(r[0], got, sizeof(got)), 5);
    EXPECT_MEM_EQ(got, "next\n", 5);
    rt_console_free(&c);
    rt_console_free(&c2);
    close(p[0]);
    close(p[1]);
    close(q[1]);
    close(r[0]);
    close(r[1]);
}

int main(void)
{
    RUN_TEST(test_hold_detach_attach);
    RUN_TEST(test_fill_and_drop);
    RUN_TEST(test_wraparound_and_newline);
    RUN_TEST(test_silenced_and_broken);
    RUN_TEST(test_linebuf);
    return TEST_SUMMARY();
}
