/* Output of `teerex attest`: human lines or one JSON object. */
#ifndef TEEREX_CLI_ATTEST_OUT_H
#define TEEREX_CLI_ATTEST_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "teerex/attest.h"

/* Prints the decoded document and the verdict (err, exit code). */
void cli_attest_print(const struct attest_result *r, int32_t err, int code, bool verified,
                      bool json);
/* Loud stderr warnings after a successful verification: no PCR pinned (any
 * enclave image passes), or a debug-mode document that was let through. */
void cli_attest_warn_unpinned(const struct attest_result *r, size_t n_pcrs);
/* True when PCR0 is present and all zeros (an enclave in debug mode). */
bool cli_attest_is_debug(const struct attest_result *r);
/* {"ok":false,"error":NAME,...} for a failure before any document was read. */
void cli_attest_print_error(int32_t err);

#endif
