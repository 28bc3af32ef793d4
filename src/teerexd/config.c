/* Environment (and --NAME=value) configuration of teerexd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "versions.h"
#include "teerex/codec.h"
#include "teerex/limits.h"
#include "teerex/log.h"

enum kind { K_STR, K_U64, K_MS, K_BOOL, K_LIST, K_SIZE };

struct opt {
    const char *name;
    enum kind kind;
    size_t off;  /* offset in struct config */
    size_t size; /* string capacity or u64 max */
    const char *def;
    const char *help;
};

#define S(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define U(f, max) offsetof(struct config, f), (size_t)(max)

static const struct opt OPTS[] = {
    {"PORT", K_STR, 0, 0, "4000", "public port when LISTEN is unset (tcp:0.0.0.0:PORT)"},
    {"LISTEN", K_STR, S(listen), "",
     "public listeners, comma-separated: tcp:HOST:PORT, unix:PATH, "
     "vsock:CID|any:PORT; prefix proxy+ when every connection starts with a PROXY v1/v2 header"},
    {"ADMIN_LISTEN", K_STR, S(admin_listen), "",
     "admin listener (POST /upload-bb, GET /admin/versions); "
     "none when unset"},
    {"OPS_LISTEN", K_STR, S(ops_listen), "",
     "operations listener for the parent only (GET /health /ready /metrics, POST|GET|DELETE "
     "/drain); when set, /metrics is no longer served on the public listeners"},
    {"TEE_MODE", K_STR, S(tee_mode), "standard", "standard | nitro | nitro-emulated"},
    {"BB_BINARY_PATH", K_STR, S(bb_binary_path), "",
     "default prover binary (default: bb from PATH)"},
    {"BB_VERSIONS_DIR", K_STR, S(bb_versions_dir), "",
     "directory of prover bundles <version>/{bb,lib/} (docs/PROTOCOL-EXT.md)"},
    {"BB_DEFAULT_VERSION", K_STR, S(bb_default_version), "",
     "the default prover's name: a bundle of BB_VERSIONS_DIR, or the name BB_BINARY_PATH "
     "is listed under (else \"default\")"},
    {"BB_POLICY", K_STR, S(bb_policy), "",
     "pinned | open: pinned runs and accepts only the bundles of BB_ALLOWED_FILE "
     "(default: pinned when TEE_MODE=nitro, else open)"},
    {"BB_ALLOWED_FILE", K_STR, S(bb_allowed_file), "",
     "the pinned policy's allow-list, 'VERSION DIGEST' per line (part of the measured image)"},
    {"BB_PROVISION", K_STR, S(bb_provision), "",
     "provisioning service asked for a missing version: vsock:3:PORT (the EC2 parent), "
     "unix:PATH or tcp:HOST:PORT (`teerex bb serve`); unset: no on-demand versions"},
    {"BB_PROVISION_TIMEOUT", K_MS, U(bb_provision_timeout_ms, 0), "3m",
     "how long a request waits for its version to be provisioned"},
    {"BB_PROVISION_RETRY", K_MS, U(bb_provision_retry_ms, 0), "60s",
     "a version that could not be provisioned is not asked for again before this"},
    {"BB_MAX_VERSIONS", K_U64, U(bb_max_versions, VERSIONS_MAX), "16",
     "installed versions past which provisioning refuses more (memory of the enclave)"},
    {"BB_VERSION_FALLBACK", K_BOOL, S(bb_version_fallback), "0",
     "1: prove a request for an unobtainable version with the default prover "
     "(x-prover-version says so) instead of failing (the old behaviour; off by default)"},
    {"CRS_PATH", K_STR, S(crs_path), "",
     "CRS directory passed to bb (env CRS_PATH and -c for ultra_honk)"},
    {"HARDWARE_CONCURRENCY", K_STR, S(hardware_concurrency), "", "passed to bb's environment"},
    {"PROVE_SCHEMES", K_STR, S(schemes), "chonk,ultra_honk",
     "schemes served (x-prover-scheme; chonk is the SDK's): the start-up checks ask the CRS "
     "for what these need, another scheme is a 400"},
    {"PROVE_CMD_CHONK", K_STR, S(cmd_chonk),
     "{bb} prove --scheme chonk --ivc_inputs_path {dir}/ivc-inputs.msgpack -o {dir}/output",
     "command template of the chonk scheme ({bb} {dir} {crs}; split at spaces, no shell)"},
    {"PROVE_CMD_ULTRA_HONK", K_STR, S(cmd_ultra_honk),
     "{bb} prove --scheme ultra_honk -b {dir}/program.json -w {dir}/witness.gz -o {dir}/output "
     "--write_vk",
     "command template of the ultra_honk scheme (-c {crs} is appended when CRS_PATH is set)"},
    {"PROVE_WORK_DIR", K_STR, S(work_dir), "",
     "parent of the private per-request directories "
     "(default /dev/shm when usable, else $TMPDIR or /tmp)"},
    {"PROVE_CONCURRENCY", K_U64, U(prove_concurrency, 64), "1", "proofs run at the same time"},
    {"PROVE_QUEUE_LIMIT", K_U64, U(prove_queue_limit, 100000), "16",
     "requests waiting for a prover before 503"},
    {"PROVE_TIMEOUT", K_MS, U(prove_timeout_ms, 0), "280s",
     "deadline of a POST /prove from its arrival: queue wait (then 503) plus the prover run "
     "(then bb is killed, 500); under the SDK's 300 s so the client hears why"},
    {"RATE_LIMIT_MAX", K_U64, U(rate_limit_max, 1000000), "10",
     "POST /prove per client (IPv4 address, IPv6 /64) per window (0 disables; only a real "
     "loopback or unix-socket peer is exempt)"},
    {"RATE_LIMIT_WINDOW", K_MS, U(rate_limit_window_ms, 0), "1h",
     "sliding window of the rate limit"},
    {"RATE_LIMIT_CLIENTS", K_U64, U(rate_limit_clients, 1 << 20), "16384",
     "clients the rate limit remembers; when full the least recently seen is forgotten "
     "(IPv6 clients are counted per /64)"},
    {"MAX_BODY_BYTES", K_U64, U(max_body_bytes, (size_t)1 << 40), "52428800",
     "POST /prove body limit (413 past it)"},
    {"MAX_INFLIGHT_BYTES", K_U64, U(max_inflight_bytes, (size_t)1 << 40), "536870912",
     "POST /prove bytes held at once (the body, or its plaintext decrypted as it "
     "arrives), being read, waiting for a prover or proved "
     "(503 + Retry-After past it, before the body is read; 0 = no limit)"},
    {"MAX_UPLOAD_BYTES", K_U64, U(max_upload_bytes, (size_t)1 << 40), "536870912",
     "POST /upload-bb body limit"},
    {"HTTP_IDLE_TIMEOUT", K_U64, U(idle_timeout_s, 86400), "60",
     "seconds a connection may stay silent"},
    {"HTTP_HEADER_TIMEOUT", K_MS, U(header_timeout_ms, 0), "10s",
     "time to send a complete request head (slow-loris guard)"},
    {"HTTP_BODY_TIMEOUT", K_MS, U(body_timeout_ms, 0), "10s",
     "a request body must be complete within this plus its size / HTTP_BODY_MIN_RATE "
     "after the head, else the connection is closed"},
    {"HTTP_BODY_MIN_RATE", K_U64, U(body_min_rate, (size_t)1 << 40), "32768",
     "bytes per second a request body must average beyond HTTP_BODY_TIMEOUT "
     "(50 MiB: 10 s + 27 min; 0 = no body deadline)"},
    {"MAX_CONNECTIONS", K_U64, U(max_connections, 65536), "1024",
     "open connections per listener set"},
    {"PER_IP_CONNECTIONS", K_U64, U(per_ip_connections, 65536), "256",
     "open connections per client IP"},
    {"SHUTDOWN_GRACE", K_MS, U(shutdown_grace_ms, 0), "300s",
     "SIGTERM: time for every accepted proof, running or queued, before the rest are "
     "cancelled (>= PROVE_TIMEOUT covers them all)"},
    {"RETRY_AFTER", K_U64, U(retry_after_s, 86400), "30",
     "Retry-After seconds of a 503 (queue full)"},
    {"PROVER_SANDBOX_DISABLE", K_STR, S(sandbox_disable), "",
     "sandbox parts to turn off (comma-separated: user,nnp,seccomp,rlimits,pid,net,mount,ipc,"
     "uts, or all); nitro mode refuses to start when a part it needs is unavailable unless it is "
     "listed here"},
    {"PROVER_UID", K_U64, U(prover_uid, 4294967294u), "65534", "uid the prover runs as"},
    {"PROVER_GID", K_U64, U(prover_gid, 4294967294u), "65534", "gid the prover runs as"},
    {"PROVER_MEMORY_LIMIT", K_SIZE, U(prover_memory, 0), "0",
     "prover address-space limit, e.g. 16g (0: 16 GiB, or the machine's memory when less)"},
    {"PROVER_MAX_PROCS", K_U64, U(prover_max_procs, 1000000), "1024",
     "threads and processes of the prover uid (all provers together)"},
    {"PROVER_MAX_FILES", K_U64, U(prover_max_files, 1048576), "1024", "open files of one prover"},
    {"PROVER_MAX_FILE_SIZE", K_SIZE, U(prover_max_file_size, 0), "256m",
     "largest file a prover may write"},
    {"PROVER_SANDBOX_RO_PATHS", K_STR, S(sandbox_ro_paths), "",
     "extra paths the prover sees read-only (colon-separated)"},
    {"PROVER_HOST_LIBS", K_STR, S(host_libs),
     "/lib64:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu",
     "library directories a prover that is not a bundle sees read-only (colon-separated)"},
    {"TRUSTED_PROXIES", K_LIST, 0, 0, "",
     "addresses/CIDRs of proxies whose X-Forwarded-For entries count: the list is read from "
     "the right and the first entry not in TRUSTED_PROXIES is the client"},
    {"LOG_LEVEL", K_STR, 0, 0, "info", "debug | info | warn | error | off"},
};

void config_print_help(const char *prog)
{
    printf("usage: %s [--NAME=value ...]\n\n"
           "teerex proving server: decrypts OpenPGP-encrypted prover inputs and runs bb.\n"
           "Every setting is an environment variable; --NAME=value overrides it.\n\n",
           prog);
    for (size_t i = 0; i < sizeof(OPTS) / sizeof(OPTS[0]); i++)
        printf("  %-22s %s%s%s%s\n", OPTS[i].name, OPTS[i].help,
               OPTS[i].def[0] ? " [default: " : "", OPTS[i].def, OPTS[i].def[0] ? "]" : "");
    printf("\nNitro modes also read:\n"
           "  %-22s %s\n  %-22s %s\n  %-22s %s\n  %-22s %s\n",
           "ATTESTATION_CACHE_MS", "age of the cached document served without a nonce [60000]",
           "NSM_EMU_DIR",
           "nitro-emulated: the emulator's test PKI (root.pem for clients)"
           " [$TMPDIR/teerex-nsm-emu]",
           "NSM_EMU_PCRS", "nitro-emulated: file of 'INDEX HEX' lines setting PCRs",
           "NSM_EMU_PCR{0,1,2}_FILE",
           "nitro-emulated: PCR n = SHA-384 of that file (PCR0 default: teerexd itself)");
    printf("  TEE_MODE=nitro-emulated is for tests and demos only: its documents chain to a\n"
           "  locally generated root that no verifier trusts unless given it explicitly.\n");
    printf("\nExit codes: 0 clean shutdown (SIGTERM/SIGINT), 1 runtime failure,\n"
           "  2 usage or configuration error (unknown --NAME, bad value, unknown TEE_MODE),\n"
           "  3 TEE mode unavailable (e.g. nitro without NSM), 4 listener could not be opened.\n"
           "Signals: SIGTERM/SIGINT stop accepting, finish the proofs already accepted, running\n"
           "  or queued (SHUTDOWN_GRACE), then exit; SIGHUP rescans BB_VERSIONS_DIR.\n"
           "In an enclave no signal arrives (nitro-cli terminate-enclave sends none): drain\n"
           "through OPS_LISTEN (POST /drain, wait for GET /drain idle) before terminating.\n");
}

static const char *lookup(const char *name, int argc, char **argv)
{
    size_t nl = strlen(name);
    const char *v = getenv(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, nl) == 0 && a[2 + nl] == '=')
            v = a + 3 + nl;
    }
    return v;
}

static TR_RESULT parse_schemes(struct config *c)
{
    char buf[sizeof(c->schemes)];
    memcpy(buf, c->schemes, sizeof(buf));
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (strcmp(t, "chonk") == 0) {
            c->serve_chonk = true;
        } else if (strcmp(t, "ultra_honk") == 0) {
            c->serve_ultra_honk = true;
        } else {
            fprintf(stderr, "teerexd: PROVE_SCHEMES: unknown scheme %s (chonk, ultra_honk)\n", t);
            TR_BAIL(TR_ERR_USAGE);
        }
    }
    if (!c->serve_chonk && !c->serve_ultra_honk) {
        fprintf(stderr, "teerexd: PROVE_SCHEMES names no scheme\n");
        TR_BAIL(TR_ERR_USAGE);
    }
    return TR_SUCCESS;
}

/* "NAME=value" where NAME is in the table (a typo must not start a server
 * with a default it did not mean). */
static bool known_option(const char *arg)
{
    size_t n = (size_t)(strchr(arg, '=') - arg);
    for (size_t i = 0; i < sizeof(OPTS) / sizeof(OPTS[0]); i++) {
        if (strlen(OPTS[i].name) == n && strncmp(OPTS[i].name, arg, n) == 0)
            return true;
    }
    return false;
}

static TR_RESULT set_str(char *dst, size_t cap, const char *v, const char *name)
{
    size_t n = strlen(v);
    if (n >= cap) {
        tr_log(TR_LOG_ERROR, "config_too_long", "{s:s}", "name", name);
        TR_BAIL(TR_ERR_USAGE);
    }
    memcpy(dst, v, n + 1);
    return TR_SUCCESS;
}

/* "512", "64k", "256m", "16g", "1t" (powers of 1024). */
static TR_RESULT parse_size(const char *v, uint64_t *out)
{
    char num[32];
    size_t n = strlen(v);
    uint64_t mul = 1;
    TR_ENSURE(n > 0 && n < sizeof(num), TR_ERR_USAGE);
    const char *units = "kmgt";
    const char *u = strchr(units, v[n - 1] | 0x20);
    if (v[n - 1] >= 'A' && u) {
        for (const char *x = units; x <= u; x++)
            mul *= 1024;
        n--;
    }
    memcpy(num, v, n);
    num[n] = '\0';
    uint64_t x;
    TR_GUARD(tr_parse_u64(num, UINT64_MAX / mul, &x));
    *out = x * mul;
    return TR_SUCCESS;
}

static TR_RESULT parse_list(struct config *c, const char *v)
{
    char buf[2048];
    TR_GUARD(set_str(buf, sizeof(buf), v, "TRUSTED_PROXIES"));
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        TR_ENSURE(c->n_trusted < CONFIG_MAX_TRUSTED, TR_ERR_USAGE);
        if (!tr_ok(http_cidr_parse(t, &c->trusted[c->n_trusted]))) {
            tr_log(TR_LOG_ERROR, "config_bad_cidr", "{s:s}", "value", t);
            TR_BAIL(TR_ERR_HTTP_BAD_CIDR);
        }
        c->n_trusted++;
    }
    return TR_SUCCESS;
}

tr_result config_load(int argc, char **argv, struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || !strchr(argv[i], '=') || !known_option(argv[i] + 2)) {
            fprintf(stderr, "teerexd: unknown argument %s (see --help)\n", argv[i]);
            TR_BAIL(TR_ERR_USAGE);
        }
    }
    const char *port = "4000";
    for (size_t i = 0; i < sizeof(OPTS) / sizeof(OPTS[0]); i++) {
        const struct opt *o = &OPTS[i];
        const char *v = lookup(o->name, argc, argv);
        if (!v || !*v)
            v = o->def;
        if (strcmp(o->name, "PORT") == 0) {
            uint64_t p;
            if (!tr_ok(tr_parse_u64(v, 65535, &p))) {
                fprintf(stderr, "teerexd: PORT must be 0..65535\n");
                TR_BAIL(TR_ERR_USAGE);
            }
            port = v;
            continue;
        }
        if (strcmp(o->name, "LOG_LEVEL") == 0) {
            c->log_level = tr_log_level_parse(v);
            if (c->log_level < 0) {
                fprintf(stderr, "teerexd: LOG_LEVEL must be debug|info|warn|error|off\n");
                TR_BAIL(TR_ERR_USAGE);
            }
            continue;
        }
        char *base = (char *)c + o->off;
        uint64_t u = 0;
        switch (o->kind) {
        case K_STR: TR_GUARD(set_str(base, o->size, v, o->name)); break;
        case K_BOOL: *(bool *)base = strcmp(v, "1") == 0 || strcmp(v, "true") == 0; break;
        case K_U64:
            if (!tr_ok(tr_parse_u64(v, o->size, &u))) {
                fprintf(stderr, "teerexd: %s must be a number <= %zu\n", o->name, o->size);
                TR_BAIL(TR_ERR_USAGE);
            }
            *(uint64_t *)base = u;
            break;
        case K_MS:
            if (!tr_ok(tr_parse_duration_ms(v, &u))) {
                fprintf(stderr, "teerexd: %s must be a duration like 30s, 5m, 250ms\n", o->name);
                TR_BAIL(TR_ERR_USAGE);
            }
            *(uint64_t *)base = u;
            break;
        case K_LIST: TR_GUARD(parse_list(c, v)); break;
        case K_SIZE:
            if (!tr_ok(parse_size(v, &u))) {
                fprintf(stderr, "teerexd: %s must be a size like 512m, 16g or bytes\n", o->name);
                TR_BAIL(TR_ERR_USAGE);
            }
            *(uint64_t *)base = u;
            break;
        }
    }
    if (strcmp(c->tee_mode, "standard") != 0 && strcmp(c->tee_mode, "nitro") != 0 &&
        strcmp(c->tee_mode, "nitro-emulated") != 0) {
        fprintf(stderr, "teerexd: TEE_MODE must be standard, nitro or nitro-emulated (got %s)\n",
                c->tee_mode);
        TR_BAIL(TR_ERR_USAGE);
    }
    if (c->listen[0] == '\0')
        snprintf(c->listen, sizeof(c->listen), "tcp:0.0.0.0:%s", port);
    if (c->prove_concurrency == 0)
        c->prove_concurrency = 1;
    TR_GUARD(config_resolve_paths(c));
    TR_GUARD(parse_schemes(c));
    if (c->bb_policy[0] == '\0')
        snprintf(c->bb_policy, sizeof(c->bb_policy), "%s",
                 strcmp(c->tee_mode, "nitro") == 0 ? "pinned" : "open");
    if (strcmp(c->bb_policy, "pinned") != 0 && strcmp(c->bb_policy, "open") != 0) {
        fprintf(stderr, "teerexd: BB_POLICY must be pinned or open\n");
        TR_BAIL(TR_ERR_USAGE);
    }
    if (c->rate_limit_clients == 0)
        c->rate_limit_clients = 1;
    if (c->max_inflight_bytes != 0 && c->max_inflight_bytes < c->max_body_bytes) {
        fprintf(stderr, "teerexd: MAX_INFLIGHT_BYTES must be 0 or at least MAX_BODY_BYTES\n");
        TR_BAIL(TR_ERR_USAGE);
    }
    return TR_SUCCESS;
}
