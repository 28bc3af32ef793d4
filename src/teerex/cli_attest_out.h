/* Output of `teerex attest`: human lines or one JSON object. */
#ifndef TEEREX_CLI_ATTEST_OUT_H
#define TEEREX_CLI_ATTEST_OUT_H

#include <stdbool.h>

#include "teerex/attest.h"

/* Prints the decoded document and the verdict (err, exit code). */
void cli_attest_print(const struct attest_result *r, int32_t err, int code, bool verified,
                      bool json);
/* {"ok":false,"error":NAME,...} for a failure before any document was read. */
void cli_attest_print_error(int32_t err);

#endif
