/* Loopback bring-up for an enclave: the Nitro enclave boots with `lo` down
 * and without 127.0.0.1 (seed: `ip link set lo up` alone left the server
 * unreachable). There is no ifconfig/iproute2 in our image, so teerex-init
 * talks rtnetlink itself. */
#ifndef TEEREX_RT_NETLINK_H
#define TEEREX_RT_NETLINK_H

#include "teerex/result.h"

/* RTM_NEWLINK (IFF_UP) on "lo", then RTM_NEWADDR 127.0.0.1/8 (an existing
 * address is fine); every request carries NLM_F_ACK and the ack's error is
 * checked. */
TR_RESULT rt_loopback_up(void);
/* Proves loopback works: listen on 127.0.0.1:0, connect, accept. */
TR_RESULT rt_loopback_verify(void);

#endif
