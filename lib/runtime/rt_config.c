/* teerex-init configuration parser (see rt_config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_addr.h"
#include "rt_config.h"
#include "teerex/buf.h"
#include "teerex/codec.h"
#include "teerex/file.h"
#include "teerex/log.h"

void rt_config_init(struct rt_config *c)
{
    memset(c, 0, sizeof(*c));
    c->console = RT_CONSOLE_PATH;
    c->console_buffer = 64 * 1024;
    c->loopback = true;
    c->restart_min_ms = 100;
    c->restart_max_ms = 30000;
    c->stable_after_ms = 10000;
    c->stop_timeout_ms = 10000;
    c->log_level = TR_LOG_INFO;
    c->log_forward_buffer = RT_LOGFWD_BUF_DEFAULT;
}

static void free_child(struct rt_child_spec *s)
{
    for (size_t i = 0; i < s->argc; i++)
        free(s->argv[i]);
    memset(s, 0, sizeof(*s));
}

void rt_config_free(struct rt_config *c)
{
    free(c->workdir);
    free(c->console_path);
    free(c->stats_file);
    free(c->log_forward);
    for (size_t i = 0; i < c->n_env; i++)
        free(c->env[i]);
    for (size_t i = 0; i < c->n_children; i++)
        free_child(&c->children[i]);
    memset(c, 0, sizeof(*c));
}

static TR_RESULT set_str(char **dst, const char *value)
{
    TR_ENSURE(value[0] != 0, TR_ERR_RT_CONFIG_VALUE);
    char *s = strdup(value);
    TR_ENSURE(s != NULL, TR_ERR_NOMEM);
    free(*dst);
    *dst = s;
    return TR_SUCCESS;
}

static TR_RESULT set_bool(bool *dst, const char *v)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
        *dst = true;
    else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
        *dst = false;
    else
        TR_BAIL(TR_ERR_RT_CONFIG_VALUE);
    return TR_SUCCESS;
}

static TR_RESULT set_ms(uint64_t *dst, const char *v)
{
    uint64_t ms;
    tr_result r = tr_parse_duration_ms(v, &ms);
    TR_ENSURE(tr_ok(r) && ms <= 24ull * 3600 * 1000, TR_ERR_RT_CONFIG_VALUE);
    *dst = ms;
    return TR_SUCCESS;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Splits `NAME PROGRAM ARGS...` on blanks (no quoting: arguments with blanks
 * belong in a wrapper-free design, and the AWS init has no shell either). */
static TR_RESULT add_child_line(struct rt_config *c, const char *v)
{
    char *words[RT_MAX_ARGS + 1];
    size_t n = 0;
    tr_result res = TR_SUCCESS;
    const char *p = v;
    while (*p) {
        while (is_space(*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && !is_space(*p))
            p++;
        TR_CHECK(n < RT_MAX_ARGS + 1, TR_ERR_RT_CONFIG_LIMIT);
        words[n] = strndup(start, (size_t)(p - start));
        TR_CHECK(words[n] != NULL, TR_ERR_NOMEM);
        n++;
    }
    TR_CHECK(n >= 2, TR_ERR_RT_CONFIG_VALUE);
    TR_TRY(rt_config_add_child_argv(c, words[0], words + 1, n - 1));
out:
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    return res;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RT_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

tr_result rt_config_add_child_argv(struct rt_config *c, const char *name, char *const *argv,
                                   size_t argc)
{
    TR_ENSURE(valid_name(name), TR_ERR_RT_CONFIG_VALUE);
    TR_ENSURE(argc >= 1 && argv[0][0] == '/', TR_ERR_RT_CONFIG_VALUE); /* no PATH search */
    TR_ENSURE(argc <= RT_MAX_ARGS, TR_ERR_RT_CONFIG_LIMIT);
    TR_ENSURE(c->n_children < RT_MAX_CHILDREN, TR_ERR_RT_CONFIG_LIMIT);
    for (size_t i = 0; i < c->n_children; i++)
        TR_ENSURE(strcmp(c->children[i].name, name) != 0, TR_ERR_RT_CONFIG_VALUE);
    struct rt_child_spec *s = &c->children[c->n_children];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    for (size_t i = 0; i < argc; i++) {
        s->argv[i] = strdup(argv[i]);
        if (!s->argv[i]) {
            free_child(s);
            TR_BAIL(TR_ERR_NOMEM);
        }
        s->argc = i + 1;
    }
    s->argv[argc] = NULL;
    c->n_children++;
    return TR_SUCCESS;
}

/* A name set twice in one file is an error (the file is the image's
 * definition: a repeat is a mistake); set again later (teerex-init --env
 * NAME=... after --config), it replaces the earlier value and is marked, so
 * that teerex-init logs the override at start. Never two entries of one name. */
static TR_RESULT set_env(struct rt_config *c, const char *v)
{
    const char *eq = strchr(v, '=');
    TR_ENSURE(eq != NULL && eq != v, TR_ERR_RT_CONFIG_VALUE);
    size_t nl = (size_t)(eq - v);
    for (size_t k = 0; k < nl; k++) { /* a portable name: [A-Za-z_][A-Za-z0-9_]* */
        char ch = v[k];
        TR_ENSURE((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
                      (k > 0 && ch >= '0' && ch <= '9'),
                  TR_ERR_RT_CONFIG_VALUE);
    }
    size_t i = 0;
    while (i < c->n_env && !(strncmp(c->env[i], v, nl) == 0 && c->env[i][nl] == '='))
        i++;
    TR_ENSURE(i < c->n_env || c->n_env < RT_MAX_ENV, TR_ERR_RT_CONFIG_LIMIT);
    TR_ENSURE(i == c->n_env || !c->in_file || c->env_file[i] != c->n_files,
              TR_ERR_RT_CONFIG_DUPLICATE);
    char *s = strdup(v);
    TR_ENSURE(s != NULL, TR_ERR_NOMEM);
    if (i < c->n_env) {
        free(c->env[i]);
        c->env_overridden[i] = true;
    } else {
        c->n_env++;
    }
    c->env[i] = s;
    c->env_file[i] = c->in_file ? c->n_files : 0;
    c->env[c->n_env] = NULL;
    return TR_SUCCESS;
}

tr_result rt_config_set(struct rt_config *c, const char *key, const char *v)
{
    uint64_t u;
    if (!strcmp(key, "workdir")) {
        TR_ENSURE(v[0] == '/', TR_ERR_RT_CONFIG_VALUE);
        return set_str(&c->workdir, v);
    }
    if (!strcmp(key, "console")) {
        if (!strcmp(v, "off")) {
            c->console = RT_CONSOLE_OFF;
        } else if (!strcmp(v, "stderr")) {
            c->console = RT_CONSOLE_STDERR;
        } else {
            TR_ENSURE(v[0] == '/', TR_ERR_RT_CONFIG_VALUE);
            TR_GUARD(set_str(&c->console_path, v));
            c->console = RT_CONSOLE_PATH;
        }
        return TR_SUCCESS;
    }
    if (!strcmp(key, "console_buffer")) {
        tr_result r = tr_parse_u64(v, RT_CONSOLE_BUF_MAX, &u);
        TR_ENSURE(tr_ok(r) && u >= RT_CONSOLE_BUF_MIN, TR_ERR_RT_CONFIG_VALUE);
        c->console_buffer = (size_t)u;
        return TR_SUCCESS;
    }
    if (!strcmp(key, "loopback"))
        return set_bool(&c->loopback, v);
    if (!strcmp(key, "exit_on_signal"))
        return set_bool(&c->exit_on_signal, v);
    if (!strcmp(key, "env"))
        return set_env(c, v);
    if (!strcmp(key, "child"))
        return add_child_line(c, v);
    if (!strcmp(key, "restart_min"))
        return set_ms(&c->restart_min_ms, v);
    if (!strcmp(key, "restart_max"))
        return set_ms(&c->restart_max_ms, v);
    if (!strcmp(key, "stable_after"))
        return set_ms(&c->stable_after_ms, v);
    if (!strcmp(key, "stop_timeout"))
        return set_ms(&c->stop_timeout_ms, v);
    if (!strcmp(key, "stats_file")) {
        TR_ENSURE(v[0] == '/', TR_ERR_RT_CONFIG_VALUE);
        return set_str(&c->stats_file, v);
    }
    if (!strcmp(key, "log_forward")) {
        struct rt_addr a;
        TR_ENSURE(tr_ok(rt_addr_parse(v, &a)) && !a.cid_auto && a.len > 0 &&
                      (a.kind != RT_ADDR_VSOCK || a.cid != RT_VSOCK_CID_ANY),
                  TR_ERR_RT_CONFIG_VALUE);
        return set_str(&c->log_forward, v);
    }
    if (!strcmp(key, "log_forward_buffer")) {
        tr_result r = tr_parse_u64(v, RT_CONSOLE_BUF_MAX, &u);
        TR_ENSURE(tr_ok(r) && u >= RT_CONSOLE_BUF_MIN, TR_ERR_RT_CONFIG_VALUE);
        c->log_forward_buffer = (size_t)u;
        return TR_SUCCESS;
    }
    if (!strcmp(key, "log_level")) {
        int l = tr_log_level_parse(v);
        TR_ENSURE(l >= 0, TR_ERR_RT_CONFIG_VALUE);
        c->log_level = l;
        return TR_SUCCESS;
    }
    TR_BAIL(TR_ERR_RT_CONFIG_KEY);
}

/* Trims blanks (and a CR) at both ends in place. */
static char *trim(char *s)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && (is_space(s[n - 1]) || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static TR_RESULT parse_line(struct rt_config *c, struct tr_slice line)
{
    TR_ENSURE(line.len < RT_MAX_LINE, TR_ERR_RT_CONFIG_LIMIT);
    TR_ENSURE(memchr(line.ptr, 0, line.len) == NULL, TR_ERR_RT_CONFIG_SYNTAX);
    char buf[RT_MAX_LINE];
    memcpy(buf, line.ptr, line.len);
    buf[line.len] = 0;
    char *s = trim(buf);
    if (*s == 0 || *s == '#')
        return TR_SUCCESS;
    char *eq = strchr(s, '=');
    TR_ENSURE(eq != NULL, TR_ERR_RT_CONFIG_SYNTAX);
    *eq = 0;
    char *key = trim(s);
    char *value = trim(eq + 1);
    TR_ENSURE(*key != 0, TR_ERR_RT_CONFIG_SYNTAX);
    return rt_config_set(c, key, value);
}

tr_result rt_config_parse(struct rt_config *c, const uint8_t *p, size_t n, size_t *bad_line)
{
    *bad_line = 0;
    TR_ENSURE(n <= RT_MAX_CONFIG_BYTES, TR_ERR_RT_CONFIG_LIMIT);
    struct tr_reader r;
    tr_reader_init(&r, p, n);
    size_t lineno = 0;
    c->in_file = true;
    c->n_files++;
    while (tr_reader_remaining(&r) > 0) {
        lineno++;
        const uint8_t *cur = tr_reader_cursor(&r);
        const uint8_t *nl = memchr(cur, '\n', tr_reader_remaining(&r));
        size_t len = nl ? (size_t)(nl - cur) : tr_reader_remaining(&r);
        struct tr_slice line;
        TR_GUARD(tr_read_slice(&r, len, &line));
        if (nl)
            TR_GUARD(tr_read_skip(&r, 1));
        tr_result res = parse_line(c, line);
        if (!tr_ok(res)) {
            *bad_line = lineno;
            c->in_file = false;
            return res;
        }
    }
    c->in_file = false;
    return TR_SUCCESS;
}

tr_result rt_config_load(struct rt_config *c, const char *path, size_t *bad_line)
{
    *bad_line = 0;
    struct tr_buf data;
    tr_buf_init(&data, RT_MAX_CONFIG_BYTES);
    tr_result res = tr_file_read(path, RT_MAX_CONFIG_BYTES, 0, &data);
    if (res.err == TR_ERR_TOO_BIG)
        res = tr_fail_at(TR_ERR_RT_CONFIG_LIMIT, __FILE__, __LINE__);
    else if (res.err == TR_ERR_NOT_REGULAR || res.err == TR_ERR_SYS)
        res = tr_fail_at(TR_ERR_NOT_FOUND, __FILE__, __LINE__);
    if (tr_ok(res))
        res = rt_config_parse(c, data.data, data.len, bad_line);
    tr_buf_free(&data);
    return res;
}

tr_result rt_config_validate(const struct rt_config *c)
{
    TR_ENSURE(c->n_children > 0, TR_ERR_RT_CONFIG_NO_CHILD);
    TR_ENSURE(c->restart_min_ms > 0 && c->restart_min_ms <= c->restart_max_ms,
              TR_ERR_RT_CONFIG_VALUE);
    return TR_SUCCESS;
}
