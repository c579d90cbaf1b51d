// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: multicast tree replication.
 *
 * Ingress: the outermost IPv4 destination (for a p4cast packet: the
 * session's group in outer_ipv4) or the IPv6 destination, if multicast, is
 * looked up exactly and mapped to a packet replication engine (PRE) group.
 * The controller programs the PRE group with one replica per tree branch
 * (port, rid) and, at a last-hop router, one replica per local client. TTL
 * / hop limit is decremented once here, before replication; a packet with
 * TTL 0 or 1 is not replicated. The Ethernet destination becomes the IP
 * multicast MAC (RFC 1112: 01:00:5e + low 23 bits; RFC 2464: 33:33 + low
 * 32 bits).
 *
 * Egress: a tree replica (rid in mcast_replica_rid_exact) gets the source
 * MAC of its outgoing port.
 */
#ifndef P4CAST_CONTROL_TREE_REPLICATION_P4
#define P4CAST_CONTROL_TREE_REPLICATION_P4

control TreeReplicationIngress(inout headers_t hdr, inout metadata_t meta) {

    action replicate_to_group(mcast_grp_t mcast_grp) {
        meta.fwd.mcast_grp = mcast_grp;
        meta.fwd.done = true;
#ifdef P4CAST_TARGET_TNA
        meta.arch.tree_hit = true;   /* TNA: group 0 is dropped at the end (ingress.p4) */
#endif
    }

    action drop_no_group() {
        set_drop(meta.fwd, DROP_NO_ROUTE);
    }

    /* IPv4 multicast group -> PRE group (controller: every router on a
     * session's tree, for the session's group address). */
    table ipv4_mcast_exact {
        key = {
            meta.l3.dst4 : exact @name("group_addr");
        }
        actions = {
            replicate_to_group;
            drop_no_group;
        }
        size = P4CAST_IPV4_MCAST_SIZE;
        default_action = drop_no_group();
    }

    /* IPv6 multicast group -> PRE group (controller: routers forwarding
     * translated or native IPv6 multicast). */
    table ipv6_mcast_exact {
        key = {
            hdr.ipv6.dst_addr : exact @name("group_addr");
        }
        actions = {
            replicate_to_group;
            drop_no_group;
        }
        size = P4CAST_IPV6_MCAST_SIZE;
        default_action = drop_no_group();
    }

#ifdef P4CAST_TARGET_TNA
    /*
     * TNA: TTL test, decrement and multicast MAC in one hidden table whose
     * action picks the lookup (as route_ttl_step in l3_forward.p4). A hit
     * on group 0 is dropped as NO_ROUTE by the TNA ingress's last step.
     */
    @hidden action tree_expired() { set_drop(meta.fwd, DROP_TTL_EXPIRED); }
    @hidden action tree_outer4() {
        hdr.outer_ipv4.ttl = hdr.outer_ipv4.ttl - 1;
        hdr.ethernet.dst_addr = 24w0x01005e ++ 1w0 ++ hdr.outer_ipv4.dst_addr[22:0];
    }
    @hidden action tree_ipv4() {
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        hdr.ethernet.dst_addr = 24w0x01005e ++ 1w0 ++ hdr.ipv4.dst_addr[22:0];
    }
    @hidden action tree_ipv6() {
        hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
        hdr.ethernet.dst_addr = 16w0x3333 ++ hdr.ipv6.dst_addr[31:0];
    }
    @hidden table tree_ttl_step {
        key = { hdr.outer_ipv4.isValid() : ternary; hdr.ipv4.isValid() : ternary;
                hdr.ipv6.isValid() : ternary;       hdr.outer_ipv4.ttl : ternary;
                hdr.ipv4.ttl : ternary;             hdr.ipv6.hop_limit : ternary; }
        actions = { tree_expired; tree_outer4; tree_ipv4; tree_ipv6; drop_no_group; }
        const default_action = drop_no_group();        /* no IP header */
        size = 6;
        const entries = {
            (true,  _,     _,    0 &&& 0xFE, _, _):    tree_expired();
            (true,  _,     _,    _, _, _):             tree_outer4();
            (false, true,  _,    _, 0 &&& 0xFE, _):    tree_expired();
            (false, true,  _,    _, _, _):             tree_ipv4();
            (false, false, true, _, _, 0 &&& 0xFE):    tree_expired();
            (false, false, true, _, _, _):             tree_ipv6();
        }
    }
    apply {
        switch (tree_ttl_step.apply().action_run) {
            tree_outer4:
            tree_ipv4: { ipv4_mcast_exact.apply(); }
            tree_ipv6: { ipv6_mcast_exact.apply(); }
        }
    }
#else
    apply {
        bool    v4 = false;
        bool    v6 = false;
        bit<8>  ttl = 0;
        if (hdr.outer_ipv4.isValid()) {
            v4 = true;
            ttl = hdr.outer_ipv4.ttl;
        } else if (hdr.ipv4.isValid()) {
            v4 = true;
            ttl = hdr.ipv4.ttl;
        } else if (hdr.ipv6.isValid()) {
            v6 = true;
            ttl = hdr.ipv6.hop_limit;
        }

        bool hit = false;
        if (!v4 && !v6) {
            drop_no_group();
        } else if (ttl <= 1) {
            set_drop(meta.fwd, DROP_TTL_EXPIRED);
        } else if (v4) {
            hit = ipv4_mcast_exact.apply().hit;
        } else if (hdr.ipv6.isValid()) {
            hit = ipv6_mcast_exact.apply().hit;
        }

        if (hit && meta.fwd.mcast_grp == 0) {
            set_drop(meta.fwd, DROP_NO_ROUTE);     /* group 0: no replicas */
        } else if (hit) {
            if (hdr.outer_ipv4.isValid()) {
                hdr.outer_ipv4.ttl = ttl - 1;
                hdr.ethernet.dst_addr = 0x01005e000000 | (bit<48>)hdr.outer_ipv4.dst_addr[22:0];
            } else if (hdr.ipv4.isValid()) {
                hdr.ipv4.ttl = ttl - 1;
                hdr.ethernet.dst_addr = 0x01005e000000 | (bit<48>)hdr.ipv4.dst_addr[22:0];
            } else if (hdr.ipv6.isValid()) {
                hdr.ipv6.hop_limit = ttl - 1;
                hdr.ethernet.dst_addr = 0x333300000000 | (bit<48>)hdr.ipv6.dst_addr[31:0];
            }
        }
    }
#endif
}

control TreeReplicationEgress(inout headers_t hdr, inout metadata_t meta) {

    action rewrite_replica_src_mac(mac_addr_t src_mac) {
        hdr.ethernet.src_addr = src_mac;
    }

    /* Tree replicas: rid -> source MAC of the outgoing port (controller:
     * every router on a tree, one entry per (group, branch) replica). */
    table mcast_replica_rid_exact {
        key = {
            meta.intrinsic.egress_rid : exact @name("egress_rid");
        }
        actions = {
            rewrite_replica_src_mac;
            @defaultonly NoAction;
        }
        size = P4CAST_REPLICA_RID_SIZE;
        default_action = NoAction();
    }

    apply {
        mcast_replica_rid_exact.apply();
    }
}

#endif /* P4CAST_CONTROL_TREE_REPLICATION_P4 */
