/* What a parsed image measures to: PCR0..2 from its sections (eif_pcr.c)
 * and PCR8 from the certificate in its signature section (eif_sig.c). */
#include <string.h>

#include "teerex/eif.h"

TR_RESULT eif_image_pcrs(const struct eif_image *img, struct eif_pcrs *out)
{
    struct eif_measure m;
    struct eif_signature sig;
    tr_result res = TR_SUCCESS;
    eif_signature_init(&sig);
    memset(out, 0, sizeof(*out));
    TR_TRY(eif_measure_init(&m));
    for (int i = 0; i < img->num_sections; i++) {
        eif_measure_begin(&m, img->sections[i].type);
        TR_TRY(eif_measure_update(&m, img->sections[i].data.ptr, img->sections[i].data.len));
    }
    TR_TRY(eif_measure_final(&m, out));
    if (img->signature >= 0) {
        const struct tr_slice *s = &img->sections[img->signature].data;
        TR_TRY(eif_sig_parse(s->ptr, s->len, &sig));
        TR_TRY(eif_sig_pcr8(&sig, out->pcr8));
        out->has_pcr8 = true;
    }
out:
    eif_measure_free(&m);
    eif_signature_free(&sig);
    return res;
}
