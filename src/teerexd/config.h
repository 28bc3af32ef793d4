/* teerexd configuration: environment variables (the TypeScript server's names
 * where one exists), overridable by --NAME=value arguments. */
#ifndef TEEREXD_CONFIG_H
#define TEEREXD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/http.h"
#include "teerex/limits.h"
#include "teerex/result.h"

#define CONFIG_MAX_TRUSTED 32

struct config {
    char listen[1024];         /* LISTEN, or tcp:0.0.0.0:$PORT */
    char admin_listen[512];    /* ADMIN_LISTEN ("" = no admin API) */
    char ops_listen[512];      /* OPS_LISTEN ("" = none; /metrics then public) */
    char tee_mode[32];         /* TEE_MODE */
    char bb_binary_path[1024]; /* BB_BINARY_PATH ("" = "bb" from PATH) */
    char bb_versions_dir[1024];
    char bb_default_version[TR_MAX_VERSION_LEN + 1]; /* BB_DEFAULT_VERSION */
    char bb_policy[16];                              /* "pinned" | "open" (resolved) */
    char bb_allowed_file[1024];                      /* BB_ALLOWED_FILE */
    bool bb_version_fallback;                        /* BB_VERSION_FALLBACK */
    char bb_provision[160];                          /* BB_PROVISION ("" = off) */
    uint64_t bb_provision_timeout_ms;
    uint64_t bb_provision_retry_ms;
    uint64_t bb_max_versions;
    char crs_path[1024];
    char hardware_concurrency[16];
    char cmd_chonk[1024]; /* PROVE_CMD_CHONK */
    char schemes[64];     /* PROVE_SCHEMES */
    bool serve_chonk, serve_ultra_honk;
    char cmd_ultra_honk[1024]; /* PROVE_CMD_ULTRA_HONK */
    char work_dir[1024];       /* PROVE_WORK_DIR ("" = /dev/shm if usable, else $TMPDIR or /tmp) */
    uint64_t prove_concurrency;
    uint64_t prove_queue_limit;
    uint64_t prove_timeout_ms;
    uint64_t rate_limit_max; /* 0 disables */
    uint64_t rate_limit_window_ms;
    uint64_t rate_limit_clients; /* clients the rate limit tracks (least recent forgotten) */
    uint64_t max_body_bytes;
    uint64_t max_upload_bytes;   /* admin /upload-bb */
    uint64_t idle_timeout_s;     /* HTTP_IDLE_TIMEOUT */
    uint64_t header_timeout_ms;  /* HTTP_HEADER_TIMEOUT */
    uint64_t body_timeout_ms;    /* HTTP_BODY_TIMEOUT: grace before the body rate counts */
    uint64_t body_min_rate;      /* HTTP_BODY_MIN_RATE: bytes/s a body averages (0: off) */
    uint64_t max_inflight_bytes; /* MAX_INFLIGHT_BYTES: /prove bodies held at once (0: off) */
    uint64_t max_connections;
    uint64_t per_ip_connections;
    uint64_t shutdown_grace_ms;
    uint64_t retry_after_s;
    /* The prover's sandbox (include/teerex/sandbox.h) */
    char sandbox_disable[256];   /* PROVER_SANDBOX_DISABLE: parts turned off */
    char sandbox_ro_paths[2048]; /* PROVER_SANDBOX_RO_PATHS: extra read-only paths */
    char host_libs[1024];        /* PROVER_HOST_LIBS: libraries of a non-bundle bb */
    uint64_t prover_uid, prover_gid;
    uint64_t prover_memory;        /* PROVER_MEMORY_LIMIT (bytes; 0 = auto) */
    uint64_t prover_max_procs;     /* PROVER_MAX_PROCS */
    uint64_t prover_max_files;     /* PROVER_MAX_FILES */
    uint64_t prover_max_file_size; /* PROVER_MAX_FILE_SIZE (bytes) */
    size_t n_trusted;
    struct http_cidr trusted[CONFIG_MAX_TRUSTED];
    int log_level;
};

/* Reads the environment, then argv (--NAME=value for any variable below). */
TR_RESULT config_load(int argc, char **argv, struct config *out);
void config_print_help(const char *prog);
/* config_paths.c: relative paths made absolute (bb runs elsewhere); an unset
 * CRS_PATH becomes $HOME/.bb-crs when that exists. Called by config_load. */
TR_RESULT config_resolve_paths(struct config *c);

#endif
