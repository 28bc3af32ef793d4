/* teerex_http: parsers of the untrusted bytes a proving server reads before
 * any crypto: the PROXY protocol header (v1 text, v2 binary), the /prove JSON
 * body, the prover input container (ultra_honk scheme), version strings and
 * nonces from headers, and the TRUSTED_PROXIES address list. All pure: bytes
 * in, a struct and a tr_result out; policy (status codes) is the server's.
 */
#ifndef TEEREX_HTTP_H
#define TEEREX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "teerex/buf.h"
#include "teerex/result.h"

/* ---- PROXY protocol (haproxy.org proxy-protocol.txt, v1 and v2) ---- */
#define HTTP_PROXY_V1_MAX 107         /* spec: a v1 line is at most 107 bytes incl. CRLF */
#define HTTP_PROXY_V2_MAX (16 + 2048) /* our cap on v2 header + address/TLV block */

struct http_proxy_info {
    int version;                 /* 1 or 2 */
    bool local;                  /* v2 LOCAL command or v1 UNKNOWN: use the socket peer */
    int family;                  /* AF_INET, AF_INET6, or AF_UNSPEC (unknown / unix) */
    struct sockaddr_storage src; /* valid when family != AF_UNSPEC */
    struct sockaddr_storage dst;
    size_t header_len; /* bytes the header occupies: the HTTP stream starts after them */
};

/* Parses a PROXY header at the start of p[0..n). TR_ERR_HTTP_PROXY_INCOMPLETE
 * means "need more bytes" (only while n is below the maximum header size);
 * any other error means the connection must be closed. */
TR_RESULT http_proxy_parse(const uint8_t *p, size_t n, struct http_proxy_info *out);

/* ---- POST /prove body: {"data":"<base64>"} ---- */
/* Parses the JSON body and decodes data into out (its cap applies).
 * TR_ERR_HTTP_BODY_NOT_JSON ("Malformed request body"),
 * TR_ERR_HTTP_BODY_BAD_SHAPE ("Invalid request body: expected { data: string }"),
 * TR_ERR_HTTP_BODY_BAD_BASE64. */
TR_RESULT http_prove_body_parse(const uint8_t *body, size_t len, struct tr_buf *out);

/* ---- Prover input container (scheme ultra_honk; docs/PROTOCOL-EXT.md) ----
 * "TRXC", u8 version (1), u8 count, count x { u8 name_len, name, u32be size,
 * bytes }, nothing after. Names: [a-z0-9._-]{1,64}, no "..", from the
 * scheme's allow-list, each at most once; every allowed name is required. */
#define HTTP_CONTAINER_MAGIC "TRXC"
#define HTTP_CONTAINER_VERSION 1
#define HTTP_CONTAINER_MAX_ENTRIES 8
#define HTTP_CONTAINER_MAX_NAME 64

struct http_container_entry {
    char name[HTTP_CONTAINER_MAX_NAME + 1];
    struct tr_slice data; /* borrowed from the parsed bytes */
};
struct http_container {
    size_t count;
    struct http_container_entry entries[HTTP_CONTAINER_MAX_ENTRIES];
};

/* allowed: NULL-terminated list of names; all of them must be present. */
TR_RESULT http_container_parse(const uint8_t *p, size_t n, const char *const *allowed,
                               struct http_container *out);
/* Writer (the client CLI uses it): appends a container with the given entries. */
TR_RESULT http_container_write(const struct http_container *c, struct tr_buf *out);
/* Allow-list of the ultra_honk scheme: program.json, witness.gz. */
extern const char *const HTTP_CONTAINER_ULTRA_HONK[];

/* ---- Small validators of header values ---- */
/* [0-9A-Za-z._+-]{1,64} and no "..": safe as one path component. */
TR_RESULT http_version_validate(const char *s);
/* Hex of at most 512 bytes (1024 digits) into out. Empty is allowed. */
TR_RESULT http_nonce_parse(const char *s, struct tr_buf *out);

/* ---- Address lists (TRUSTED_PROXIES) ---- */
struct http_cidr {
    int family; /* AF_INET / AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
};
/* "10.0.0.0/8", "::1", "127.0.0.1" (a bare address is a /32 or /128). */
TR_RESULT http_cidr_parse(const char *s, struct http_cidr *out);
/* True when the address (AF_INET/AF_INET6, v4-mapped v6 compared as v4) is in c. */
bool http_cidr_match(const struct http_cidr *c, const struct sockaddr *sa);

/* ---- X-Forwarded-For (only from a peer in TRUSTED_PROXIES) ---- */
#define HTTP_FORWARDED_MAX_VALUE 4096 /* bytes of one header line */
#define HTTP_FORWARDED_MAX_HOPS 32    /* entries walked from the right */
/* values: the X-Forwarded-For header lines in the order received. Walks the
 * entries from the right, skipping trusted proxies; *client becomes the first
 * untrusted address (or the left-most trusted one when all are trusted) and
 * *out_replaced true. It is left alone (the socket peer stays the client)
 * when the right-most entry is unreadable; an unreadable entry further left
 * ends the walk at the address right of it. TR_ERR_HTTP_BAD_FORWARDED: a
 * header line longer than HTTP_FORWARDED_MAX_VALUE. */
TR_RESULT http_forwarded_client(const char *const *values, size_t n_values,
                                const struct http_cidr *trusted, size_t n_trusted,
                                struct sockaddr_storage *client, bool *out_replaced);

#endif
