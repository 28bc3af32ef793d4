/* PROXY protocol version 2 header writer (HAProxy's proxy-protocol.txt,
 * section 2.2): the real client address travels to teerexd ahead of the
 * relayed bytes, so it can log and rate-limit per client. Only the writer is
 * here; teerexd's parser (lib/http) is tested against it end to end. */
#ifndef TEEREX_RT_PROXYV2_H
#define TEEREX_RT_PROXYV2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "teerex/result.h"

#define RT_PROXYV2_MAX 232 /* 16 + 216 (two AF_UNIX paths) */

/* Builds `PROXY` (cmd 1) over STREAM for IPv4 or IPv6 src/dst (an IPv4-mapped
 * IPv6 address is sent as IPv4); any other source family (vsock, unix) is
 * sent as AF_UNSPEC with no address block, which receivers must accept and
 * ignore. dst may be NULL (zero address of src's family). */
TR_RESULT rt_proxyv2_build(const struct sockaddr *src, socklen_t src_len,
                           const struct sockaddr *dst, socklen_t dst_len,
                           uint8_t out[RT_PROXYV2_MAX], size_t *out_len);

#endif
