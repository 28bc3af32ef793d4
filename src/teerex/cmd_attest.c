/* teerex attest verify|show: check or print an AWS Nitro attestation
 * document from a file (raw COSE bytes, base64 text, or a saved
 * /attestation JSON answer) or from a server URL (GET URL/attestation). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_attest_out.h"
#include "cli_expect.h"
#include "cli_http.h"
#include "cli_prove_opts.h"
#include "cli_response.h"
#include "commands.h"
#include "exit_codes.h"
#include "teerex/attest.h"
#include "teerex/codec.h"
#include "teerex/file.h"

#define MAX_ATTEST_INPUT ((size_t)1 << 20)
#define MAX_BB 16

static void usage(FILE *f)
{
    fprintf(f, "usage: teerex attest verify FILE|URL [options]\n"
               "       teerex attest show FILE|URL [--json]\n"
               "\n"
               "FILE is a raw COSE_Sign1 document, its base64, or a saved /attestation JSON\n"
               "answer ('-' reads stdin). URL is a tee-rex server: GET URL/attestation.\n"
               "\n"
               "verify checks, in order: CBOR/COSE (ES384), payload fields, the certificate\n"
               "chain from the pinned AWS Nitro Enclaves Root G1 (or --root), the signature,\n"
               "freshness, and the expectations below. show decodes without verifying.\n"
               "\n"
               "options:\n"
               "  --pcr N=HEX           expect PCR N (0-31) to equal HEX (repeatable; the same N\n"
               "                        twice: either value, e.g. the old and the new image\n"
               "                        during a rollout)\n"
               "  --nonce HEX           expect this nonce (with a URL: also ask for it)\n"
               "  --max-age DUR         freshness limit (default 5m; 300, 90s, 5m, 1h, 250ms)\n"
               "  --at TIME             check at TIME: RFC 3339, Unix seconds, or 'doc' for the\n"
               "                        document's own timestamp (default: now)\n"
               "  --root PEM            also trust this root certificate (e.g. the NSM\n"
               "                        emulator's NSM_EMU_DIR/root.pem)\n"
               "  --expect-bb V=DIGEST  expect prover version V with this bundle digest in\n"
               "                        user_data (`teerex bb digest`)\n"
               "  --require-pinned      expect the pinned bundle policy in user_data (the\n"
               "                        enclave runs only bundles its image lists)\n"
               "  --require-key         fail when the document carries no public_key\n"
               "  --allow-debug-mode    accept an all-zero PCR0 (an enclave started with\n"
               "                        --debug-mode, whose memory the host can read);\n"
               "                        refused by default\n"
               "  --json                print the result as JSON\n"
               "\n"
               "exit codes: 0 every check passed, 1 other failure, 2 usage, 3 network,\n"
               "  4 server error, 5 server in standard mode (no document), and\n"
               "  10 INVALID_COSE        11 INVALID_DOCUMENT   12 CHAIN_FAILED\n"
               "  13 SIGNATURE_FAILED    14 EXPIRED (certificate validity or max age)\n"
               "  15 PCR_MISMATCH        16 NONCE_MISMATCH     17 MISSING_KEY (absent or\n"
               "  not the served key)    18 BB_VERSION_MISMATCH  19 DEBUG_MODE (all-zero PCRs)\n"
               "\n"
               "Without --pcr, verify only proves that *some* Nitro enclave made the document,\n"
               "not which code runs in it: a loud warning says so. Pin PCR0 (or PCR2) from the\n"
               "release's pcrs.json (docs/VERIFY.md).\n");
}

struct attest_opts {
    const char *source;
    bool json, verify;
    struct attest_expect exp;
    struct attest_pcr_expect pcrs[ATTEST_MAX_PCRS];
    struct attest_bb_expect bb[MAX_BB];
    struct tr_buf nonce, root;
};

__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "teerex attest: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see teerex attest --help)\n");
    va_end(ap);
    return TEEREX_EXIT_USAGE;
}

/* PATH, or standard input for "-", up to out's own limit. */
static bool read_file(const char *path, struct tr_buf *out)
{
    tr_result r = strcmp(path, "-") == 0 ? tr_fd_read_all(STDIN_FILENO, out->max, out)
                                         : tr_file_read(path, out->max, 0, out);
    return tr_ok(r);
}

static int parse_pcr(const char *arg, struct attest_opts *o)
{
    if (o->exp.n_pcrs >= ATTEST_MAX_PCRS)
        return bad_usage("too many --pcr (at most %d)", ATTEST_MAX_PCRS);
    if (!tr_ok(cli_parse_pcr(arg, &o->pcrs[o->exp.n_pcrs])))
        return bad_usage("bad --pcr '%s' (N=HEX: N 0-31, 32/48/64-byte hex)", arg);
    o->exp.n_pcrs++;
    return -1;
}

static int parse_bb(const char *arg, struct attest_opts *o)
{
    if (o->exp.n_bb >= MAX_BB)
        return bad_usage("too many --expect-bb (at most %d)", MAX_BB);
    if (!tr_ok(cli_parse_bb(arg, &o->bb[o->exp.n_bb])))
        return bad_usage("bad --expect-bb '%s' (VERSION=SHA256, 64 hex digits)", arg);
    o->exp.n_bb++;
    return -1;
}

/* Returns -1 to go on, else an exit code. */
static int parse_opts(int argc, char **argv, struct attest_opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = -1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return TEEREX_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        } else if (strcmp(a, "--require-key") == 0 && o->verify) {
            o->exp.require_public_key = true;
            continue;
        } else if (strcmp(a, "--allow-debug-mode") == 0 && o->verify) {
            o->exp.refuse_debug_mode = false;
            continue;
        } else if (strcmp(a, "--require-pinned") == 0 && o->verify) {
            o->exp.require_pinned = true;
            continue;
        } else if (a[0] == '-' && a[1] == '-' && o->verify && v == NULL) {
            return bad_usage("%s needs a value", a);
        } else if (strcmp(a, "--pcr") == 0 && o->verify) {
            rc = parse_pcr(v, o);
        } else if (strcmp(a, "--expect-bb") == 0 && o->verify) {
            rc = parse_bb(v, o);
        } else if (strcmp(a, "--nonce") == 0 && o->verify) {
            tr_buf_clear(&o->nonce);
            if (!tr_ok(tr_hex_decode(v, strlen(v), &o->nonce)))
                return bad_usage("bad --nonce '%s' (hex, at most 1024 bytes)", v);
            o->exp.nonce = o->nonce.data ? o->nonce.data : (const uint8_t *)"";
            o->exp.nonce_len = o->nonce.len;
        } else if (strcmp(a, "--max-age") == 0 && o->verify) {
            if (!tr_ok(tr_parse_duration_ms(v, &o->exp.max_age_ms)) || o->exp.max_age_ms == 0)
                return bad_usage("bad --max-age '%s'", v);
        } else if (strcmp(a, "--at") == 0 && o->verify) {
            if (!tr_ok(attest_parse_time(v, &o->exp.at, &o->exp.at_ms)))
                return bad_usage("bad --at '%s' (RFC 3339, Unix seconds or doc)", v);
        } else if (strcmp(a, "--root") == 0 && o->verify) {
            tr_buf_clear(&o->root);
            if (!read_file(v, &o->root) || !tr_ok(tr_buf_append_u8(&o->root, 0)))
                return bad_usage("cannot read --root '%s'", v);
            o->exp.extra_root_pem = (const char *)o->root.data;
        } else if (a[0] == '-' && a[1] != '\0') {
            return bad_usage("unknown option '%s'", a);
        } else if (o->source == NULL) {
            o->source = a;
            continue;
        } else {
            return bad_usage("unexpected argument '%s'", a);
        }
        if (rc != -1)
            return rc;
        i++;
    }
    if (o->source == NULL)
        return bad_usage("%s", "missing FILE or URL");
    return -1;
}

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Fetches URL/attestation (with ?nonce= when one is expected). */
static tr_result fetch(const struct attest_opts *o, struct cli_attestation *att)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf url, hex;
    struct cli_http_response resp;
    struct cli_http_opts http;
    memset(&http, 0, sizeof(http));
    cli_http_opts_from_env(&http);
    http.max_response = MAX_ATTEST_INPUT;
    http.timeout_ms = 60000;
    tr_buf_init(&url, 8192);
    tr_buf_init(&hex, 2048);
    cli_http_response_init(&resp, MAX_ATTEST_INPUT);
    size_t sl = strlen(o->source);
    bool has_path = sl >= 12 && strcmp(o->source + sl - 12, "/attestation") == 0;
    if (has_path)
        TR_TRY(tr_buf_append_str(&url, o->source));
    else
        TR_TRY(cli_url_join(o->source, "/attestation", &url));
    if (o->exp.nonce != NULL && o->exp.nonce_len > 0) {
        TR_TRY(tr_hex_encode(o->exp.nonce, o->exp.nonce_len, &hex));
        if (url.len > 0 && url.data[url.len - 1] == '\0')
            url.len--;
        TR_TRY(tr_buf_append_str(&url, "?nonce="));
        TR_TRY(tr_buf_append(&url, hex.data, hex.len));
    }
    TR_TRY(tr_buf_append_u8(&url, 0));
    TR_TRY(cli_http_global_init());
    res = cli_http_get((const char *)url.data, &http, &resp);
    if (!tr_ok(res)) {
        fprintf(stderr, "teerex attest: %s: %s\n", (const char *)url.data, resp.error);
        goto out;
    }
    if (resp.status != 200) {
        fprintf(stderr, "teerex attest: %s: HTTP %ld\n", (const char *)url.data, resp.status);
        TR_FAIL(TR_ERR_CLIENT_HTTP_STATUS);
    }
    TR_TRY(cli_parse_attestation(resp.body.data, resp.body.len, att));
out:
    cli_http_response_free(&resp);
    tr_buf_free(&url);
    tr_buf_free(&hex);
    return res;
}

static bool looks_base64(const struct tr_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        if (!isalnum(c) && c != '+' && c != '/' && c != '=' && !isspace(c))
            return false;
    }
    return b->len > 0;
}

/* Reads FILE: JSON answer, base64 text or raw bytes. */
static tr_result load_file(const char *path, struct cli_attestation *att)
{
    struct tr_buf raw, clean;
    tr_buf_init(&raw, MAX_ATTEST_INPUT);
    tr_buf_init(&clean, MAX_ATTEST_INPUT);
    tr_result res = TR_SUCCESS;
    if (!read_file(path, &raw)) {
        fprintf(stderr, "teerex attest: cannot read %s\n", path);
        TR_FAIL(TR_ERR_IO);
    }
    size_t i = 0;
    while (i < raw.len && isspace(raw.data[i]))
        i++;
    if (i < raw.len && raw.data[i] == '{') {
        TR_TRY(cli_parse_attestation(raw.data, raw.len, att));
    } else if (looks_base64(&raw)) {
        for (size_t j = 0; j < raw.len; j++) {
            if (!isspace(raw.data[j]))
                TR_TRY(tr_buf_append_u8(&clean, raw.data[j]));
        }
        att->mode = CLI_MODE_NITRO;
        TR_TRY(tr_b64_decode((const char *)clean.data, clean.len, &att->document));
    } else {
        att->mode = CLI_MODE_NITRO;
        TR_TRY(tr_buf_append(&att->document, raw.data, raw.len));
    }
out:
    tr_buf_free(&raw);
    tr_buf_free(&clean);
    return res;
}

int cmd_attest(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? TEEREX_EXIT_USAGE : TEEREX_EXIT_OK;
    }
    struct attest_opts o;
    memset(&o, 0, sizeof(o));
    if (strcmp(argv[1], "verify") == 0)
        o.verify = true;
    else if (strcmp(argv[1], "show") != 0)
        return bad_usage("unknown subcommand '%s' (verify or show)", argv[1]);
    o.exp.pcrs = o.pcrs;
    o.exp.bb = o.bb;
    o.exp.refuse_debug_mode = true;
    tr_buf_init(&o.nonce, TR_NSM_MAX_NONCE);
    tr_buf_init(&o.root, 64 * 1024);
    struct cli_attestation att;
    cli_attestation_init(&att);
    struct attest_result r;
    attest_result_init(&r);
    int code = parse_opts(argc, argv, &o);
    if (code != -1)
        goto done;
    bool url = is_url(o.source);
    tr_result res = url ? fetch(&o, &att) : load_file(o.source, &att);
    if (tr_ok(res) && att.mode != CLI_MODE_NITRO) {
        fprintf(stderr, "teerex attest: the server runs in standard mode: no attestation "
                        "document\n");
        res = tr_fail_at(TR_ERR_CLIENT_UNATTESTED, __FILE__, __LINE__);
    }
    if (!tr_ok(res)) {
        code = cli_exit_code(res.err);
        if (o.json)
            cli_attest_print_error(res.err);
        goto done;
    }
    if (url && o.verify) { /* the served key must be the attested one */
        o.exp.public_key = att.public_key.data ? att.public_key.data : (const uint8_t *)"";
        o.exp.public_key_len = att.public_key.len;
    }
    if (o.verify)
        res = attest_verify(att.document.data, att.document.len, &o.exp, &r);
    else
        res = attest_doc_decode(att.document.data, att.document.len, &r);
    code = tr_ok(res) ? TEEREX_EXIT_OK : cli_exit_code(res.err);
    if (o.verify && tr_ok(res))
        cli_attest_warn_unpinned(&r, o.exp.n_pcrs);
    cli_attest_print(&r, res.err, code, o.verify, o.json);
done:
    attest_result_free(&r);
    cli_attestation_free(&att);
    tr_buf_free(&o.nonce);
    tr_buf_free(&o.root);
    return code;
}
