// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: user metadata, one sub-struct per feature (the feature's control
 * owns it; others only read it). `intrinsic` is the architecture-neutral
 * view of the target's intrinsic metadata, filled and drained by the
 * wrappers in the architecture file (p4/v1model/arch.p4).
 */
#ifndef P4CAST_METADATA_P4
#define P4CAST_METADATA_P4

/* Filled by the arch wrapper before a pipeline runs; read-only for features. */
struct intrinsic_md_t {
    port_t      ingress_port;
    port_t      egress_port;     /* egress only */
    rid_t       egress_rid;      /* egress only: PRE replica id, 0 = none */
    timestamp_t ingress_ts;
    bool        parser_error;
    bool        checksum_error;
    bit<32>     packet_length;   /* bytes as received, no FCS */
}

/* Forwarding decision; drained by the arch wrapper after a pipeline. */
struct fwd_md_t {
    port_t      egress_port;     /* unicast destination (ingress) */
    mcast_grp_t mcast_grp;       /* != 0: replicate (ingress) */
    bool        drop;
    bit<8>      drop_reason;     /* DROP_* */
    bool        done;            /* decision taken, skip later features */
}

/* Packet I/O (controls/packet_io.p4). */
struct pktio_md_t {
    bool   from_cpu;             /* arrived with a packet_out header */
    bool   to_cpu;
    bit<8> punt_reason;          /* PUNT_REASON_* */
    bit<16> punt_aux;
}

/* L2/L3 forwarding (controls/l3_forward.p4). */
struct l3_md_t {
    bool        has_ipv4;        /* outermost IP is IPv4 (outer_ipv4 or ipv4) */
    ipv4_addr_t dst4;            /* outermost IPv4 destination */
    bool        is_local;        /* dst4 is one of this switch's addresses */
    nexthop_t   nexthop;
}

/* L4 ports of the original packet (UDP or TCP), for classification. */
struct l4_md_t {
    bool    valid;
    bit<16> src_port;
    bit<16> dst_port;
}

/* Session classification + encapsulation (controls/session_encap.p4). */
struct session_md_t {
    bool         hit;
    session_id_t id;
    ipv4_addr_t  group_addr;
    ipv4_addr_t  src_addr;
    mcast_grp_t  mcast_grp;
    bit<6>       yellow_dscp;
}

/* Burst meter (controls/burst_meter.p4). */
struct burst_md_t {
    bit<2> colour;               /* METER_GREEN / _YELLOW / _RED */
}

/* Overlay dedup at a last-hop router (controls/overlay_dedup.p4). */
struct dedup_md_t {
    bool        lasthop;         /* session served here (lasthop_session_exact hit) */
    bool        accept;          /* first copy of (session, seq) */
    bit<2>      verdict;         /* DEDUP_* */
    mcast_grp_t client_grp;      /* PRE group of the session's local clients */
}

/* Last-hop delivery, egress (controls/lasthop_delivery.p4). */
struct delivery_md_t {
    bool        to_v4;           /* lasthop_client_rid_exact: IPv4 client */
    bool        to_v6;           /* lasthop_client_rid_exact: IPv6 client */
    ipv4_addr_t client4;
    ipv6_addr_t client6;
}

/* Heartbeat (controls/heartbeat.p4). */
struct heartbeat_md_t {
    bool         punt;           /* heartbeat_mode_exact says: to the CPU */
    bool         reflected;      /* request turned into a response, to route */
    bool         peer_known;
    @field_list(P4CAST_FL_HB_TICK)
    peer_index_t peer_index;
    bool         fanout;         /* the controller's request for every peer */
    @field_list(P4CAST_FL_HB_TICK)
    bool         tick;           /* one peer's copy of it, back in ingress */
    @field_list(P4CAST_FL_HB_TICK)
    bit<32>      fanout_gap;     /* since the previous request for every peer
                                  * (BMv2: us, saturated) */
    bit<8>       miss_threshold; /* heartbeat_tick_exact */
    bit<32>      min_gap;        /* heartbeat_tick_exact */
    bool         notify;         /* the peer's state changed: digest */
    bit<8>       verdict;        /* HB_PEER_UP / HB_PEER_DOWN */
}

/*
 * Digest (v1model ingress; heartbeat.p4): a heartbeat peer's state changed,
 * one digest per change. seq: the request whose copy found the peer silent
 * (down), or the response that came back (up).
 */
struct hb_verdict_digest_t {
    peer_index_t peer_index;
    bit<8>       state;          /* HB_PEER_UP / HB_PEER_DOWN */
    bit<32>      seq;
}

/* Translation (controls/nat64.p4, controls/mcast_xlate.p4, controls/xlate.p4). */
struct xlate_md_t {
    bool        to_v4;           /* translate IPv6 -> IPv4 */
    bool        to_v6;           /* translate IPv4 -> IPv6 */
    bool        src_ok;          /* source address mapped */
    bool        dst_ok;          /* destination address mapped */
    ipv4_addr_t src4;
    ipv4_addr_t dst4;
    ipv6_addr_t src6;
    ipv6_addr_t dst6;
}

struct metadata_t {
    intrinsic_md_t intrinsic;
    fwd_md_t       fwd;
    pktio_md_t     pktio;
    l3_md_t        l3;
    l4_md_t        l4;
    session_md_t   session;
    burst_md_t     burst;
    dedup_md_t     dedup;
    delivery_md_t  delivery;
    heartbeat_md_t heartbeat;
    xlate_md_t     xlate;
#ifdef P4CAST_ARCH_METADATA
    /* Architecture-specific scratch fields (TNA: RegisterAction operands). */
    P4CAST_ARCH_METADATA
#endif
}

/* dedup_md_t.verdict */
const bit<2> DEDUP_NEW       = 0;
const bit<2> DEDUP_DUPLICATE = 1;
const bit<2> DEDUP_TOO_OLD   = 2;
const bit<2> DEDUP_OUT_OF_WINDOW = 3;  /* > P4CAST_DEDUP_SPAN from H, not a resync */

/* Decide to drop, for reason `reason` (DROP_*); later features are skipped. */
void set_drop(inout fwd_md_t fwd, in bit<8> reason) {
    fwd.drop = true;
    fwd.drop_reason = reason;
    fwd.done = true;
}

/* Decide to send the packet to the controller (packet-in). */
void set_punt(inout fwd_md_t fwd, inout pktio_md_t pktio,
              in bit<8> reason, in bit<16> aux) {
    pktio.to_cpu = true;
    pktio.punt_reason = reason;
    pktio.punt_aux = aux;
    fwd.egress_port = CPU_PORT;
    fwd.done = true;
}

#endif /* P4CAST_METADATA_P4 */
