/* teerex bb fetch VERSION and teerex bb upload: build a prover bundle for
 * a bb release, send one to a teerexd admin listener (see cli_bb.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_bb.h"
#include "cli_http.h"
#include "commands.h"
#include "exit_codes.h"
#include "teerex/clock.h"
#include "teerex/log.h"

static void fetch_usage(FILE *f)
{
    fprintf(f,
            "usage: teerex bb fetch VERSION [--out DIR] [--tar FILE] [--registry URL]\n"
            "                       [--tarball FILE [--integrity SRI]]\n"
            "                       [--cache DIR] [--debs DIR] [--debian-mirror URL]\n"
            "                       [--debian-suite NAME] [--quiet]\n"
            "\n"
            "Builds the prover bundle of @aztec/bb.js@VERSION: its amd64-linux bb (the npm\n"
            "tarball checked against the registry's sha512 integrity) with the loader and\n"
            "the libraries it needs from Debian's libc6, libstdc++6 and libgcc-s1, then runs\n"
            "`bb --version` through that loader. Same tarball and packages, same bytes and\n"
            "digest. Prints a JSON report (version, digest, bb --version, inputs).\n"
            "\n"
            "  --out DIR            write the bundle to DIR/VERSION [./bb-bundles]\n"
            "  --tar FILE           also write its deterministic archive (what upload sends)\n"
            "  --registry URL       npm registry [$TEEREX_NPM_REGISTRY, $npm_config_registry,\n"
            "                       " CLI_BB_DEFAULT_REGISTRY "]\n"
            "  --tarball FILE       use this package tarball instead of the registry (offline),\n"
            "                       checked against --integrity SRI (default: FILE.integrity,\n"
            "                       as scripts/cache-bb-inputs.sh stores it)\n"
            "  --cache DIR          npm tarballs, apt state and .debs [$TEEREX_CACHE,\n"
            "                       /var/cache/teerex as root, else ~/.cache/teerex]\n"
            "  --debs DIR           use the .deb files in DIR (one libc6, libstdc++6 and\n"
            "                       libgcc-s1 each: pinned inputs) instead of apt [$TEEREX_DEBS]\n"
            "  --debian-mirror URL  mirror apt downloads from [" CLI_BB_DEFAULT_MIRROR "]\n"
            "  --debian-suite NAME  suite of the runtime [" CLI_BB_DEFAULT_SUITE "]\n"
            "  --quiet              no progress lines (JSON, stderr)\n"
            "\n"
            "apt runs with a separate configuration under CACHE/apt-SUITE (its own sources\n"
            "list, package lists and archives): the system's apt sources are never used.\n"
            "\n"
            "exit codes: 0 ok, 1 failure, 2 usage, 3 network, 30 unknown version,\n"
            "            31 no amd64-linux binary in the package, 32 integrity mismatch,\n"
            "            33 the binary does not run, 34 a library bb needs is missing\n");
}

static void upload_usage(FILE *f)
{
    fprintf(f, "usage: teerex bb upload --to ADDR VERSION PATH\n"
               "\n"
               "Sends the bundle at PATH (a bundle directory, an executable, as made by\n"
               "`teerex bb fetch`) to a teerexd admin listener as VERSION: a deterministic\n"
               "archive with its digest in x-bb-digest, which the server checks. ADDR is\n"
               "tcp:HOST:PORT, unix:PATH, vsock:CID:PORT or an http:// URL. Prints the\n"
               "server's answer as JSON.\n"
               "\n"
               "exit codes: 0 installed with the same digest, 1 failure, 2 usage,\n"
               "            3 network, 4 the server refused (its error and detail shown)\n");
}

static const char *env_or(const char *a, const char *b, const char *def)
{
    const char *v = getenv(a);
    if (v && *v)
        return v;
    v = b ? getenv(b) : NULL;
    return v && *v ? v : def;
}

const char *cli_bb_default_cache(char *buf, size_t cap)
{
    const char *v = getenv("TEEREX_CACHE");
    if (v && *v)
        return v;
    if (geteuid() == 0)
        return "/var/cache/teerex";
    const char *home = getenv("HOME");
    snprintf(buf, cap, "%s/.cache/teerex", home && *home ? home : "/tmp");
    return buf;
}

static json_t *report(const struct cli_bb_result *r, const char *dir, const char *tar, double ms)
{
    json_t *debs = json_array();
    for (size_t i = 0; debs && i < r->debs.n; i++)
        json_array_append_new(
            debs, json_pack("{s:s,s:s}", "file", r->debs.d[i].file, "sha256", r->debs.d[i].sha256));
    return json_pack("{s:b,s:s,s:s,s:s,s:s,s:s*,s:{s:s,s:s},s:o,s:s,s:I,s:I,s:i}", "ok", 1,
                     "version", r->version, "digest", r->digest, "bb_version", r->bb_version, "dir",
                     dir, "tar", tar, "npm", "tarball", r->npm.tarball, "integrity",
                     r->npm.integrity, "debs", debs, "debs_dir", r->debs.dir, "files",
                     (json_int_t)r->files, "bytes", (json_int_t)r->bytes, "ms", (int)ms);
}

static int write_tar(const char *dir, const char *tar, struct cli_bb_why *why)
{
    struct bundle b;
    FILE *f = fopen(tar, "wb");
    tr_result r = f ? bundle_open(dir, &b) : tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
    if (tr_ok(r))
        r = bundle_tar_write(&b, fileno(f));
    if (f && fclose(f) != 0 && tr_ok(r))
        r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
    if (!tr_ok(r))
        cli_bb_say(why, "cannot write the archive %s: %s", tar, tr_err_desc(r.err));
    return tr_ok(r) ? 0 : -1;
}

int cmd_bb_fetch(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"out", required_argument, NULL, 'o'},
        {"tar", required_argument, NULL, 't'},
        {"registry", required_argument, NULL, 'r'},
        {"cache", required_argument, NULL, 'c'},
        {"debs", required_argument, NULL, 'd'},
        {"debian-mirror", required_argument, NULL, 'm'},
        {"debian-suite", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},
        {"tarball", required_argument, NULL, 'T'},
        {"integrity", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char cachebuf[CLI_BB_PATH_MAX];
    struct cli_bb_fetch_opts o = {
        .registry = env_or("TEEREX_NPM_REGISTRY", "npm_config_registry", CLI_BB_DEFAULT_REGISTRY),
        .cache = cli_bb_default_cache(cachebuf, sizeof(cachebuf)),
        .debs = env_or("TEEREX_DEBS", NULL, NULL),
        .mirror = env_or("TEEREX_DEBIAN_MIRROR", NULL, CLI_BB_DEFAULT_MIRROR),
        .suite = CLI_BB_DEFAULT_SUITE,
    };
    const char *out = "bb-bundles", *tar = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", LONG, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 't': tar = optarg; break;
        case 'r': o.registry = optarg; break;
        case 'c': o.cache = optarg; break;
        case 'd': o.debs = optarg; break;
        case 'm': o.mirror = optarg; break;
        case 's': o.suite = optarg; break;
        case 'q': o.quiet = true; break;
        case 'T': o.tarball = optarg; break;
        case 'I': o.integrity = optarg; break;
        case 'h': fetch_usage(stdout); return TEEREX_EXIT_OK;
        default: fetch_usage(stderr); return TEEREX_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !bundle_version_valid(argv[optind]) ||
        !bundle_name_valid(o.suite, strlen(o.suite))) {
        fetch_usage(stderr);
        return TEEREX_EXIT_USAGE;
    }
    const char *version = argv[optind];
    char sri[256] = "";
    if (o.tarball && !o.integrity) { /* FILE.integrity, as cache-bb-inputs.sh writes it */
        char p[CLI_BB_PATH_MAX + 16];
        snprintf(p, sizeof(p), "%s.integrity", o.tarball);
        FILE *f = fopen(p, "r");
        if (f && fgets(sri, sizeof(sri), f))
            sri[strcspn(sri, "\r\n")] = '\0';
        if (f)
            fclose(f);
        o.integrity = sri[0] ? sri : NULL;
    }
    tr_log_set_component("teerex");
    char dir[CLI_BB_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/%s", out, version);
    struct cli_bb_why why = {""};
    struct cli_bb_result *res = calloc(1, sizeof(*res));
    if (res == NULL || !tr_ok(cli_http_global_init())) {
        free(res);
        return TEEREX_EXIT_FAILURE;
    }
    uint64_t t0 = tr_mono_us();
    tr_result r = TR_SUCCESS;
    if (access(out, F_OK) != 0 && mkdir(out, 0755) != 0) {
        cli_bb_say(&why, "cannot create %s", out);
        r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
    }
    if (tr_ok(r))
        r = cli_bb_build(&o, version, dir, res, &why);
    if (tr_ok(r) && tar && write_tar(dir, tar, &why) != 0)
        r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
    double ms = tr_ms_since(t0);
    json_t *j = tr_ok(r) ? report(res, dir, tar, ms)
                         : json_pack("{s:b,s:s,s:s,s:s}", "ok", 0, "version", version, "error",
                                     tr_err_desc(r.err), "detail", why.text);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    printf("%s\n", s ? s : "{}");
    if (!tr_ok(r))
        fprintf(stderr, "teerex bb fetch %s: %s: %s\n", version, tr_err_desc(r.err), why.text);
    free(s);
    json_decref(j);
    free(res);
    cli_http_global_cleanup();
    return tr_ok(r) ? TEEREX_EXIT_OK : cli_exit_code(r.err);
}

int cmd_bb_upload(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"to", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *to = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", LONG, NULL)) != -1) {
        if (c == 't') {
            to = optarg;
        } else if (c == 'h') {
            upload_usage(stdout);
            return TEEREX_EXIT_OK;
        } else {
            upload_usage(stderr);
            return TEEREX_EXIT_USAGE;
        }
    }
    if (to == NULL || optind + 2 != argc) {
        upload_usage(stderr);
        return TEEREX_EXIT_USAGE;
    }
    const char *version = argv[optind], *path = argv[optind + 1];
    if (!tr_ok(cli_http_global_init()))
        return TEEREX_EXIT_FAILURE;
    long status = 0;
    char answer[8192], digest[BUNDLE_DIGEST_HEX] = "";
    struct cli_bb_why why = {""};
    tr_result r = cli_bb_upload(to, version, path, &status, answer, sizeof(answer), digest, &why);
    cli_http_global_cleanup();
    if (!tr_ok(r)) {
        fprintf(stderr, "teerex bb upload: %s\n", why.text[0] ? why.text : tr_err_desc(r.err));
        return cli_exit_code(r.err);
    }
    json_error_t jerr;
    json_t *a = json_loads(answer, 0, &jerr);
    const char *got = json_string_value(json_object_get(a, "sha256"));
    bool ok = status == 200 && got && strcmp(got, digest) == 0;
    json_t *j = json_pack("{s:b,s:s,s:s,s:i,s:o}", "ok", ok, "version", version, "digest", digest,
                          "status", (int)status, "answer", a ? a : json_string(answer));
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(j);
    if (!ok)
        fprintf(stderr, "teerex bb upload: the server answered HTTP %ld: %s\n", status, answer);
    return ok ? TEEREX_EXIT_OK : status ? TEEREX_EXIT_SERVER : TEEREX_EXIT_FAILURE;
}
