/* The metadata section: nitro-cli's EifIdentityInfo as JSON, keys in its
 * field order. Not measured by any PCR, but part of the file, so the build
 * time comes from the caller (SOURCE_DATE_EPOCH), never the clock. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "teerex/codec.h"
#include "teerex/eif.h"

TR_RESULT eif_meta_json(const struct eif_meta_info *m, struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    char when[40];
    struct tm tm;
    char *text = NULL;
    time_t t = (time_t)m->build_time;
    TR_ENSURE(m->build_time >= 0 && gmtime_r(&t, &tm) != NULL, TR_ERR_BAD_NUMBER);
    /* RFC 3339 as chrono's to_rfc3339() prints UTC. */
    TR_ENSURE(strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+00:00", &tm) > 0, TR_ERR_BAD_NUMBER);
    json_t *j = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:n, s:n}", "ImageName",
                          m->image_name ? m->image_name : "teerex", "ImageVersion",
                          m->image_version ? m->image_version : "unknown", "BuildMetadata",
                          "BuildTime", when, "BuildTool", "teerex-eif", "BuildToolVersion",
                          TEEREX_EIF_TOOL_VERSION, "OperatingSystem", "Linux", "KernelVersion",
                          m->kernel_version ? m->kernel_version : "unknown", "DockerInfo",
                          "CustomMetadata");
    TR_CHECK(j, TR_ERR_JSON);
    text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    TR_CHECK(text, TR_ERR_NOMEM);
    TR_TRY(tr_buf_append(out, text, strlen(text)));
out:
    free(text);
    json_decref(j);
    return res;
}

TR_RESULT eif_pcrs_json(const struct eif_pcrs *p, struct json_t **out)
{
    char hex[4][2 * EIF_PCR_LEN + 1];
    *out = NULL;
    tr_hex_to_str(p->pcr0, EIF_PCR_LEN, hex[0]);
    tr_hex_to_str(p->pcr1, EIF_PCR_LEN, hex[1]);
    tr_hex_to_str(p->pcr2, EIF_PCR_LEN, hex[2]);
    tr_hex_to_str(p->pcr8, EIF_PCR_LEN, hex[3]);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "HashAlgorithm", "Sha384 { ... }", "PCR0", hex[0],
                          "PCR1", hex[1], "PCR2", hex[2]);
    TR_ENSURE(j, TR_ERR_NOMEM);
    if (p->has_pcr8 && json_object_set_new(j, "PCR8", json_string(hex[3])) != 0) {
        json_decref(j);
        TR_BAIL(TR_ERR_NOMEM);
    }
    *out = j;
    return TR_SUCCESS;
}
