/* The Nitro Secure Module: client, message codec and emulator.
 *
 * The NSM is /dev/nsm with one ioctl carrying a CBOR request and a CBOR
 * response (format: the public aws/aws-nitro-enclaves-nsm-api repository,
 * Request/Response enums as serde encodes them: unit variants are a text
 * string, struct variants a one-entry map {"Name": {fields}}, errors
 * {"Error": "<ErrorCode name>"}). The client talks through one function
 * pointer, so tests (and TEE_MODE=nitro-emulated) substitute the emulator
 * for the ioctl.
 */
#ifndef TEEREX_NSM_H
#define TEEREX_NSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/limits.h"

#define NSM_REQUEST_MAX 0x1000 /* the driver's NSM_REQUEST_MAX_SIZE */
#define NSM_MAX_PCRS 32
#define NSM_PCR_LEN 48 /* SHA-384 bank */
#define NSM_RANDOM_LEN 256

/* The transport: send req, write at most resp_cap response bytes into resp,
 * set *resp_len. Returns a transport failure (NSM_IOCTL, ...) only; NSM
 * errors travel inside the response. */
typedef tr_result (*nsm_transport_fn)(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                                      size_t resp_cap, size_t *resp_len);

struct nsm_client {
    nsm_transport_fn call;
    void *ctx;
    int fd; /* /dev/nsm when opened with nsm_open, else -1 */
};

/* Opens /dev/nsm (or path): TR_ERR_NSM_NO_DEVICE when absent. */
TR_RESULT nsm_open(struct nsm_client *c, const char *path);
/* Any transport (the emulator: nsm_emu_transport with the emulator as ctx). */
void nsm_client_init(struct nsm_client *c, nsm_transport_fn call, void *ctx);
void nsm_close(struct nsm_client *c);

/* Each request checks its limits before the call (public_key <= 1024,
 * user_data and nonce <= 512 bytes; NULL = absent). */
TR_RESULT nsm_attestation(struct nsm_client *c, const uint8_t *user_data, size_t user_data_len,
                          const uint8_t *nonce, size_t nonce_len, const uint8_t *public_key,
                          size_t public_key_len, struct tr_buf *doc);
TR_RESULT nsm_describe_pcr(struct nsm_client *c, uint16_t index, bool *locked, uint8_t *data,
                           size_t cap, size_t *len);
TR_RESULT nsm_extend_pcr(struct nsm_client *c, uint16_t index, const uint8_t *data, size_t len,
                         uint8_t *out, size_t cap, size_t *out_len);
TR_RESULT nsm_lock_pcr(struct nsm_client *c, uint16_t index);
TR_RESULT nsm_lock_pcrs(struct nsm_client *c, uint16_t range);

struct nsm_description {
    uint16_t version_major, version_minor, version_patch;
    char module_id[128];
    uint16_t max_pcrs;
    uint32_t locked_mask; /* bit i: PCR i locked (indices >= 32 ignored) */
    char digest[8];       /* "SHA256" | "SHA384" | "SHA512" */
};
TR_RESULT nsm_describe(struct nsm_client *c, struct nsm_description *out);
/* Fills out with up to cap bytes of NSM entropy (one request). */
TR_RESULT nsm_get_random(struct nsm_client *c, uint8_t *out, size_t cap, size_t *got);

/* --- message codec (nsm_msg.c), exposed for tests and fuzzing --- */

/* Maps an NSM ErrorCode name to TR_ERR_NSM_*: unknown names and "Success"
 * give TR_ERR_NSM_UNKNOWN_ERROR. */
int32_t nsm_error_from_name(const char *name, size_t len);
/* ErrorCode name of a TR_ERR_NSM_* code (for the emulator), NULL otherwise. */
const char *nsm_error_name(int32_t err);

struct cbor_item_t;
/* Parses a response: {"Error": name} -> the mapped error; {"<expect>": body}
 * -> *body (a map, owned by *root); the unit answer "<expect>" -> *body NULL.
 * Anything else is TR_ERR_NSM_BAD_RESPONSE. *root must be cbor_decref'd. */
TR_RESULT nsm_msg_parse_response(const uint8_t *p, size_t n, const char *expect,
                                 struct cbor_item_t **root, struct cbor_item_t **body);

/* Per-request response readers (used by the client and the fuzz target). */
TR_RESULT nsm_msg_read_attestation(const uint8_t *p, size_t n, struct tr_buf *doc);
TR_RESULT nsm_msg_read_describe_pcr(const uint8_t *p, size_t n, bool *locked, uint8_t *data,
                                    size_t cap, size_t *len);
TR_RESULT nsm_msg_read_extend_pcr(const uint8_t *p, size_t n, uint8_t *data, size_t cap,
                                  size_t *len);
TR_RESULT nsm_msg_read_unit(const uint8_t *p, size_t n, const char *name);
TR_RESULT nsm_msg_read_describe(const uint8_t *p, size_t n, struct nsm_description *out);
TR_RESULT nsm_msg_read_random(const uint8_t *p, size_t n, uint8_t *out, size_t cap, size_t *got);

/* --- emulator (nsm_emu.c, nsm_emu_pki.c): never a production path --- */

struct nsm_emu;
struct nsm_emu_config {
    const char *dir;          /* PKI directory (created on demand), NSM_EMU_DIR */
    const char *pcr_config;   /* file of "INDEX HEX" lines for PCR0-2, NSM_EMU_PCRS */
    const char *pcr_files[3]; /* PCRn = SHA-384(file), NSM_EMU_PCR0_FILE.. */
    const char *module_id;    /* default "i-00000000000000000-enc0000000000000000" */
    unsigned leaf_lifetime_s; /* default 3 hours */
};
/* Reads NSM_EMU_DIR (default $TMPDIR/teerex-nsm-emu), NSM_EMU_PCRS,
 * NSM_EMU_PCR0_FILE, NSM_EMU_PCR1_FILE, NSM_EMU_PCR2_FILE. */
void nsm_emu_config_from_env(struct nsm_emu_config *cfg);
/* Loads or creates the test PKI (root + 3 intermediates, EC P-384) in
 * cfg->dir, makes a fresh short-lived leaf, sets PCR0-2. */
TR_RESULT nsm_emu_new(const struct nsm_emu_config *cfg, struct nsm_emu **out);
void nsm_emu_free(struct nsm_emu *e);
/* The nsm_transport_fn of the emulator (ctx = struct nsm_emu *). */
tr_result nsm_emu_transport(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                            size_t resp_cap, size_t *resp_len);
/* Path of the emulator root (PEM) a verifier must be given explicitly. */
const char *nsm_emu_root_path(const struct nsm_emu *e);

#endif
