/* `teerex prove` options (cli_prove_opts.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_expect.h"
#include "cli_prove_opts.h"
#include "exit_codes.h"
#include "teerex/codec.h"
#include "teerex/http.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: teerex prove --url URL --input FILE [options]\n"
            "\n"
            "Fetches the server's attestation with a fresh random nonce, verifies it (nitro\n"
            "mode) or warns loudly (standard mode), encrypts the input to the attested key\n"
            "(OpenPGP, PKESK v6 + SEIPD v2 AES-256-OCB), sends it to POST /prove and writes\n"
            "the proof. Phases: fetch-attestation, encrypt, transmit, proving, receive.\n"
            "\n"
            "  --url URL              server base URL (http:// or https://)\n"
            "  --input FILE           prover input: chonk: ivc-inputs.msgpack;\n"
            "                         ultra_honk: a directory with program.json + witness.gz,\n"
            "                         or a ready TRXC container file\n"
            "  --out FILE             where to write the proof (default proof.bin): 4-byte\n"
            "                         big-endian field count + proof, as the SDK returns it;\n"
            "                         ultra_honk also writes FILE.bb/{proof,vk,public_inputs}\n"
            "                         for `bb verify`\n"
            "  --aztec-version V      prover version to use (x-aztec-version header)\n"
            "  --scheme S             chonk (default) or ultra_honk (x-prover-scheme header)\n"
            "  --require-attestation  refuse a server in standard mode (no attestation)\n"
            "  --pcr N=HEX            expected PCR N (repeatable; the same N twice: either\n"
            "                         value, for an image rollout); without it a loud\n"
            "                         warning: any enclave image would pass\n"
            "  --allow-debug-mode     accept an all-zero PCR0 (an enclave started with\n"
            "                         --debug-mode: the host can read its memory); refused\n"
            "                         by default (exit 19)\n"
            "  --expect-bb V=DIGEST   the attested prover list must hold version V with this\n"
            "                         bundle digest (`teerex bb digest`; repeatable)\n"
            "  --require-pinned       the enclave must run only the bundles its measured\n"
            "                         image lists (user_data policy \"pinned\")\n"
            "  --root PEM             trust this root certificate instead of the pinned AWS\n"
            "                         Nitro Enclaves root (e.g. the NSM emulator's root.pem)\n"
            "  --max-age DUR          maximum document age (300s, 5m, ...; default 5m)\n"
            "  --json                 one JSON object on stdout (phases, proof size, PCR0, ...)\n"
            "\n"
            "Progress goes to stderr: a live line on a terminal, plain lines otherwise.\n"
            "Retries: 2 on network errors and 5xx (1 s, 2 s apart); on `400 Failed to\n"
            "decrypt` the attestation is fetched again once and the input re-encrypted.\n"
            "\n"
            "environment:\n"
            "  TEEREX_LOCAL_ADDRESS   source address to connect from (e.g. 127.0.0.7)\n"
            "\n"
            "exit codes:\n"
            "  0 proof written   1 other failure   2 usage or unreadable input\n"
            "  3 network         4 server error (4xx/5xx, malformed answer)\n"
            "  5 server not attested (standard mode under --require-attestation)\n"
            "  10+class attestation failed: 10 invalid COSE, 11 invalid document,\n"
            "  12 chain, 13 signature, 14 expired/stale, 15 PCR mismatch, 16 nonce mismatch,\n"
            "  17 missing or mismatching key, 18 bb version mismatch, 19 debug-mode enclave\n"
            "\n"
            "On a server error the answer's `error` and `detail` are printed, with the\n"
            "request id; on success the prover version the server used (x-prover-version).\n");
}

enum {
    OPT_URL = 256,
    OPT_INPUT,
    OPT_OUT,
    OPT_AZTEC,
    OPT_SCHEME,
    OPT_REQ,
    OPT_PCR,
    OPT_BB,
    OPT_ROOT,
    OPT_MAXAGE,
    OPT_JSON,
    OPT_DEBUG,
    OPT_PINNED,
    OPT_HELP
};

static const struct option LONG_OPTS[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"input", required_argument, NULL, OPT_INPUT},
    {"out", required_argument, NULL, OPT_OUT},
    {"aztec-version", required_argument, NULL, OPT_AZTEC},
    {"scheme", required_argument, NULL, OPT_SCHEME},
    {"require-attestation", no_argument, NULL, OPT_REQ},
    {"pcr", required_argument, NULL, OPT_PCR},
    {"expect-bb", required_argument, NULL, OPT_BB},
    {"root", required_argument, NULL, OPT_ROOT},
    {"max-age", required_argument, NULL, OPT_MAXAGE},
    {"json", no_argument, NULL, OPT_JSON},
    {"allow-debug-mode", no_argument, NULL, OPT_DEBUG},
    {"require-pinned", no_argument, NULL, OPT_PINNED},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "teerex prove: invalid %s '%s' (see teerex prove --help)\n", what, arg);
    return TEEREX_EXIT_USAGE;
}

void cli_http_opts_from_env(struct cli_http_opts *h)
{
    const char *a = getenv("TEEREX_LOCAL_ADDRESS");
    h->local_address = (a && *a) ? a : NULL;
    h->timeout_ms = 30000;
}

int prove_opts_parse(int argc, char **argv, struct prove_opts *o)
{
    memset(o, 0, sizeof(*o));
    tr_buf_init(&o->root_pem, 64 * 1024);
    o->out = "proof.bin";
    o->scheme = CLI_SCHEME_CHONK;
    o->session.pcrs = o->pcrs;
    o->session.bb = o->bb;
    cli_http_opts_from_env(&o->session.http);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", LONG_OPTS, NULL)) != -1) {
        switch (c) {
        case OPT_URL:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
                return bad("--url", optarg);
            o->session.url = optarg;
            break;
        case OPT_INPUT: o->input = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_AZTEC:
            if (!tr_ok(http_version_validate(optarg)))
                return bad("--aztec-version", optarg);
            o->aztec_version = optarg;
            break;
        case OPT_SCHEME:
            if (!tr_ok(cli_scheme_parse(optarg, &o->scheme)))
                return bad("--scheme", optarg);
            break;
        case OPT_REQ: o->session.require_attestation = true; break;
        case OPT_PCR:
            if (o->session.n_pcrs == ATTEST_MAX_PCRS ||
                !tr_ok(cli_parse_pcr(optarg, &o->pcrs[o->session.n_pcrs])))
                return bad("--pcr", optarg);
            o->session.n_pcrs++;
            break;
        case OPT_BB:
            if (o->session.n_bb == sizeof(o->bb) / sizeof(o->bb[0]) ||
                !tr_ok(cli_parse_bb(optarg, &o->bb[o->session.n_bb])))
                return bad("--expect-bb", optarg);
            o->session.n_bb++;
            break;
        case OPT_ROOT:
            tr_buf_clear(&o->root_pem);
            if (!tr_ok(cli_read_file(optarg, &o->root_pem)) ||
                !tr_ok(tr_buf_append_u8(&o->root_pem, 0)))
                return bad("--root (unreadable or over 64 KiB)", optarg);
            o->session.root_pem = (const char *)o->root_pem.data;
            break;
        case OPT_MAXAGE:
            if (!tr_ok(tr_parse_duration_ms(optarg, &o->session.max_age_ms)) ||
                o->session.max_age_ms == 0)
                return bad("--max-age", optarg);
            break;
        case OPT_JSON: o->json = true; break;
        case OPT_DEBUG: o->session.allow_debug_mode = true; break;
        case OPT_PINNED: o->session.require_pinned = true; break;
        case OPT_HELP:
        case 'h': usage(stdout); return TEEREX_EXIT_OK;
        default:
            fprintf(stderr, "teerex prove: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return TEEREX_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return bad("argument", argv[optind]);
    if (!o->session.url || !o->input) {
        fprintf(stderr, "teerex prove: --url and --input are required\n");
        usage(stderr);
        return TEEREX_EXIT_USAGE;
    }
    return -1;
}

void prove_opts_free(struct prove_opts *o)
{
    tr_buf_free(&o->root_pem);
}
