/* attest_provider factory and the "standard" backend (no TEE, no document). */
#include <stdlib.h>
#include <string.h>

#include "attest_provider.h"
#include "teerex/log.h"

static void standard_destroy(struct attest_provider *p)
{
    free(p);
}

static TR_RESULT standard_create(struct attest_provider **out)
{
    struct attest_provider *p = calloc(1, sizeof(*p));
    TR_ENSURE(p != NULL, TR_ERR_NOMEM);
    p->mode = "standard";
    p->document = NULL;
    p->get_random = NULL;
    p->destroy = standard_destroy;
    *out = p;
    return TR_SUCCESS;
}

tr_result attest_provider_create(const char *tee_mode, struct attest_provider **out)
{
    TR_ENSURE_REF(out);
    *out = NULL;
    if (tee_mode == NULL || strcmp(tee_mode, "standard") == 0)
        return standard_create(out);
    if (strcmp(tee_mode, "nitro") == 0 || strcmp(tee_mode, "nitro-emulated") == 0)
        return attest_nitro_create(tee_mode, out);
    tr_log(TR_LOG_ERROR, "tee_mode_unknown", "{s:s}", "tee_mode", tee_mode);
    TR_BAIL(TR_ERR_USAGE);
}

void attest_provider_destroy(struct attest_provider *p)
{
    if (p && p->destroy)
        p->destroy(p);
}
