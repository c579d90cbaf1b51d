// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: every capacity of the data plane in one place.
 *
 * Table sizes and the number of cells of every register, counter and meter
 * array. Plain #defines so that the same values can be used in extern
 * constructor arguments and in `size =` on any architecture (v1model today,
 * TNA later). The controller must keep indices below these bounds; they are
 * also listed in docs/tables.md.
 */
#ifndef P4CAST_SIZES_P4
#define P4CAST_SIZES_P4

/* Sessions: session ids are register/meter/counter indices, 0..MAX-1. */
#define P4CAST_MAX_SESSIONS          1024

/* Heartbeat peers: peer indices are register/counter indices, 0..MAX-1. */
#define P4CAST_MAX_HB_PEERS          256

/* L2/L3 forwarding. */
#define P4CAST_IPV4_LPM_SIZE         4096
#define P4CAST_IPV6_LPM_SIZE         4096
#define P4CAST_NEXTHOP_SIZE          1024
#define P4CAST_LOCAL_ADDR_SIZE       64

/* Multicast tree replication. */
#define P4CAST_IPV4_MCAST_SIZE       1024
#define P4CAST_IPV6_MCAST_SIZE       1024
#define P4CAST_REPLICA_RID_SIZE      4096

/* Session classification / encapsulation / overlay copies. */
#define P4CAST_SESSION_CLASSIFY_SIZE P4CAST_MAX_SESSIONS
#define P4CAST_OVERLAY_RID_SIZE      4096

/* Last-hop delivery. */
#define P4CAST_LASTHOP_SESSION_SIZE  P4CAST_MAX_SESSIONS
#define P4CAST_CLIENT_RID_SIZE       8192

/* Translation (RFC 7915 / RFC 6052 / RFC 7757 / RFC 8114 style). */
#define P4CAST_XLATE_LPM_SIZE        1024
#define P4CAST_MCAST_XLATE_SIZE      256

/* Heartbeat mode table (keyed by message type: at most 16 entries). */
#define P4CAST_HB_MODE_SIZE          16

/* Diagnostic counters indexed by small codes (drop reason, punt reason). */
#define P4CAST_REASON_CODES          32

#endif /* P4CAST_SIZES_P4 */
