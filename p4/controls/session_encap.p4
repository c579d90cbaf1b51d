// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: session classification and encapsulation at the ingress
 * router (the router that receives the application's unicast stream).
 *
 * SessionClassify: (destination address, L4 destination port) of a plain
 * IPv4 or IPv6 UDP/TCP packet -> session. Unfragmented packets only: IPv4
 * fragments (MF or offset != 0) and IPv6 packets with a Fragment header are
 * routed normally (later fragments carry no port, so a session's datagram
 * would otherwise be split between the tunnel and the plain route).
 *
 * SessionEncap (after the burst meter): the original IP packet, its TTL /
 * hop limit decremented (it is routed into the tunnel; TTL 0/1 is dropped),
 * is wrapped in
 *     outer IPv4 (src = this router, dst = session group, protocol 253,
 *                 TTL 64, DF, DSCP/ECN copied from the original)
 *     p4cast shim (version 1, session id, next header 4/41, sequence)
 * with the sequence number taken from session_seq, and handed to the PRE
 * group of the session: its replicas are the tree branches (rid in
 * mcast_replica_rid_exact) and the overlay unicast copies (rid in
 * overlay_peer_rid_exact).
 *
 * OverlayEgress: an overlay replica is readdressed to one last-hop router's
 * loopback, flagged SHIM_FLAG_OVERLAY and given unicast MAC addresses.
 */
#ifndef P4CAST_CONTROL_SESSION_ENCAP_P4
#define P4CAST_CONTROL_SESSION_ENCAP_P4

#ifdef P4CAST_TARGET_TNA
/* TNA: the destination a session is classified on is the one the packet
 * will carry after XlateHeader: meta.xlate.dst4 / dst6, which the parser
 * sets to the packet's own destination and a translation LPM's action to
 * the mapped one (p4/tna/parser.p4, nat64.p4, mcast_xlate.p4). The tables
 * then run beside XlateHeader instead of after it. Same names and widths
 * in P4Info. */
#define P4CAST_SESSION_DST4 meta.xlate.dst4
#define P4CAST_SESSION_DST6 meta.xlate.dst6
#else
#define P4CAST_SESSION_DST4 hdr.ipv4.dst_addr
#define P4CAST_SESSION_DST6 hdr.ipv6.dst_addr
#endif

control SessionClassify(inout headers_t hdr, inout metadata_t meta) {

    action encap_session(session_id_t session_id, ipv4_addr_t group_addr,
                         ipv4_addr_t src_addr, mcast_grp_t mcast_grp,
                         bit<6> yellow_dscp) {
        meta.session.hit = true;
        meta.session.id = session_id;
        meta.session.group_addr = group_addr;
        meta.session.src_addr = src_addr;
        meta.session.mcast_grp = mcast_grp;
        meta.session.yellow_dscp = yellow_dscp;
    }

    /* IPv4 application sessions (controller: ingress router role). */
    table session_v4_exact {
        key = {
            P4CAST_SESSION_DST4 : exact @name("dst_addr");
            meta.l4.dst_port    : exact @name("l4_dst_port");
        }
        actions = {
            encap_session;
            @defaultonly NoAction;
        }
        size = P4CAST_SESSION_CLASSIFY_SIZE;
        default_action = NoAction();
    }

    /* IPv6 application sessions (controller: ingress router role). */
    table session_v6_exact {
        key = {
            P4CAST_SESSION_DST6 : exact @name("dst_addr");
            meta.l4.dst_port    : exact @name("l4_dst_port");
        }
        actions = {
            encap_session;
            @defaultonly NoAction;
        }
        size = P4CAST_SESSION_CLASSIFY_SIZE;
        default_action = NoAction();
    }

    apply {
#ifdef P4CAST_TARGET_TNA
        /* Applied before XlateHeader (p4/tna/ingress.p4), on the header the
         * packet will carry: IPv6 translated to IPv4 (to_v4) is looked up
         * as IPv4, IPv4 translated to IPv6 (to_v6) as IPv6; a translated
         * header is never a fragment (a fragment is not translated but
         * dropped, and then the result is not used). Nested conditions on
         * the headers, no intermediate flag (a stage on Tofino). The
         * session-id range check is in BurstMeter (burst_meter.p4). */
        if (meta.l4.valid) {
            if (hdr.ipv6.isValid() && meta.xlate.to_v4) {
                session_v4_exact.apply();
            } else if (hdr.ipv4.isValid() && meta.xlate.to_v6) {
                session_v6_exact.apply();
            } else if (hdr.ipv4.isValid()) {
                if (hdr.ipv4.flags[0:0] == 0 && hdr.ipv4.frag_offset == 0) {
                    session_v4_exact.apply();
                }
            } else if (hdr.ipv6.isValid()) {
                session_v6_exact.apply();
            }
        }
#else
        bool fragment = false;
        if (hdr.ipv4.isValid()) {
            fragment = hdr.ipv4.flags[0:0] == 1 || hdr.ipv4.frag_offset != 0;
        }
        if (meta.l4.valid && !fragment) {
            if (hdr.ipv4.isValid()) {
                session_v4_exact.apply();
            } else if (hdr.ipv6.isValid()) {
                session_v6_exact.apply();
            }
        }
        if (meta.session.hit && (bit<32>)meta.session.id >= P4CAST_MAX_SESSIONS) {
            /* A session id the arrays cannot hold: a controller error. */
            meta.session.hit = false;
            set_drop(meta.fwd, DROP_UNKNOWN_SESSION);
        }
#endif
    }
}

control SessionEncap(inout headers_t hdr, inout metadata_t meta) {
    /*
     * session_seq[session_id]: the sequence number the next packet of the
     * session gets (then incremented, wrapping mod 2^32). Written by the
     * data plane of the ingress router; the controller may read it, or
     * write it to start a session at a chosen number.
     */
    P4CAST_REGISTER(seq_t, P4CAST_MAX_SESSIONS, session_seq);

#ifdef P4CAST_TARGET_TNA
    /* TNA (the v1model body below is the reference): the inner DSCP ++ ECN
     * gathered as one byte by the hash unit, in an action of its own (an
     * action cannot merge rotated header bits with the outer header's
     * constants); session_seq's RegisterAction in an action of its own; the
     * TTL test, the group-0 test and the rewrite one hidden constant-entry
     * table (encap_step; first match decides) instead of a chain of conditions. */
    Hash<bit<8>>(HashAlgorithm_t.IDENTITY) tc_of_ipv4;
    Hash<bit<8>>(HashAlgorithm_t.IDENTITY) tc_of_ipv6;

#define P4CAST_ENCAP_OUTER(INNER_LEN_PLUS_28, INNER_PROTO)               \
        hdr.outer_ipv4.setValid();                                       \
        hdr.outer_ipv4.version = 4;                                      \
        hdr.outer_ipv4.ihl = 5;                                          \
        hdr.outer_ipv4.dscp = meta.arch.encap_tc[7:2];                   \
        hdr.outer_ipv4.ecn = meta.arch.encap_tc[1:0];                    \
        hdr.outer_ipv4.total_len = INNER_LEN_PLUS_28;                    \
        hdr.outer_ipv4.identification = 0;                               \
        hdr.outer_ipv4.flags = 0b010;                                    \
        hdr.outer_ipv4.frag_offset = 0;                                  \
        hdr.outer_ipv4.ttl = 64;                                         \
        hdr.outer_ipv4.protocol = IP_PROTO_P4CAST;                       \
        hdr.outer_ipv4.hdr_checksum = 0;                                 \
        hdr.outer_ipv4.src_addr = meta.session.src_addr;                 \
        hdr.outer_ipv4.dst_addr = meta.session.group_addr;               \
        hdr.shim.setValid();                                             \
        hdr.shim.version = SHIM_VERSION;                                 \
        hdr.shim.flags = 0;                                              \
        hdr.shim.next_hdr = INNER_PROTO;                                 \
        hdr.shim.session_id = meta.session.id;                           \
        hdr.ethernet.ether_type = ETHERTYPE_IPV4;                        \
        hdr.ethernet.dst_addr = 24w0x01005e ++ 1w0                       \
            ++ meta.session.group_addr[22:0];                            \
        meta.fwd.mcast_grp = meta.session.mcast_grp;                     \
        meta.fwd.done = true;
    @hidden action encap_expired() { set_drop(meta.fwd, DROP_TTL_EXPIRED); }
    @hidden action encap_no_group() { set_drop(meta.fwd, DROP_NO_ROUTE); }   /* group 0: no replicas */
    @hidden action encap_ipv4() {
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        P4CAST_ENCAP_OUTER(hdr.ipv4.total_len + 28, IP_PROTO_IPV4)
    }
    @hidden action encap_ipv6() {
        hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
        P4CAST_ENCAP_OUTER(hdr.ipv6.payload_len + 68, IP_PROTO_IPV6)
    }
    @hidden table encap_step {
        key = {
            hdr.ipv4.isValid() : ternary;   hdr.ipv4.ttl : ternary;
            hdr.ipv6.isValid() : ternary;   hdr.ipv6.hop_limit : ternary;
            meta.session.mcast_grp : ternary;
        }
        actions = { encap_expired; encap_no_group; encap_ipv4; encap_ipv6; }
        const default_action = encap_expired();         /* neither header */
        size = 6;
        const entries = {
            (true,  0 &&& 0xFE, _,    _,          _):  encap_expired();
            (true,  _,          _,    _,          0):  encap_no_group();
            (true,  _,          _,    _,          _):  encap_ipv4();
            (false, _,          true, 0 &&& 0xFE, _):  encap_expired();
            (false, _,          true, _,          0):  encap_no_group();
            (false, _,          true, _,          _):  encap_ipv6();
        }
    }

    apply {
        /* meta.arch.metered: the session passed its range check and was
         * metered; not red (burst_meter.p4: on TNA the two leave
         * meta.session.hit as the lookup set it). No local variables: each
         * is a stage on Tofino (and bf-p4c's metadata overlay of locals
         * with the packet generator's branch stopped it). */
        if (meta.arch.metered && meta.burst.colour != METER_RED) {
            if (hdr.ipv4.isValid()) {
                meta.arch.encap_tc = tc_of_ipv4.get({hdr.ipv4.dscp, hdr.ipv4.ecn});
            } else if (hdr.ipv6.isValid()) {
                meta.arch.encap_tc = tc_of_ipv6.get({hdr.ipv6.dscp, hdr.ipv6.ecn});
            }
            /* The sequence number, on the TTL as it arrived (before the
             * rewrite in program order). */
            if (meta.session.mcast_grp != 0) {
                if ((hdr.ipv4.isValid() && hdr.ipv4.ttl > 1)
                        || (!hdr.ipv4.isValid() && hdr.ipv6.isValid() && hdr.ipv6.hop_limit > 1)) {
                    P4CAST_REG_FETCH_INC(session_seq, meta.session.id, hdr.shim.seq);
                }
            }
            encap_step.apply();
        }
    }
#undef P4CAST_ENCAP_OUTER
#else
    apply {
        if (meta.session.hit) {
            bit<16> inner_len = 0;
            bit<8>  inner_proto = IP_PROTO_IPV4;
            bool    ttl_ok = false;
            bit<6>  dscp = 0;
            bit<2>  ecn = 0;
            if (hdr.ipv4.isValid()) {
                ttl_ok = hdr.ipv4.ttl > 1;
                hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                inner_len = hdr.ipv4.total_len;
                dscp = hdr.ipv4.dscp;
                ecn = hdr.ipv4.ecn;
            } else if (hdr.ipv6.isValid()) {
                ttl_ok = hdr.ipv6.hop_limit > 1;
                hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                inner_len = hdr.ipv6.payload_len + 40;
                inner_proto = IP_PROTO_IPV6;
                dscp = hdr.ipv6.dscp;
                ecn = hdr.ipv6.ecn;
            }

            if (!ttl_ok) {
                set_drop(meta.fwd, DROP_TTL_EXPIRED);
            } else if (meta.session.mcast_grp == 0) {
                set_drop(meta.fwd, DROP_NO_ROUTE);   /* group 0: no replicas */
            } else {
                seq_t seq;
                P4CAST_REG_FETCH_INC(session_seq, meta.session.id, seq);

                hdr.outer_ipv4.setValid();
                hdr.outer_ipv4.version = 4;
                hdr.outer_ipv4.ihl = 5;
                hdr.outer_ipv4.dscp = dscp;
                hdr.outer_ipv4.ecn = ecn;
                hdr.outer_ipv4.total_len = inner_len + 28;
                hdr.outer_ipv4.identification = 0;
                hdr.outer_ipv4.flags = 0b010;
                hdr.outer_ipv4.frag_offset = 0;
                hdr.outer_ipv4.ttl = 64;
                hdr.outer_ipv4.protocol = IP_PROTO_P4CAST;
                hdr.outer_ipv4.hdr_checksum = 0;
                hdr.outer_ipv4.src_addr = meta.session.src_addr;
                hdr.outer_ipv4.dst_addr = meta.session.group_addr;

                hdr.shim.setValid();
                hdr.shim.version = SHIM_VERSION;
                hdr.shim.flags = 0;
                hdr.shim.next_hdr = inner_proto;
                hdr.shim.session_id = meta.session.id;
                hdr.shim.seq = seq;

                hdr.ethernet.ether_type = ETHERTYPE_IPV4;
                hdr.ethernet.dst_addr = 0x01005e000000
                    | (bit<48>)meta.session.group_addr[22:0];

                meta.fwd.mcast_grp = meta.session.mcast_grp;
                meta.fwd.done = true;
            }
        }
    }
#endif
}

control OverlayEgress(inout headers_t hdr, inout metadata_t meta) {

    action overlay_to_peer(ipv4_addr_t peer_addr, mac_addr_t src_mac,
                           mac_addr_t dst_mac) {
        hdr.outer_ipv4.dst_addr = peer_addr;
        hdr.shim.flags = hdr.shim.flags | SHIM_FLAG_OVERLAY;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
    }

    /* Overlay replicas: rid -> a last-hop router's loopback and the first
     * hop of the controller-chosen path (controller: ingress router role,
     * one entry per (session, last-hop router, path)). */
    table overlay_peer_rid_exact {
        key = {
            meta.intrinsic.egress_rid : exact @name("egress_rid");
        }
        actions = {
            overlay_to_peer;
            @defaultonly NoAction;
        }
        size = P4CAST_OVERLAY_RID_SIZE;
        default_action = NoAction();
    }

    apply {
        if (hdr.outer_ipv4.isValid()) {
            overlay_peer_rid_exact.apply();
        }
    }
}

#endif /* P4CAST_CONTROL_SESSION_ENCAP_P4 */
