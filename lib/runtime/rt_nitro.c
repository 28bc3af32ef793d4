/* nitro-cli describe-enclaves (see rt_nitro.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rt_nitro.h"
#include "teerex/clock.h"
#include "teerex/proc.h"

tr_result rt_nitro_parse_cid(const uint8_t *json, size_t n, const char *name, uint32_t *cid)
{
    tr_result res = TR_SUCCESS;
    *cid = 0;
    TR_ENSURE(n <= RT_NITRO_MAX_OUTPUT, TR_ERR_RT_NITRO_JSON);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)json, n, JSON_REJECT_DUPLICATES, &jerr);
    TR_ENSURE(root != NULL, TR_ERR_RT_NITRO_JSON);
    TR_CHECK(json_is_array(root), TR_ERR_RT_NITRO_JSON);
    size_t found = 0;
    size_t i;
    json_t *e;
    json_array_foreach(root, i, e)
    {
        TR_CHECK(json_is_object(e), TR_ERR_RT_NITRO_JSON);
        const json_t *jn = json_object_get(e, "EnclaveName");
        const json_t *jc = json_object_get(e, "EnclaveCID");
        const json_t *js = json_object_get(e, "State");
        TR_CHECK(json_is_string(jn) && json_is_integer(jc) && json_is_string(js),
                 TR_ERR_RT_NITRO_JSON);
        json_int_t c = json_integer_value(jc);
        /* CIDs 0-2 are hypervisor, local and host; never an enclave. */
        TR_CHECK(c >= 3 && c < (json_int_t)UINT32_MAX, TR_ERR_RT_NITRO_JSON);
        if (strcmp(json_string_value(jn), name) != 0 ||
            strcasecmp(json_string_value(js), "RUNNING") != 0)
            continue;
        found++;
        *cid = (uint32_t)c;
    }
    TR_CHECK(found > 0, TR_ERR_RT_NITRO_NOT_FOUND);
    if (found > 1) {
        *cid = 0;
        TR_FAIL(TR_ERR_RT_NITRO_AMBIGUOUS);
    }
out:
    if (!tr_ok(res))
        *cid = 0;
    json_decref(root);
    return res;
}

tr_result rt_nitro_lookup(const char *prog, const char *name, int timeout_ms, uint32_t *cid)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf out;
    struct tr_proc proc = {.pid = 0, .pidfd = -1};
    int p[2] = {-1, -1};
    *cid = 0;
    tr_buf_init(&out, RT_NITRO_MAX_OUTPUT);
    TR_CHECK(pipe2(p, O_CLOEXEC) == 0, TR_ERR_SYS);
    char *const argv[] = {(char *)prog, (char *)"describe-enclaves", NULL};
    struct tr_proc_spec spec;
    tr_proc_spec_init(&spec);
    spec.path = prog;
    spec.argv = argv;
    spec.search_path = true;
    spec.fd_out = p[1];
    spec.fd_err = STDERR_FILENO; /* nitro-cli's complaints reach our log */
    tr_result sr = tr_proc_spawn(&spec, &proc);
    close(p[1]);
    p[1] = -1;
    TR_CHECK(tr_ok(sr), TR_ERR_RT_NITRO_CLI);
    uint64_t deadline = tr_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = tr_mono_ms();
        TR_CHECK(now < deadline, TR_ERR_TIMEOUT);
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        int k = poll(&pf, 1, (int)(deadline - now));
        if (k < 0 && errno == EINTR)
            continue;
        TR_CHECK(k >= 0, TR_ERR_SYS);
        if (k == 0)
            continue;
        TR_CHECK(out.len < RT_NITRO_MAX_OUTPUT, TR_ERR_RT_NITRO_JSON);
        size_t room = RT_NITRO_MAX_OUTPUT - out.len < 16384 ? RT_NITRO_MAX_OUTPUT - out.len : 16384;
        TR_TRY(tr_buf_reserve(&out, room));
        ssize_t r = read(p[0], out.data + out.len, room);
        if (r < 0 && errno == EINTR)
            continue;
        TR_CHECK(r >= 0, TR_ERR_SYS);
        if (r == 0)
            break;
        out.len += (size_t)r;
    }
    TR_TRY(tr_proc_wait(&proc, deadline)); /* it closed its output: it is exiting */
    int status = tr_proc_reap(&proc);
    TR_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, TR_ERR_RT_NITRO_CLI);
    TR_TRY(rt_nitro_parse_cid(out.data, out.len, name, cid));
out:
    (void)tr_proc_reap(&proc); /* kills its group if it is still there */
    if (p[0] >= 0)
        close(p[0]);
    tr_buf_free(&out);
    return res;
}
