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

/*
 * Neighbour trust (controls/trust.p4): which neighbour may send which p4cast
 * or heartbeat packet. Tree parents: one entry per (session, port) a router
 * receives the session's tree copies on -- one per session, two while a
 * repair moves the tree (the new parent is admitted before the old one is
 * removed). Overlay senders: one per (session, ingress router, port) of each
 * overlay path through the router. Heartbeat neighbours: one per (port,
 * peer address) of each watched link, at both ends.
 */
#define P4CAST_TREE_TRUST_SIZE       2048   /* 2 x P4CAST_MAX_SESSIONS */
#define P4CAST_OVERLAY_TRUST_SIZE    4096
#define P4CAST_HB_TRUST_SIZE         512    /* 2 x P4CAST_MAX_HB_PEERS */

/*
 * Dedup window (controls/overlay_dedup.p4, tna/overlay_dedup.p4).
 *   WINDOW  history length: sequence numbers H-63 .. H are remembered.
 *   SPAN    how far from H a sequence number is still "in the window's
 *           reach": up to SPAN ahead it advances the window as usual (a
 *           gap of up to SPAN - 1 lost packets); up to SPAN behind it is a
 *           duplicate / late copy / too old as usual. Farther away (either
 *           side) it is OUT OF WINDOW: dropped, and the window does not move.
 *   RESYNC  the window jumps to an out-of-window sequence number only when
 *           it is the RESYNC-th packet of a run that agrees: every packet of
 *           the run 1..64 ahead of the run's previous one (copies of the
 *           run's last 64 neither extend nor break it). P4-Protect-style
 *           reset: one forged or corrupted sequence number never moves the
 *           window, a restarted sender costs RESYNC - 1 packets.
 */
#define P4CAST_DEDUP_WINDOW          64
#define P4CAST_DEDUP_SPAN            1024
#define P4CAST_DEDUP_RESYNC          4

/* Diagnostic counters indexed by small codes (drop reason, punt reason). */
#define P4CAST_REASON_CODES          32

#endif /* P4CAST_SIZES_P4 */
