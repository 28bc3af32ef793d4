/* JSON-lines logging on jansson (see include/teerex/log.h). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "teerex/log.h"

static const char *component = "teerex";
static enum tr_log_level min_level = TR_LOG_INFO;
static int log_fd = 2;

void tr_log_set_component(const char *name)
{
    component = name;
}
void tr_log_set_level(enum tr_log_level level)
{
    min_level = level;
}
void tr_log_set_fd(int fd)
{
    log_fd = fd;
}

static const char *LEVELS[] = {"debug", "info", "warn", "error", "off"};

int tr_log_level_parse(const char *s)
{
    for (int i = 0; i <= TR_LOG_OFF; i++) {
        if (strcmp(s, LEVELS[i]) == 0)
            return i;
    }
    return -1;
}

static void emit(enum tr_log_level level, const char *event, json_t *fields)
{
    struct timespec ts;
    struct tm tm;
    char when[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);

    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "ts", json_string(when));
    json_object_set_new(o, "level", json_string(LEVELS[level]));
    json_object_set_new(o, "component", json_string(component));
    json_object_set_new(o, "event", json_string(event));
    if (fields && json_is_object(fields))
        json_object_update(o, fields);
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!line)
        return;
    size_t len = strlen(line);
    line[len] = '\n'; /* overwrite the NUL: one write() per line */
    const char *p = line;
    size_t left = len + 1;
    while (left > 0) {
        ssize_t w = write(log_fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    free(line);
}

void tr_log(enum tr_log_level level, const char *event, const char *fmt, ...)
{
    if (level < min_level || level >= TR_LOG_OFF)
        return;
    json_t *fields = NULL;
    if (fmt) {
        va_list ap;
        json_error_t jerr;
        va_start(ap, fmt);
        fields = json_vpack_ex(&jerr, 0, fmt, ap);
        va_end(ap);
        if (!fields)
            fields = json_pack("{s:s}", "log_format_error", jerr.text);
    }
    emit(level, event, fields);
    json_decref(fields);
}

void tr_log_result(enum tr_log_level level, const char *event, tr_result r)
{
    const struct tr_error_info *e = tr_last_error();
    if (e->err == r.err && e->file) {
        tr_log(level, event, "{s:s,s:s,s:s,s:i,s:s}", "error", tr_err_name(r.err), "detail",
               tr_err_desc(r.err), "file", e->file, "line", e->line, "openssl", e->ossl);
    } else {
        tr_log(level, event, "{s:s,s:s}", "error", tr_err_name(r.err), "detail",
               tr_err_desc(r.err));
    }
}
