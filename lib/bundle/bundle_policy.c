/* Which bundles an enclave accepts: the open and pinned policies and the
 * allow-list file (see bundle.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "teerex/bundle.h"
#include "teerex/file.h"

bool bundle_version_valid(const char *version)
{
    if (version == NULL)
        return false;
    size_t n = strnlen(version, 65);
    return n >= 1 && n <= 64 && bundle_name_valid(version, n) && strstr(version, "..") == NULL;
}

const char *bundle_policy_name(const struct bundle_policy *p)
{
    return p != NULL && p->pinned ? "pinned" : "open";
}

/* One "VERSION DIGEST" line (without its newline) into p. */
static TR_RESULT parse_line(const char *s, size_t n, struct bundle_policy *p)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == n || s[i] == '#')
        return TR_SUCCESS;
    size_t v0 = i;
    while (i < n && s[i] != ' ' && s[i] != '\t')
        i++;
    size_t vlen = i - v0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t d0 = i;
    TR_ENSURE(vlen >= 1 && vlen <= 64 && n - d0 == 64, TR_ERR_BUNDLE_ALLOWLIST);
    TR_ENSURE(p->n < BUNDLE_POLICY_MAX, TR_ERR_BUNDLE_ALLOWLIST);
    struct bundle_allowed *a = &p->allowed[p->n];
    memcpy(a->version, s + v0, vlen);
    a->version[vlen] = '\0';
    memcpy(a->digest, s + d0, 64);
    a->digest[64] = '\0';
    TR_ENSURE(bundle_version_valid(a->version) && bundle_digest_valid(a->digest),
              TR_ERR_BUNDLE_ALLOWLIST);
    p->n++;
    return TR_SUCCESS;
}

tr_result bundle_allowlist_parse(const char *text, size_t len, struct bundle_policy *p,
                                 size_t *bad_line)
{
    TR_ENSURE_REF(p);
    TR_ENSURE(text != NULL || len == 0, TR_ERR_NULL_ARG);
    TR_ENSURE(len <= BUNDLE_ALLOWLIST_MAX_BYTES, TR_ERR_BUNDLE_ALLOWLIST);
    TR_ENSURE(memchr(text, '\0', len) == NULL, TR_ERR_BUNDLE_ALLOWLIST);
    p->n = 0;
    size_t line = 0, start = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        tr_result r = parse_line(text + start, end - start, p);
        if (!tr_ok(r)) {
            if (bad_line)
                *bad_line = line;
            p->n = 0;
            return r;
        }
        start = end + 1;
    }
    return TR_SUCCESS;
}

tr_result bundle_allowlist_load(const char *path, struct bundle_policy *p, size_t *bad_line)
{
    TR_ENSURE(path != NULL && path[0] != '\0', TR_ERR_BUNDLE_ALLOWLIST);
    struct tr_buf b;
    tr_buf_init(&b, BUNDLE_ALLOWLIST_MAX_BYTES);
    tr_result res = tr_file_read(path, BUNDLE_ALLOWLIST_MAX_BYTES, 0, &b);
    if (tr_ok(res))
        res = bundle_allowlist_parse((const char *)b.data, b.len, p, bad_line);
    else
        res = tr_fail_at(TR_ERR_BUNDLE_ALLOWLIST, __FILE__, __LINE__);
    tr_buf_free(&b);
    return res;
}

bool bundle_policy_allows(const struct bundle_policy *p, const char *version, const char *digest)
{
    if (p == NULL || !p->pinned)
        return true;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->allowed[i].version, version) == 0 &&
            strcmp(p->allowed[i].digest, digest) == 0)
            return true;
    }
    return false;
}

bool bundle_policy_lists(const struct bundle_policy *p, const char *version)
{
    if (p == NULL || !p->pinned)
        return true;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->allowed[i].version, version) == 0)
            return true;
    }
    return false;
}
