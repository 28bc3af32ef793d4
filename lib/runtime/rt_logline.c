/* Log line check (see rt_logline.h), on jansson. */
#include <string.h>

#include <jansson.h>

#include "rt_logline.h"

static int prio_of(const char *level)
{
    if (level == NULL)
        return 6;
    if (strcmp(level, "error") == 0)
        return 3;
    if (strcmp(level, "warn") == 0)
        return 4;
    if (strcmp(level, "debug") == 0)
        return 7;
    return 6;
}

tr_result rt_logline_check(const uint8_t *p, size_t n, struct rt_logline *out)
{
    memset(out, 0, sizeof(*out));
    if (n > 0 && p[n - 1] == '\n')
        n--;
    TR_ENSURE(n <= RT_LOGLINE_MAX, TR_ERR_RT_LOG_LINE_LONG);
    /* Exactly an object: no leading or trailing blanks, no second value. */
    TR_ENSURE(n >= 2 && p[0] == '{' && p[n - 1] == '}', TR_ERR_RT_LOG_LINE);
    json_error_t err;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &err);
    TR_ENSURE(j != NULL, TR_ERR_RT_LOG_LINE);
    if (!json_is_object(j)) {
        json_decref(j);
        TR_BAIL(TR_ERR_RT_LOG_LINE);
    }
    out->syslog_prio = prio_of(json_string_value(json_object_get(j, "level")));
    out->len = n;
    json_decref(j);
    return TR_SUCCESS;
}
