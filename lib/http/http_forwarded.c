/* X-Forwarded-For, read the way only the trusted part can be believed: each
 * proxy appends the address it received the request from, so the list is
 * written left to right by ever more trusted hops and only its right end is
 * ours. Walk from the right; every entry that is a trusted proxy is skipped;
 * the first one that is not is the client. Entries left of it were written
 * by the client itself and are ignored (the left-most entry is whatever the
 * client wants it to be). */
#include <arpa/inet.h>
#include <string.h>

#include "teerex/http.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* One list entry [p, p+n): "1.2.3.4", "1.2.3.4:80", "2001:db8::1",
 * "[2001:db8::1]" or "[2001:db8::1]:443". */
static bool parse_entry(const char *p, size_t n, struct sockaddr_storage *out)
{
    while (n > 0 && is_ows(*p)) {
        p++;
        n--;
    }
    while (n > 0 && is_ows(p[n - 1]))
        n--;
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *a = buf;
    if (a[0] == '[') {
        char *close = strchr(a, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return false;
        *close = '\0';
        a++;
    } else if (strchr(a, '.') != NULL) {
        char *colon = strchr(a, ':'); /* an IPv4 address with a port */
        if (colon != NULL)
            *colon = '\0';
    }
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *in4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        return true;
    }
    return false;
}

static bool trusted(const struct http_cidr *t, size_t n, const struct sockaddr *sa)
{
    for (size_t i = 0; i < n; i++) {
        if (http_cidr_match(&t[i], sa))
            return true;
    }
    return false;
}

tr_result http_forwarded_client(const char *const *values, size_t n_values,
                                const struct http_cidr *trusted_list, size_t n_trusted,
                                struct sockaddr_storage *client, bool *out_replaced)
{
    TR_ENSURE_REF(client);
    TR_ENSURE_REF(out_replaced);
    *out_replaced = false;
    TR_ENSURE(values != NULL || n_values == 0, TR_ERR_NULL_ARG);
    size_t seen = 0;
    /* The last header line holds the right-most entries. */
    for (size_t v = n_values; v-- > 0;) {
        const char *s = values[v];
        if (s == NULL)
            continue;
        size_t end = strnlen(s, HTTP_FORWARDED_MAX_VALUE + 1);
        TR_ENSURE(end <= HTTP_FORWARDED_MAX_VALUE, TR_ERR_HTTP_BAD_FORWARDED);
        while (end > 0) {
            size_t start = end;
            while (start > 0 && s[start - 1] != ',')
                start--;
            struct sockaddr_storage ss;
            /* An unreadable entry ends the walk: what is left of it cannot
             * be attributed; the client is the last address we could trust. */
            if (++seen > HTTP_FORWARDED_MAX_HOPS || !parse_entry(s + start, end - start, &ss))
                return TR_SUCCESS;
            *client = ss;
            *out_replaced = true;
            if (!trusted(trusted_list, n_trusted, (const struct sockaddr *)&ss))
                return TR_SUCCESS;
            end = start > 0 ? start - 1 : 0;
        }
    }
    return TR_SUCCESS;
}
