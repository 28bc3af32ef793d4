/* teerex-init configuration parser. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rt_config.h"
#include "teerex/log.h"

static tr_result parse(struct rt_config *c, const char *text, size_t *line)
{
    return rt_config_parse(c, (const uint8_t *)text, strlen(text), line);
}

static void test_full_file(void)
{
    struct rt_config c;
    size_t line;
    rt_config_init(&c);
    EXPECT_OK(parse(&c,
                    "# enclave\n"
                    "workdir = /app\n"
                    "  console=/dev/console  \r\n"
                    "console_buffer = 8192\n"
                    "loopback = off\n"
                    "env = PORT=4000\n"
                    "env = TEE_MODE=nitro\n"
                    "child = teerexd /app/teerexd --flag  x\n"
                    "child = other /bin/true\n"
                    "restart_min = 50ms\n"
                    "restart_max = 2s\n"
                    "stable_after = 1m\n"
                    "stop_timeout = 3\n"
                    "exit_on_signal = yes\n"
                    "stats_file = /tmp/s.json\n"
                    "log_level = warn\n"
                    "\n",
                    &line));
    EXPECT_STR_EQ(c.workdir, "/app");
    EXPECT_EQ(c.console, RT_CONSOLE_PATH);
    EXPECT_STR_EQ(c.console_path, "/dev/console");
    EXPECT_EQ(c.console_buffer, 8192);
    EXPECT_EQ(c.loopback, false);
    EXPECT_EQ(c.n_env, 2);
    EXPECT_STR_EQ(c.env[1], "TEE_MODE=nitro");
    EXPECT_TRUE(c.env[2] == NULL);
    EXPECT_EQ(c.n_children, 2);
    EXPECT_STR_EQ(c.children[0].name, "teerexd");
    EXPECT_EQ(c.children[0].argc, 3);
    EXPECT_STR_EQ(c.children[0].argv[0], "/app/teerexd");
    EXPECT_STR_EQ(c.children[0].argv[2], "x");
    EXPECT_TRUE(c.children[0].argv[3] == NULL);
    EXPECT_EQ(c.restart_min_ms, 50);
    EXPECT_EQ(c.restart_max_ms, 2000);
    EXPECT_EQ(c.stable_after_ms, 60000);
    EXPECT_EQ(c.stop_timeout_ms, 3000);
    EXPECT_EQ(c.exit_on_signal, true);
    EXPECT_STR_EQ(c.stats_file, "/tmp/s.json");
    EXPECT_EQ(c.log_level, TR_LOG_WARN);
    EXPECT_OK(rt_config_validate(&c));
    rt_config_free(&c);
}

static void test_defaults_and_console(void)
{
    struct rt_config c;
    rt_config_init(&c);
    EXPECT_EQ(c.loopback, true);
    EXPECT_EQ(c.console_buffer, 65536);
    EXPECT_EQ(c.restart_min_ms, 100);
    EXPECT_ERR(rt_config_validate(&c), TR_ERR_RT_CONFIG_NO_CHILD);
    EXPECT_OK(rt_config_set(&c, "console", "off"));
    EXPECT_EQ(c.console, RT_CONSOLE_OFF);
    EXPECT_OK(rt_config_set(&c, "console", "stderr"));
    EXPECT_EQ(c.console, RT_CONSOLE_STDERR);
    char *argv[] = {(char *)"/bin/echo", (char *)"hi"};
    EXPECT_OK(rt_config_add_child_argv(&c, "echo", argv, 2));
    EXPECT_ERR(rt_config_add_child_argv(&c, "echo", argv, 2), TR_ERR_RT_CONFIG_VALUE);
    EXPECT_OK(rt_config_set(&c, "restart_min", "5s"));
    EXPECT_OK(rt_config_set(&c, "restart_max", "1s"));
    EXPECT_ERR(rt_config_validate(&c), TR_ERR_RT_CONFIG_VALUE);
    rt_config_free(&c);
}

static void test_errors(void)
{
    static const struct {
        const char *text;
        int32_t err;
        size_t line;
    } cases[] = {
        {"workdir /app\n", TR_ERR_RT_CONFIG_SYNTAX, 1},
        {"# ok\n = x\n", TR_ERR_RT_CONFIG_SYNTAX, 2},
        {"colour = blue\n", TR_ERR_RT_CONFIG_KEY, 1},
        {"workdir = app\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"workdir =\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"console = tty\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"console_buffer = 100\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"console_buffer = 99999999999\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"console_buffer = -1\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"loopback = maybe\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"env = NOEQUALS\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"env = =x\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"env = 1X=y\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"env = A\"B=y\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"env = A=1\nenv = B=2\nenv = A=3\n", TR_ERR_RT_CONFIG_DUPLICATE, 3},
        {"child = onlyname\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"child = x relative/prog\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"child = bad/name /bin/true\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"restart_min = 5 parsecs\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"restart_max = 99999d\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"log_level = loud\n", TR_ERR_RT_CONFIG_VALUE, 1},
        {"stats_file = rel\n", TR_ERR_RT_CONFIG_VALUE, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rt_config c;
        size_t line = 99;
        rt_config_init(&c);
        EXPECT_ERR(parse(&c, cases[i].text, &line), cases[i].err);
        EXPECT_EQ(line, cases[i].line);
        rt_config_free(&c);
    }
}

static void test_limits(void)
{
    struct rt_config c;
    size_t line;
    char text[8192];
    size_t off = 0;
    /* RT_MAX_CHILDREN + 1 children: the last one is refused. */
    for (int i = 0; i <= RT_MAX_CHILDREN; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "child = c%d /bin/true\n", i);
    rt_config_init(&c);
    EXPECT_ERR(parse(&c, text, &line), TR_ERR_RT_CONFIG_LIMIT);
    EXPECT_EQ(line, RT_MAX_CHILDREN + 1);
    EXPECT_EQ(c.n_children, RT_MAX_CHILDREN);
    rt_config_free(&c);

    /* RT_MAX_ARGS + 1 arguments. */
    off = (size_t)snprintf(text, sizeof(text), "child = many /bin/true");
    for (int i = 0; i < RT_MAX_ARGS; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, " a%d", i);
    rt_config_init(&c);
    EXPECT_ERR(parse(&c, text, &line), TR_ERR_RT_CONFIG_LIMIT);
    rt_config_free(&c);

    /* A line at RT_MAX_LINE, a file over RT_MAX_CONFIG_BYTES, a NUL byte. */
    static char big[RT_MAX_CONFIG_BYTES + 2];
    memset(big, '#', sizeof(big) - 1);
    rt_config_init(&c);
    EXPECT_ERR(rt_config_parse(&c, (const uint8_t *)big, RT_MAX_LINE + 1, &line),
               TR_ERR_RT_CONFIG_LIMIT);
    EXPECT_ERR(rt_config_parse(&c, (const uint8_t *)big, sizeof(big) - 1, &line),
               TR_ERR_RT_CONFIG_LIMIT);
    EXPECT_ERR(rt_config_parse(&c, (const uint8_t *)"workdir = /a\0b\n", 15, &line),
               TR_ERR_RT_CONFIG_SYNTAX);
    for (int i = 0; i <= RT_MAX_ENV; i++) {
        char e[32];
        snprintf(e, sizeof(e), "V%d=1", i);
        tr_result r = rt_config_set(&c, "env", e);
        if (i < RT_MAX_ENV)
            EXPECT_OK(r);
        else
            EXPECT_ERR(r, TR_ERR_RT_CONFIG_LIMIT);
    }
    rt_config_free(&c);
}

/* One entry per name: a later source overrides (and is marked), a repeat
 * inside one file is an error (the issue: /env held LISTEN twice, first won). */
static void test_env_override(void)
{
    struct rt_config c;
    size_t line;
    rt_config_init(&c);
    EXPECT_OK(rt_config_set(&c, "env", "EARLY=cli"));
    EXPECT_OK(parse(
        &c, "env = TEE_MODE=nitro\nenv = LISTEN=proxy+vsock:any:5000\nenv = EARLY=file\n", &line));
    EXPECT_EQ(c.n_env, 3);
    EXPECT_STR_EQ(c.env[0], "EARLY=file");
    EXPECT_TRUE(c.env_overridden[0]);
    EXPECT_OK(rt_config_set(&c, "env", "LISTEN=tcp:0.0.0.0:4000"));
    EXPECT_OK(rt_config_set(&c, "env", "LISTEN=proxy+vsock:any:5000,tcp:0.0.0.0:4000"));
    EXPECT_EQ(c.n_env, 3);
    EXPECT_STR_EQ(c.env[2], "LISTEN=proxy+vsock:any:5000,tcp:0.0.0.0:4000");
    EXPECT_TRUE(c.env_overridden[2]);
    EXPECT_TRUE(!c.env_overridden[1]);
    EXPECT_TRUE(c.env[3] == NULL);
    /* A prefix is another name. */
    EXPECT_OK(rt_config_set(&c, "env", "LISTEN_X=1"));
    EXPECT_EQ(c.n_env, 4);
    /* A second file may override the first; a repeat inside it may not. */
    EXPECT_OK(parse(&c, "env = TEE_MODE=standard\n", &line));
    EXPECT_STR_EQ(c.env[1], "TEE_MODE=standard");
    EXPECT_ERR(parse(&c, "env = Z=1\nenv = Z=2\n", &line), TR_ERR_RT_CONFIG_DUPLICATE);
    EXPECT_EQ(line, 2);
    EXPECT_TRUE(!c.in_file);
    rt_config_free(&c);
}

static void test_load(void)
{
    struct rt_config c;
    size_t line;
    char path[] = "/tmp/rt_config_testXXXXXX";
    int fd = mkstemp(path);
    EXPECT_TRUE(fd >= 0);
    const char *t = "child = d /bin/true\nbogus\n";
    EXPECT_EQ(write(fd, t, strlen(t)), (long long)strlen(t));
    close(fd);
    rt_config_init(&c);
    EXPECT_ERR(rt_config_load(&c, path, &line), TR_ERR_RT_CONFIG_SYNTAX);
    EXPECT_EQ(line, 2);
    EXPECT_ERR(rt_config_load(&c, "/nonexistent/cfg", &line), TR_ERR_NOT_FOUND);
    rt_config_free(&c);
    unlink(path);
}

int main(void)
{
    RUN_TEST(test_full_file);
    RUN_TEST(test_defaults_and_console);
    RUN_TEST(test_errors);
    RUN_TEST(test_limits);
    RUN_TEST(test_env_override);
    RUN_TEST(test_load);
    return TEST_SUMMARY();
}
