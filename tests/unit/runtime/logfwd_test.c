/* The log channel's two halves as units: rt_logline_check (what may travel)
 * and rt_logfwd (connect, hold while down, reconnect, withhold raw text). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rt_logfwd.h"
#include "rt_logline.h"
#include "teerex/log.h"

#define L(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_logline(void)
{
    struct rt_logline ll;
    EXPECT_OK(rt_logline_check(L("{\"level\":\"error\",\"event\":\"x\"}\n"), &ll));
    EXPECT_EQ(ll.syslog_prio, 3);
    EXPECT_EQ(ll.len, 29); /* without the newline */
    EXPECT_OK(rt_logline_check(L("{\"level\":\"warn\"}"), &ll));
    EXPECT_EQ(ll.syslog_prio, 4);
    EXPECT_OK(rt_logline_check(L("{\"level\":\"debug\"}"), &ll));
    EXPECT_EQ(ll.syslog_prio, 7);
    EXPECT_OK(rt_logline_check(L("{\"event\":\"no level\"}"), &ll));
    EXPECT_EQ(ll.syslog_prio, 6);
    EXPECT_ERR(rt_logline_check(L("plain text\n"), &ll), TR_ERR_RT_LOG_LINE);
    EXPECT_EQ(ll.len, 0);
    EXPECT_ERR(rt_logline_check(L("{\"a\":1} {\"b\":2}"), &ll), TR_ERR_RT_LOG_LINE);
    EXPECT_ERR(rt_logline_check(L("[1]"), &ll), TR_ERR_RT_LOG_LINE);
    EXPECT_ERR(rt_logline_check(L(" {\"a\":1}"), &ll), TR_ERR_RT_LOG_LINE);
    EXPECT_ERR(rt_logline_check(L("{\"a\":1,\"a\":2}"), &ll), TR_ERR_RT_LOG_LINE);
    EXPECT_ERR(rt_logline_check(L("{\"a\":\"\xff\"}"), &ll), TR_ERR_RT_LOG_LINE);
    EXPECT_ERR(rt_logline_check(L("{\"a\":1}\n\n"), &ll), TR_ERR_RT_LOG_LINE);
    EXPECT_ERR(rt_logline_check(L(""), &ll), TR_ERR_RT_LOG_LINE);
    static uint8_t big[RT_LOGLINE_MAX + 2];
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    big[sizeof(big) - 1] = '}';
    EXPECT_ERR(rt_logline_check(big, sizeof(big), &ll), TR_ERR_RT_LOG_LINE_LONG);
}

/* Steps the forwarder until cond or ~2 s, waiting on its socket like init. */
static void run(struct rt_logfwd *f, int ms)
{
    int ep = epoll_create1(0);
    unsigned gen = 0;
    uint32_t seen = 0;
    for (int i = 0; i < ms / 10; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        int to = -1;
        uint32_t want = rt_logfwd_step(f, seen, now, &to);
        seen = 0;
        if (f->fd >= 0 && gen != f->gen) {
            struct epoll_event e = {.events = want};
            epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &e);
            gen = f->gen;
        } else if (f->fd >= 0) {
            struct epoll_event e = {.events = want};
            epoll_ctl(ep, EPOLL_CTL_MOD, f->fd, &e);
        }
        struct epoll_event ev;
        if (epoll_wait(ep, &ev, 1, 10) == 1)
            seen = ev.events;
    }
    close(ep);
}

static int listen_unix(const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    unlink(path);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 4) != 0)
        return -1;
    return s;
}

static void test_forwarder(void)
{
    char dir[] = "/tmp/logfwd-test-XXXXXX", path[128], addr[160];
    EXPECT_TRUE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/s", dir);
    snprintf(addr, sizeof(addr), "unix:%s", path);
    int logp[2]; /* tr_log output of the forwarder (its own events) */
    EXPECT_EQ(pipe2(logp, O_NONBLOCK), 0);
    tr_log_set_fd(logp[1]);
    struct rt_logfwd f;
    EXPECT_ERR(rt_logfwd_init(&f, "vsock:any:5001", 4096), TR_ERR_RT_ADDR_RANGE);
    EXPECT_ERR(rt_logfwd_init(&f, "vsock:auto:5001", 4096), TR_ERR_RT_ADDR_AUTO);
    EXPECT_OK(rt_logfwd_init(&f, addr, 4096));
    /* No receiver yet: lines are kept; the outage is said once. */
    rt_logfwd_push(&f, "teerexd", L("{\"event\":\"early\"}\n"));
    rt_logfwd_push(&f, "teerexd", L("raw secret text\n"));
    EXPECT_EQ(f.lines_withheld, 1);
    run(&f, 100);
    EXPECT_TRUE(f.connect_failures >= 1);
    EXPECT_EQ(f.ring.lines_dropped, 0);
    char logs[4096] = {0};
    EXPECT_TRUE(read(logp[0], logs, sizeof(logs) - 1) > 0);
    EXPECT_TRUE(strstr(logs, "\"event\":\"log_line_withheld\"") != NULL);
    EXPECT_TRUE(strstr(logs, "\"event\":\"log_forward_down\"") != NULL);
    /* The receiver appears: the held line arrives, the raw text never. */
    int ls = listen_unix(path);
    EXPECT_TRUE(ls >= 0);
    run(&f, 800); /* first retry after 500 ms */
    EXPECT_EQ(f.connects, 1);
    int c = accept(ls, NULL, NULL);
    EXPECT_TRUE(c >= 0);
    rt_logfwd_push(&f, "teerexd", L("{\"event\":\"late\"}\n"));
    run(&f, 50);
    char got[256] = {0};
    usleep(20000);
    EXPECT_TRUE(read(c, got, sizeof(got) - 1) > 0);
    EXPECT_TRUE(strstr(got, "{\"event\":\"early\"}\n") != NULL);
    EXPECT_TRUE(strstr(got, "{\"event\":\"late\"}\n") != NULL);
    EXPECT_TRUE(strstr(got, "secret") == NULL);
    /* The receiver goes away: noticed, retried, lines kept meanwhile. */
    close(c);
    run(&f, 50);
    EXPECT_EQ(f.disconnects, 1);
    EXPECT_EQ(f.fd, -1);
    rt_logfwd_push(&f, "teerexd", L("{\"event\":\"after\"}\n"));
    run(&f, 800);
    EXPECT_EQ(f.connects, 2);
    c = accept(ls, NULL, NULL);
    run(&f, 50);
    usleep(20000);
    memset(got, 0, sizeof(got));
    EXPECT_TRUE(read(c, got, sizeof(got) - 1) > 0);
    EXPECT_TRUE(strstr(got, "{\"event\":\"after\"}\n") != NULL);
    close(c);
    close(ls);
    rt_logfwd_free(&f);
    tr_log_set_fd(2);
    close(logp[0]);
    close(logp[1]);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN_TEST(test_logline);
    RUN_TEST(test_forwarder);
    return TEST_SUMMARY();
}
