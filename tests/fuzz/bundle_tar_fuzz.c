/* Target functions: bundle_tar_read_mem (an uploaded or provisioned bundle
 * archive; libarchive's tar reader under our entry checks). Every entry the
 * sink sees has a valid bundle path, is announced with its size and gets
 * exactly that many bytes; an accepted archive has "bb", no duplicate. */
#include <stdint.h>
#include <string.h>

#include "teerex/bundle.h"

struct seen {
    char names[BUNDLE_MAX_FILES][BUNDLE_NAME_MAX + 8];
    size_t n;
    uint64_t want, got;
    bool open, has_bb;
};

static tr_result f_begin(void *ctx, const char *rel, bool exec, uint64_t size)
{
    (void)exec;
    struct seen *s = ctx;
    if (!bundle_path_valid(rel) || s->open || s->n >= BUNDLE_MAX_FILES)
        __builtin_trap();
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], rel) == 0)
            __builtin_trap();
    memcpy(s->names[s->n++], rel, strlen(rel) + 1);
    s->has_bb = s->has_bb || strcmp(rel, "bb") == 0;
    s->want = size;
    s->got = 0;
    s->open = true;
    return TR_SUCCESS;
}

static tr_result f_data(void *ctx, const void *p, size_t n)
{
    (void)p;
    struct seen *s = ctx;
    if (!s->open)
        __builtin_trap();
    s->got += n;
    if (s->got > s->want)
        __builtin_trap();
    return TR_SUCCESS;
}

static tr_result f_end(void *ctx)
{
    struct seen *s = ctx;
    if (!s->open || s->got != s->want)
        __builtin_trap();
    s->open = false;
    return TR_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct seen s;
    memset(&s, 0, sizeof(s));
    struct bundle_tar_sink sink = {f_begin, f_data, f_end, &s};
    tr_result r = bundle_tar_read_mem(data, size, &sink);
    if (tr_ok(r) && (!s.has_bb || s.open))
        __builtin_trap();
    return 0;
}
