// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: header types.
 *
 * Order: typedefs, protocol constants, standard headers, then the p4cast
 * custom headers (controller packet-in/out, multicast shim, heartbeat), each
 * preceded by its wire format. docs/packet-formats.md is the long form.
 * Nothing here depends on the target architecture.
 */
#ifndef P4CAST_HEADERS_P4
#define P4CAST_HEADERS_P4

/*************************************************************************
 ***************************  T Y P E D E F S  ***************************
 *************************************************************************/

typedef bit<9>   port_t;        /* switch port (v1model and TNA: 9 bits)   */
typedef bit<48>  mac_addr_t;
typedef bit<32>  ipv4_addr_t;
typedef bit<128> ipv6_addr_t;
typedef bit<16>  session_id_t;  /* p4cast session; also a cell index      */
typedef bit<32>  seq_t;         /* per-session sequence, wraps mod 2^32   */
typedef bit<16>  mcast_grp_t;   /* packet replication engine group        */
typedef bit<16>  rid_t;         /* replica id (egress_rid)                */
typedef bit<16>  nexthop_t;     /* next-hop (neighbour) id                */
typedef bit<32>  peer_index_t;  /* heartbeat peer: a cell index           */
typedef bit<48>  timestamp_t;   /* target ingress timestamp (BMv2: us)    */

/*************************************************************************
 ********************  P R O T O C O L   N U M B E R S  ******************
 *************************************************************************/

/* The CPU port: simple_switch_grpc --cpu-port 255. An architecture file
 * may define P4CAST_CPU_PORT first (TNA: the device's PCIe CPU port). */
#ifndef P4CAST_CPU_PORT
#define P4CAST_CPU_PORT 255
#endif
const port_t CPU_PORT = P4CAST_CPU_PORT;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_IPV6 = 0x86DD;

const bit<8> IP_PROTO_HOPOPT = 0;     /* IPv6 Hop-by-Hop Options          */
const bit<8> IP_PROTO_ICMP   = 1;
const bit<8> IP_PROTO_IGMP   = 2;
const bit<8> IP_PROTO_IPV4   = 4;     /* IPv4-in-IP (shim next header)    */
const bit<8> IP_PROTO_TCP    = 6;
const bit<8> IP_PROTO_UDP    = 17;
const bit<8> IP_PROTO_IPV6   = 41;    /* IPv6-in-IP (shim next header)    */
const bit<8> IP_PROTO_ICMPV6 = 58;
/* p4cast multicast shim: RFC 3692 experimental protocol number 253. */
const bit<8> IP_PROTO_P4CAST = 253;

/* p4cast heartbeat: UDP port 49374 (0xC0DE), IANA dynamic range (RFC 6335). */
const bit<16> UDP_PORT_HEARTBEAT = 0xC0DE;

const bit<8> ICMP_ECHO_REPLY     = 0;
const bit<8> ICMP_ECHO_REQUEST   = 8;
const bit<8> ICMPV6_ECHO_REQUEST = 128;
const bit<8> ICMPV6_ECHO_REPLY   = 129;
const bit<8> ICMPV6_MLD_QUERY    = 130;
const bit<8> ICMPV6_MLD_V1_REPORT = 131;
const bit<8> ICMPV6_MLD_V1_DONE   = 132;
const bit<8> ICMPV6_MLD_V2_REPORT = 143;

const bit<8> IGMP_MEMBERSHIP_QUERY = 0x11;
const bit<8> IGMP_V1_REPORT        = 0x12;
const bit<8> IGMP_V2_REPORT        = 0x16;
const bit<8> IGMP_V2_LEAVE         = 0x17;
const bit<8> IGMP_V3_REPORT        = 0x22;

/* ECN codepoints (RFC 3168). */
const bit<2> ECN_NOT_ECT = 0;
const bit<2> ECN_CE      = 3;

/* Multicast shim. */
const bit<4> SHIM_VERSION      = 1;
const bit<4> SHIM_FLAG_OVERLAY = 0x1;   /* sent as unicast over the overlay */

/* Heartbeat. */
const bit<4> HB_VERSION       = 1;
const bit<4> HB_TYPE_REQUEST  = 1;
const bit<4> HB_TYPE_RESPONSE = 2;
const bit<8> HB_FLAG_LINK     = 0x01;   /* reflect out of the ingress port  */
const bit<8> HB_FLAG_STAMP    = 0x02;   /* origin_ts is the requesting switch's
                                         * own timestamp (round trip in its
                                         * data plane: hb_rtt)               */
const bit<8> HB_FLAG_REPORT   = 0x04;   /* in the controller's request for
                                         * every peer: report each peer
                                         * already judged down (cleared
                                         * before a copy leaves)             */
/* A heartbeat peer's state as the data plane judges it (hb_state; the
 * verdict digest). UP is the cells' initial value. */
const bit<8> HB_PEER_UP       = 0;
const bit<8> HB_PEER_DOWN     = 1;
/* The PRE group that turns the controller's one request per interval into
 * one copy per heartbeat peer (replica instance = peer index). Fixed: the
 * controller writes it in place, outside the two banks of session groups
 * (ids below 2048). */
const mcast_grp_t HB_MCAST_GROUP = 0x3FFF;
/* v1model field list kept by a heartbeat peer's copy as it goes back to
 * ingress (meta.heartbeat.tick, peer_index). */
#define P4CAST_FL_HB_TICK 1

/* Packet-out flags. */
const bit<7> PACKET_OUT_FLAG_DIRECT = 0x01; /* skip ingress, use egress_port */
const bit<7> PACKET_OUT_FLAG_HB_FANOUT = 0x02; /* a heartbeat request for every
                                                * peer (HB_MCAST_GROUP)      */

/* Packet-in reason codes (packet_in.reason). */
const bit<8> PUNT_REASON_NONE        = 0;
const bit<8> PUNT_REASON_IGMP        = 1;  /* IGMP v1/v2/v3 report or leave */
const bit<8> PUNT_REASON_MLD         = 2;  /* MLD v1/v2 report or done     */
const bit<8> PUNT_REASON_HEARTBEAT   = 3;  /* heartbeat, heartbeat_mode_exact */

/* Drop reason codes: cell index of drop_reason_counter. */
const bit<8> DROP_PARSER_ERROR    = 1;   /* parser error (truncated, bad version) */
const bit<8> DROP_CHECKSUM        = 2;   /* IPv4 header checksum wrong       */
const bit<8> DROP_TRUNCATED       = 3;   /* IP length beyond the frame       */
const bit<8> DROP_TTL_EXPIRED     = 4;   /* TTL / hop limit 0 or 1           */
const bit<8> DROP_NO_ROUTE        = 5;   /* no LPM / multicast / neighbour   */
const bit<8> DROP_LOCAL_UNHANDLED = 6;   /* addressed to us, nothing to do   */
const bit<8> DROP_UNKNOWN_SESSION = 7;   /* shim for a session not served    */
const bit<8> DROP_DUPLICATE       = 8;   /* dedup: copy already delivered    */
const bit<8> DROP_TOO_OLD         = 9;   /* dedup: behind the 64-seq window  */
const bit<8> DROP_METER_RED       = 10;  /* burst meter: red                 */
const bit<8> DROP_XLATE           = 11;  /* translation impossible           */
const bit<8> DROP_HB_UNKNOWN_PEER = 12;  /* heartbeat response, unknown peer */
const bit<8> DROP_HB_CONSUMED     = 13;  /* heartbeat response consumed      */
const bit<8> DROP_MALFORMED       = 14;  /* IP header fields inconsistent    */
const bit<8> DROP_UNTRUSTED_TREE  = 15;  /* tree copy not from the tree parent (tree_parent_exact) */
const bit<8> DROP_UNTRUSTED_OVERLAY = 16; /* unicast p4cast copy not from an overlay path (overlay_sender_exact) */
const bit<8> DROP_UNTRUSTED_HEARTBEAT = 17; /* heartbeat to us not from a heartbeat neighbour (heartbeat_neighbor_exact) */
const bit<8> DROP_OUT_OF_WINDOW   = 18;  /* dedup: more than SPAN from the window, no resync */

/*************************************************************************
 *********************  S T A N D A R D   H E A D E R S  *****************
 *************************************************************************/

header ethernet_h {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

/* IPv4 base header (RFC 791); options, if any, in ipv4_options_h. */
header ipv4_h {
    bit<4>      version;
    bit<4>      ihl;
    bit<6>      dscp;
    bit<2>      ecn;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;          /* reserved, DF, MF */
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

/* IPv4 options: (ihl - 5) * 4 bytes, at most 40. */
header ipv4_options_h {
    varbit<320> data;
}

header ipv6_h {
    bit<4>      version;
    bit<6>      dscp;           /* traffic class, high 6 bits */
    bit<2>      ecn;            /* traffic class, low 2 bits  */
    bit<20>     flow_label;
    bit<16>     payload_len;
    bit<8>      next_hdr;
    bit<8>      hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

/*
 * IPv6 Hop-by-Hop Options header (RFC 8200 4.3): the first 8 octets (which
 * hold the Router Alert option of an MLD message) ...
 */
header ipv6_hbh_h {
    bit<8>  next_hdr;
    bit<8>  hdr_ext_len;        /* 8-octet units beyond the first 8 */
    bit<48> options;
}

/* ... and the rest, hdr_ext_len * 8 octets (we accept up to 56). */
header ipv6_hbh_ext_h {
    varbit<448> options;
}

/* ICMP (RFC 792) and ICMPv6 (RFC 4443) share the first 8 octets' layout:
 * type, code, checksum and a 32-bit word (identifier + sequence for echo). */
header icmp_h {
    bit<8>  msg_type;
    bit<8>  code;
    bit<16> checksum;
    bit<16> identifier;
    bit<16> seq_no;
}

/* IGMP: the common first 8 octets of v2 messages (RFC 2236) and of v3
 * reports (RFC 3376: reserved, checksum, reserved, number of records). */
header igmp_h {
    bit<8>  msg_type;
    bit<8>  max_resp_or_reserved;
    bit<16> checksum;
    bit<32> group_or_records;
}

header udp_h {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

/* TCP fixed header (RFC 9293); options stay in the payload. */
header tcp_h {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  reserved;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

/*************************************************************************
 ***********************  P 4 C A S T   H E A D E R S  *******************
 *************************************************************************/

/*
 * Packet-in (switch -> controller), 5 octets, before the Ethernet header of
 * every packet sent to CPU_PORT:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-----------------+-------------+---------------+---------------+
 *  |  ingress_port   |    _pad     |    reason     |  aux (high)   |
 *  +-----------------+-------------+---------------+---------------+
 *  |  aux (low)    |
 *  +---------------+
 *
 * ingress_port: the port the packet arrived on. reason: PUNT_REASON_*.
 * aux: reason-specific (heartbeat: peer index, else 0).
 */
@controller_header("packet_in")
header packet_in_h {
    port_t  ingress_port;
    bit<7>  _pad;
    bit<8>  reason;
    bit<16> aux;
}

/*
 * Packet-out (controller -> switch), 2 octets, before the Ethernet header of
 * every packet the controller injects:
 *
 *   0                   1
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 *  +-----------------+-------------+
 *  |   egress_port   |    flags    |
 *  +-----------------+-------------+
 *
 * flags bit 0 (PACKET_OUT_FLAG_DIRECT): send the frame unchanged out of
 * egress_port. Without it the frame runs through the ingress pipeline as if
 * it had arrived on CPU_PORT (routing, encapsulation, ...).
 */
@controller_header("packet_out")
header packet_out_h {
    port_t egress_port;
    bit<7> flags;
}

/*
 * p4cast multicast shim, 8 octets, after an outer IPv4 header with
 * protocol 253 (IP_PROTO_P4CAST) and before the original IP packet:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------+-------+---------------+-------------------------------+
 *  |Version| Flags |  Next Header  |          Session ID           |
 *  +-------+-------+---------------+-------------------------------+
 *  |                        Sequence Number                        |
 *  +---------------------------------------------------------------+
 *
 * Version: 1. Flags: 0x1 = overlay (unicast copy to a last-hop router's
 * loopback); other bits zero. Next Header: 4 (IPv4) or 41 (IPv6), the
 * original packet that follows. Session ID: assigned by the controller.
 * Sequence Number: per session, from the ingress router's session_seq
 * register, wraps modulo 2^32 (serial-number arithmetic, RFC 1982).
 */
header p4cast_shim_h {
    bit<4>       version;
    bit<4>       flags;
    bit<8>       next_hdr;
    session_id_t session_id;
    seq_t        seq;
}

/*
 * p4cast heartbeat, 24 octets, the payload of a UDP datagram to port
 * 49374 (UDP_PORT_HEARTBEAT) over IPv4:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------+-------+---------------+-------------------------------+
 *  |Version| Type  |     Flags     |           Origin ID           |
 *  +-------+-------+---------------+-------------------------------+
 *  |                        Sequence Number                        |
 *  +---------------------------------------------------------------+
 *  |                 Origin Timestamp (64 bits)                    |
 *  +---------------------------------------------------------------+
 *  |                 Reflect Timestamp (64 bits)                   |
 *  +---------------------------------------------------------------+
 *
 * Version: 1. Type: 1 request, 2 response. Flags: 0x01 LINK (reflect out of
 * the port the request came in on, Ethernet addresses swapped; otherwise the
 * response is routed); 0x02 STAMP (the requesting switch's data plane puts
 * its own ingress timestamp into Origin Timestamp as the request leaves, and
 * measures the round trip in its own clock when the response comes back).
 * Origin ID, Sequence Number, Origin Timestamp: chosen by the requester (with
 * STAMP: Origin Timestamp by its switch) and echoed unchanged. Reflect
 * Timestamp: zero in a request; the reflecting switch's ingress timestamp
 * (BMv2: microseconds) in a response.
 */
header heartbeat_h {
    bit<4>  version;
    bit<4>  msg_type;
    bit<8>  flags;
    bit<16> origin_id;
    bit<32> seq;
    bit<64> origin_ts;
    bit<64> reflect_ts;
}

/*************************************************************************
 ***********************  H E A D E R   S T R U C T  *********************
 *************************************************************************/

/*
 * Deparse order = field order. outer_ipv4 + shim exist only on encapsulated
 * packets; ipv4/ipv6 and everything after them are the original packet.
 */
struct headers_t {
    packet_in_h    packet_in;
    packet_out_h   packet_out;
    ethernet_h     ethernet;
    ipv4_h         outer_ipv4;
    p4cast_shim_h  shim;
    ipv4_h         ipv4;
    ipv4_options_h ipv4_options;
    ipv6_h         ipv6;
    ipv6_hbh_h     ipv6_hbh;
    ipv6_hbh_ext_h ipv6_hbh_ext;
    icmp_h         icmp;
    icmp_h         icmpv6;
    igmp_h         igmp;
    udp_h          udp;
    tcp_h          tcp;
    heartbeat_h    heartbeat;
}

/* Parser errors beyond core.p4's. */
error {
    IPv4IncorrectVersion,
    IPv4HeaderTooShort,
    IPv6IncorrectVersion,
    ShimIncorrectVersion,
    TcpHeaderTooShort
}

#endif /* P4CAST_HEADERS_P4 */
