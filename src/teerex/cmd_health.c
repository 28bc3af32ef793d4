/* teerex health URL [--json]: GET /health and say whether the server serves. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli_http.h"
#include "cli_prove_opts.h"
#include "cli_report.h"
#include "cli_response.h"
#include "commands.h"
#include "exit_codes.h"
#include "teerex/clock.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: teerex health URL [--json]\n"
               "\n"
               "GET URL/health: prints the status, the API version and the prover versions\n"
               "the server offers, and the round-trip time.\n"
               "\n"
               "environment:\n"
               "  TEEREX_LOCAL_ADDRESS   source address to connect from\n"
               "\n"
               "exit codes: 0 healthy, 2 usage, 3 network, 4 not healthy (non-200 status,\n"
               "            status other than \"ok\" such as \"not_ready\" or \"draining\",\n"
               "            with the server's reasons, or a malformed answer)\n");
}

static const struct option LONG_OPTS[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static tr_result check(const char *base, const struct cli_http_opts *http,
                       struct cli_http_response *resp, struct cli_health *h, double *ms)
{
    struct tr_buf url;
    tr_buf_init(&url, 8192);
    tr_result res = TR_SUCCESS;
    uint64_t t0 = tr_mono_us();
    TR_TRY(cli_url_join(base, "/health", &url));
    TR_TRY(cli_http_get((const char *)url.data, http, resp));
    *ms = tr_ms_since(t0);
    TR_CHECK(resp->status == 200, TR_ERR_CLIENT_HTTP_STATUS);
    TR_TRY(cli_parse_health(resp->body.data, resp->body.len, h));
    TR_CHECK(h->ok, TR_ERR_CLIENT_UNHEALTHY);
out:
    tr_buf_free(&url);
    return res;
}

int cmd_health(int argc, char **argv)
{
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", LONG_OPTS, NULL)) != -1) {
        if (c == 'j') {
            json = 1;
        } else if (c == 'h') {
            usage(stdout);
            return TEEREX_EXIT_OK;
        } else {
            usage(stderr);
            return TEEREX_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc ||
        (strncmp(argv[optind], "http://", 7) != 0 && strncmp(argv[optind], "https://", 8) != 0)) {
        usage(stderr);
        return TEEREX_EXIT_USAGE;
    }
    const char *base = argv[optind];
    struct cli_http_opts http = {0};
    cli_http_opts_from_env(&http);
    struct cli_http_response resp;
    struct cli_health h;
    double ms = 0;
    memset(&h, 0, sizeof(h));
    h.api_version = -1;
    cli_http_response_init(&resp, (size_t)64 * 1024);
    tr_result res = cli_http_global_init();
    if (tr_ok(res))
        res = check(base, &http, &resp, &h, &ms);
    int code = tr_ok(res) ? TEEREX_EXIT_OK : cli_exit_code(res.err);
    if (json) {
        json_t *names = json_array();
        for (size_t i = 0; i < h.n_names; i++)
            json_array_append_new(names, json_string(h.names[i]));
        json_t *j =
            json_pack("{s:b,s:s,s:I,s:s,s:f,s:I,s:o,s:i}", "ok", tr_ok(res), "url", base, "status",
                      (json_int_t)resp.status, "server_status", h.status, "ms", ms, "api_version",
                      (json_int_t)h.api_version, "available_versions", names, "exit", code);
        if (h.reasons[0])
            json_object_set_new(j, "reasons", json_string(h.reasons));
        if (!tr_ok(res))
            json_object_set_new(j, "error", json_string(tr_err_name(res.err)));
        if (!tr_ok(res) && resp.error[0])
            json_object_set_new(j, "detail", json_string(resp.error));
        json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(j);
    } else if (tr_ok(res)) {
        printf("%s: ok (api_version %ld, versions [%s]) in %.1f ms\n", base, h.api_version,
               h.versions, ms);
    } else if (res.err == TR_ERR_CLIENT_NETWORK) {
        fprintf(stderr, "%s: unreachable: %s\n", base, resp.error);
    } else if (res.err == TR_ERR_CLIENT_UNHEALTHY) {
        fprintf(stderr, "%s: NOT healthy: status \"%s\"%s%s\n", base, h.status,
                h.reasons[0] ? ": " : "", h.reasons);
    } else {
        fprintf(stderr, "%s: NOT healthy: HTTP %ld, %s\n", base, resp.status, tr_err_desc(res.err));
    }
    cli_http_response_free(&resp);
    cli_http_global_cleanup();
    return code;
}
