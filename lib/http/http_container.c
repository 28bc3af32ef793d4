/* The prover input container of the ultra_honk scheme (docs/PROTOCOL-EXT.md):
 *   "TRXC" | u8 version=1 | u8 count | count x (u8 name_len | name | u32be size | bytes)
 * Hand-written because it is our own 20-line format: a tar or zip library
 * would bring path, link and permission semantics we must then forbid. */
#include <string.h>

#include "teerex/http.h"

const char *const HTTP_CONTAINER_ULTRA_HONK[] = {"program.json", "witness.gz", NULL};

static bool name_chars_ok(const char *s, size_t n)
{
    if (n == 0 || n > HTTP_CONTAINER_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
        if (c == '.' && i + 1 < n && s[i + 1] == '.')
            return false;
    }
    return true;
}

static bool in_list(const char *name, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(name, allowed[i]) == 0)
            return true;
    }
    return false;
}

/* Maps reader exhaustion to the container's own error. */
#define C_READ(call)                                                                               \
    do {                                                                                           \
        if (!tr_ok(call))                                                                          \
            TR_BAIL(TR_ERR_HTTP_CONTAINER_TRUNCATED);                                              \
    } while (0)

tr_result http_container_parse(const uint8_t *p, size_t n, const char *const *allowed,
                               struct http_container *out)
{
    TR_ENSURE_REF(out);
    TR_ENSURE_REF(allowed);
    memset(out, 0, sizeof(*out));
    struct tr_reader r;
    tr_reader_init(&r, p, p ? n : 0);
    uint8_t magic[4], version, count;
    C_READ(tr_read_bytes(&r, 4, magic));
    TR_ENSURE(memcmp(magic, HTTP_CONTAINER_MAGIC, 4) == 0, TR_ERR_HTTP_CONTAINER_BAD_MAGIC);
    C_READ(tr_read_u8(&r, &version));
    TR_ENSURE(version == HTTP_CONTAINER_VERSION, TR_ERR_HTTP_CONTAINER_BAD_VERSION);
    C_READ(tr_read_u8(&r, &count));
    TR_ENSURE(count <= HTTP_CONTAINER_MAX_ENTRIES, TR_ERR_HTTP_CONTAINER_BAD_NAME);
    for (size_t i = 0; i < count; i++) {
        struct http_container_entry *e = &out->entries[i];
        uint8_t name_len;
        struct tr_slice name;
        uint32_t size;
        C_READ(tr_read_u8(&r, &name_len));
        C_READ(tr_read_slice(&r, name_len, &name));
        TR_ENSURE(name_chars_ok((const char *)name.ptr, name.len), TR_ERR_HTTP_CONTAINER_BAD_NAME);
        memcpy(e->name, name.ptr, name.len);
        e->name[name.len] = '\0';
        TR_ENSURE(in_list(e->name, allowed), TR_ERR_HTTP_CONTAINER_BAD_NAME);
        for (size_t j = 0; j < i; j++)
            TR_ENSURE(strcmp(out->entries[j].name, e->name) != 0, TR_ERR_HTTP_CONTAINER_DUPLICATE);
        C_READ(tr_read_be32(&r, &size));
        C_READ(tr_read_slice(&r, size, &e->data));
        out->count = i + 1;
    }
    TR_ENSURE(tr_reader_remaining(&r) == 0, TR_ERR_HTTP_CONTAINER_TRAILING);
    for (size_t k = 0; allowed[k]; k++) {
        bool found = false;
        for (size_t j = 0; j < out->count; j++)
            found = found || strcmp(out->entries[j].name, allowed[k]) == 0;
        TR_ENSURE(found, TR_ERR_HTTP_CONTAINER_MISSING);
    }
    return TR_SUCCESS;
}

tr_result http_container_write(const struct http_container *c, struct tr_buf *out)
{
    TR_ENSURE_REF(c);
    TR_ENSURE_REF(out);
    TR_ENSURE(c->count <= HTTP_CONTAINER_MAX_ENTRIES, TR_ERR_USAGE);
    size_t before = out->len;
    tr_result res = TR_SUCCESS;
    TR_TRY(tr_buf_append(out, HTTP_CONTAINER_MAGIC, 4));
    TR_TRY(tr_buf_append_u8(out, HTTP_CONTAINER_VERSION));
    TR_TRY(tr_buf_append_u8(out, (uint8_t)c->count));
    for (size_t i = 0; i < c->count; i++) {
        const struct http_container_entry *e = &c->entries[i];
        size_t nl = strnlen(e->name, sizeof(e->name));
        TR_CHECK(name_chars_ok(e->name, nl), TR_ERR_HTTP_CONTAINER_BAD_NAME);
        TR_CHECK(e->data.len <= UINT32_MAX, TR_ERR_TOO_BIG);
        TR_TRY(tr_buf_append_u8(out, (uint8_t)nl));
        TR_TRY(tr_buf_append(out, e->name, nl));
        TR_TRY(tr_buf_append_be32(out, (uint32_t)e->data.len));
        TR_TRY(tr_buf_append(out, e->data.ptr, e->data.len));
    }
out:
    if (!tr_ok(res))
        out->len = before;
    return res;
}
