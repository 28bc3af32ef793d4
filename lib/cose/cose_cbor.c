/* Checked CBOR accessors over libcbor: a bounded, strict load plus getters
 * that check type and definiteness before handing out a borrowed view. */
#include <string.h>

#include <cbor.h>

#include "teerex/cose.h"
#include "teerex/limits.h"

struct walk {
    size_t items, max_items;
    int32_t err;
};

static bool key_ok(const cbor_item_t *k)
{
    switch (cbor_typeof(k)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT: return true;
    case CBOR_TYPE_BYTESTRING: return cbor_bytestring_is_definite(k);
    case CBOR_TYPE_STRING: return cbor_string_is_definite(k);
    default: return false;
    }
}

/* Depth, item count, definite strings, simple map keys. */
static bool walk_ok(const cbor_item_t *it, unsigned depth, struct walk *w)
{
    if (depth > TR_MAX_CBOR_DEPTH || ++w->items > w->max_items)
        return false;
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
    case CBOR_TYPE_FLOAT_CTRL: return true;
    case CBOR_TYPE_BYTESTRING: return cbor_bytestring_is_definite(it);
    case CBOR_TYPE_STRING: return cbor_string_is_definite(it);
    case CBOR_TYPE_ARRAY: {
        cbor_item_t **a = cbor_array_handle(it);
        for (size_t i = 0; i < cbor_array_size(it); i++) {
            if (!walk_ok(a[i], depth + 1, w))
                return false;
        }
        return true;
    }
    case CBOR_TYPE_MAP: {
        struct cbor_pair *m = cbor_map_handle(it);
        for (size_t i = 0; i < cbor_map_size(it); i++) {
            if (!key_ok(m[i].key) || !walk_ok(m[i].key, depth + 1, w) ||
                !walk_ok(m[i].value, depth + 1, w))
                return false;
        }
        return true;
    }
    case CBOR_TYPE_TAG: {
        cbor_item_t *inner = cbor_tag_item(it);
        bool ok = walk_ok(inner, depth + 1, w);
        cbor_decref(&inner);
        return ok;
    }
    }
    return false;
}

/* Pre-scan with libcbor's streaming decoder before cbor_load. libcbor 0.8's
 * cbor_load trusts the declared size of a definite array or map and
 * allocates it up front (a 16-byte input can ask for gigabytes; found by
 * the cose_sign1 fuzz target), so the declared sizes, nesting depth, item
 * count and trailing bytes are checked here, on the raw headers, first. */
#define SCAN_INDEF UINT64_MAX

struct scan {
    size_t max_items;
    size_t depth;
    uint64_t left[TR_MAX_CBOR_DEPTH + 1]; /* items left per open container */
    size_t items;
    size_t remaining; /* input bytes from the current header on */
    bool bad, done;
};

static void item_done(struct scan *s)
{
    while (s->depth > 0) {
        uint64_t *l = &s->left[s->depth - 1];
        if (*l == SCAN_INDEF || --*l > 0)
            return;
        s->depth--; /* the container is complete: an item of its parent */
    }
    s->done = true;
}

static bool enter(struct scan *s)
{
    if (s->done || ++s->items > s->max_items)
        s->bad = true;
    return !s->bad;
}

static void push(struct scan *s, uint64_t n)
{
    if (s->depth >= TR_MAX_CBOR_DEPTH) {
        s->bad = true;
        return;
    }
    s->left[s->depth++] = n;
}

static void leaf(struct scan *s)
{
    if (enter(s))
        item_done(s);
}

static void container(struct scan *s, size_t n, uint64_t per)
{
    if (!enter(s))
        return;
    /* every element takes at least one byte */
    if ((uint64_t)n > s->remaining / per) {
        s->bad = true;
        return;
    }
    if (n == 0)
        item_done(s);
    else
        push(s, (uint64_t)n * per);
}

static void cb_leaf(void *c)
{
    leaf(c);
}
static void cb_u8(void *c, uint8_t v)
{
    (void)v;
    leaf(c);
}
static void cb_u16(void *c, uint16_t v)
{
    (void)v;
    leaf(c);
}
static void cb_u32(void *c, uint32_t v)
{
    (void)v;
    leaf(c);
}
static void cb_u64(void *c, uint64_t v)
{
    (void)v;
    leaf(c);
}
static void cb_str(void *c, cbor_data d, size_t n)
{
    (void)d;
    (void)n;
    leaf(c);
}
static void cb_f32(void *c, float v)
{
    (void)v;
    leaf(c);
}
static void cb_f64(void *c, double v)
{
    (void)v;
    leaf(c);
}
static void cb_bool(void *c, bool v)
{
    (void)v;
    leaf(c);
}
static void cb_indef_str(void *c)
{
    ((struct scan *)c)->bad = true;
}
static void cb_array(void *c, size_t n)
{
    container(c, n, 1);
}
static void cb_map(void *c, size_t n)
{
    container(c, n, 2);
}
static void cb_indef(void *c)
{
    struct scan *s = c;
    if (enter(s))
        push(s, SCAN_INDEF);
}
static void cb_tag(void *c, uint64_t v)
{
    struct scan *s = c;
    (void)v;
    if (enter(s))
        push(s, 1);
}
static void cb_break(void *c)
{
    struct scan *s = c;
    if (s->depth == 0 || s->left[s->depth - 1] != SCAN_INDEF) {
        s->bad = true;
        return;
    }
    s->depth--;
    item_done(s);
}

static bool prescan(const uint8_t *p, size_t n, size_t max_items)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.uint8 = cb.negint8 = cb_u8;
    cb.uint16 = cb.negint16 = cb_u16;
    cb.uint32 = cb.negint32 = cb_u32;
    cb.uint64 = cb.negint64 = cb_u64;
    cb.byte_string = cb.string = cb_str;
    cb.byte_string_start = cb.string_start = cb_indef_str;
    cb.array_start = cb_array;
    cb.map_start = cb_map;
    cb.indef_array_start = cb.indef_map_start = cb_indef;
    cb.tag = cb_tag;
    cb.float2 = cb.float4 = cb_f32;
    cb.float8 = cb_f64;
    cb.undefined = cb.null = cb_leaf;
    cb.boolean = cb_bool;
    cb.indef_break = cb_break;
    struct scan s;
    memset(&s, 0, sizeof(s));
    s.max_items = max_items;
    size_t pos = 0;
    while (pos < n && !s.bad) {
        if (s.done)
            return false; /* trailing bytes */
        s.remaining = n - pos;
        struct cbor_decoder_result r = cbor_stream_decode(p + pos, n - pos, &cb, &s);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return false;
        pos += r.read;
    }
    return !s.bad && s.done && pos == n;
}

TR_RESULT cose_cbor_load(const uint8_t *p, size_t n, int32_t err, struct cbor_item_t **out)
{
    return cose_cbor_load_max(p, n, TR_MAX_CBOR_ITEMS, err, out);
}

TR_RESULT cose_cbor_load_max(const uint8_t *p, size_t n, size_t max_items, int32_t err,
                             struct cbor_item_t **out)
{
    TR_ENSURE_REF(out);
    *out = NULL;
    TR_ENSURE(p != NULL && n > 0, err);
    TR_ENSURE(prescan(p, n, max_items), err);
    struct cbor_load_result lr;
    cbor_item_t *it = cbor_load(p, n, &lr);
    if (it == NULL) {
        TR_ENSURE(lr.error.code != CBOR_ERR_MEMERROR, TR_ERR_NOMEM);
        TR_BAIL(err);
    }
    struct walk w = {0, max_items, err};
    if (lr.error.code != CBOR_ERR_NONE || lr.read != n || !walk_ok(it, 0, &w)) {
        cbor_decref(&it);
        TR_BAIL(err);
    }
    *out = it;
    return TR_SUCCESS;
}

static bool keys_equal(const cbor_item_t *a, const cbor_item_t *b)
{
    if (cbor_typeof(a) != cbor_typeof(b))
        return false;
    switch (cbor_typeof(a)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT: return cbor_get_int(a) == cbor_get_int(b);
    case CBOR_TYPE_BYTESTRING:
        return cbor_bytestring_length(a) == cbor_bytestring_length(b) &&
               memcmp(cbor_bytestring_handle(a), cbor_bytestring_handle(b),
                      cbor_bytestring_length(a)) == 0;
    case CBOR_TYPE_STRING:
        return cbor_string_length(a) == cbor_string_length(b) &&
               memcmp(cbor_string_handle(a), cbor_string_handle(b), cbor_string_length(a)) == 0;
    default: return false;
    }
}

TR_RESULT cose_cbor_map_unique(const struct cbor_item_t *map, int32_t err)
{
    TR_ENSURE(map != NULL && cbor_isa_map(map), err);
    struct cbor_pair *m = cbor_map_handle(map);
    size_t n = cbor_map_size(map);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            TR_ENSURE(!keys_equal(m[i].key, m[j].key), err);
    }
    return TR_SUCCESS;
}

bool cose_cbor_text_eq(const struct cbor_item_t *it, const char *s)
{
    if (it == NULL || !cbor_isa_string(it) || !cbor_string_is_definite(it))
        return false;
    size_t n = strlen(s);
    return cbor_string_length(it) == n && memcmp(cbor_string_handle(it), s, n) == 0;
}

static bool int_key_eq(const cbor_item_t *k, int64_t key)
{
    if (key >= 0)
        return cbor_isa_uint(k) && cbor_get_int(k) == (uint64_t)key;
    return cbor_isa_negint(k) && cbor_get_int(k) == (uint64_t)(-(key + 1));
}

/* Shared lookup: exactly zero or one match. */
static tr_result map_find(const cbor_item_t *map, const char *skey, int64_t ikey, int32_t err,
                          struct cbor_item_t **out)
{
    TR_ENSURE_REF(out);
    *out = NULL;
    TR_ENSURE(map != NULL && cbor_isa_map(map), err);
    struct cbor_pair *m = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        bool hit = skey ? cose_cbor_text_eq(m[i].key, skey) : int_key_eq(m[i].key, ikey);
        if (hit) {
            TR_ENSURE(*out == NULL, err); /* duplicate key */
            *out = m[i].value;
        }
    }
    return TR_SUCCESS;
}

TR_RESULT cose_cbor_map_get(const struct cbor_item_t *map, const char *key, int32_t err,
                            struct cbor_item_t **out)
{
    TR_ENSURE_REF(key);
    return map_find(map, key, 0, err, out);
}

TR_RESULT cose_cbor_map_get_int(const struct cbor_item_t *map, int64_t key, int32_t err,
                                struct cbor_item_t **out)
{
    return map_find(map, NULL, key, err, out);
}

TR_RESULT cose_cbor_bytes(const struct cbor_item_t *it, int32_t err, struct tr_slice *out)
{
    TR_ENSURE_REF(out);
    *out = tr_slice_of(NULL, 0);
    TR_ENSURE(it != NULL && cbor_isa_bytestring(it) && cbor_bytestring_is_definite(it), err);
    *out = tr_slice_of(cbor_bytestring_handle(it), cbor_bytestring_length(it));
    return TR_SUCCESS;
}

TR_RESULT cose_cbor_text(const struct cbor_item_t *it, int32_t err, struct tr_slice *out)
{
    TR_ENSURE_REF(out);
    *out = tr_slice_of(NULL, 0);
    TR_ENSURE(it != NULL && cbor_isa_string(it) && cbor_string_is_definite(it), err);
    *out = tr_slice_of(cbor_string_handle(it), cbor_string_length(it));
    return TR_SUCCESS;
}

TR_RESULT cose_cbor_uint(const struct cbor_item_t *it, int32_t err, uint64_t *out)
{
    TR_ENSURE_REF(out);
    *out = 0;
    TR_ENSURE(it != NULL && cbor_isa_uint(it), err);
    *out = cbor_get_int(it);
    return TR_SUCCESS;
}

TR_RESULT cose_cbor_int(const struct cbor_item_t *it, int32_t err, int64_t *out)
{
    TR_ENSURE_REF(out);
    *out = 0;
    TR_ENSURE(it != NULL && (cbor_isa_uint(it) || cbor_isa_negint(it)), err);
    uint64_t v = cbor_get_int(it);
    TR_ENSURE(v <= (uint64_t)INT64_MAX, err);
    *out = cbor_isa_uint(it) ? (int64_t)v : -(int64_t)v - 1;
    return TR_SUCCESS;
}

/* libcbor's cbor_is_null / cbor_is_bool assert (abort) when given a float:
 * only a simple value (float width 0) may reach cbor_ctrl_value. Found by the
 * cose_sign1 fuzz target. */
static bool is_ctrl(const cbor_item_t *it)
{
    return it != NULL && cbor_isa_float_ctrl(it) && cbor_float_get_width(it) == CBOR_FLOAT_0;
}

bool cose_cbor_is_null(const struct cbor_item_t *it)
{
    return is_ctrl(it) && cbor_ctrl_value(it) == CBOR_CTRL_NULL;
}

TR_RESULT cose_cbor_bool(const struct cbor_item_t *it, int32_t err, bool *out)
{
    TR_ENSURE_REF(out);
    *out = false;
    TR_ENSURE(is_ctrl(it), err);
    uint8_t v = cbor_ctrl_value(it);
    TR_ENSURE(v == CBOR_CTRL_TRUE || v == CBOR_CTRL_FALSE, err);
    *out = v == CBOR_CTRL_TRUE;
    return TR_SUCCESS;
}

TR_RESULT cose_cbor_serialize(const struct cbor_item_t *it, struct tr_buf *out)
{
    TR_ENSURE_REF(it);
    TR_ENSURE_REF(out);
    unsigned char *data = NULL;
    size_t cap = 0;
    size_t n = cbor_serialize_alloc(it, &data, &cap);
    if (n == 0) {
        free(data);
        TR_BAIL(TR_ERR_NOMEM);
    }
    tr_result r = tr_buf_append(out, data, n);
    free(data);
    return r;
}

bool cose_cbor_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
    cbor_item_t *k = cbor_build_string(key);
    bool ok = map != NULL && k != NULL && value != NULL &&
              cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
    if (k != NULL)
        cbor_decref(&k);
    if (value != NULL)
        cbor_decref(&value);
    return ok;
}

cbor_item_t *cose_cbor_variant(const char *name, cbor_item_t *fields)
{
    cbor_item_t *m = cbor_new_definite_map(1);
    if (m == NULL) {
        if (fields != NULL)
            cbor_decref(&fields);
        return NULL;
    }
    if (!cose_cbor_put(m, name, fields))
        cbor_decref(&m);
    return m;
}

cbor_item_t *cose_cbor_new_bytes(const uint8_t *p, size_t n)
{
    static const uint8_t empty[1] = {0};
    return cbor_build_bytestring(n && p ? p : empty, n);
}

tr_result cose_cbor_serialize_array(cbor_item_t **items, size_t n, struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    cbor_item_t *arr = cbor_new_definite_array(n);
    bool all = arr != NULL;
    for (size_t i = 0; i < n; i++) {
        if (items[i] == NULL || (arr != NULL && !cbor_array_push(arr, items[i])))
            all = false;
        if (items[i] != NULL)
            cbor_decref(&items[i]);
    }
    TR_CHECK(all, TR_ERR_NOMEM);
    TR_TRY(cose_cbor_serialize(arr, out));
out:
    if (arr != NULL)
        cbor_decref(&arr);
    return res;
}
