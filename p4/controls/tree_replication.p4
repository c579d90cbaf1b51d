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
     * TNA: the same decisions without the intermediate values (each is a
     * stage on Tofino): the TTL tests read the header that carries the
     * TTL, and the TTL and MAC rewrite run beside the lookup (a miss drops
     * the packet, so they do not matter then). A hit whose group is 0
     * (no replicas) is dropped one step later, as in the v1model body.
     */
    apply {
        if (hdr.outer_ipv4.isValid() && hdr.outer_ipv4.ttl <= 1) {
            set_drop(meta.fwd, DROP_TTL_EXPIRED);
        } else if (!hdr.outer_ipv4.isValid() && hdr.ipv4.isValid() && hdr.ipv4.ttl <= 1) {
            set_drop(meta.fwd, DROP_TTL_EXPIRED);
        } else if (hdr.outer_ipv4.isValid() || hdr.ipv4.isValid()) {
            /* each table is applied once (bf-p4c: a table applied in more
             * than one place of a control that is itself applied in more
             * than one place loses its next-table information) */
            if (hdr.outer_ipv4.isValid()) {
                hdr.outer_ipv4.ttl = hdr.outer_ipv4.ttl - 1;
                hdr.ethernet.dst_addr = 24w0x01005e ++ 1w0 ++ hdr.outer_ipv4.dst_addr[22:0];
            } else {
                hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                hdr.ethernet.dst_addr = 24w0x01005e ++ 1w0 ++ hdr.ipv4.dst_addr[22:0];
            }
            ipv4_mcast_exact.apply();
        } else if (hdr.ipv6.isValid()) {
            if (hdr.ipv6.hop_limit <= 1) {
                set_drop(meta.fwd, DROP_TTL_EXPIRED);
            } else {
                hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                hdr.ethernet.dst_addr = 16w0x3333 ++ hdr.ipv6.dst_addr[31:0];
                ipv6_mcast_exact.apply();
            }
        } else {
            drop_no_group();
        }
        /* A hit on group 0 (no replicas) is dropped as NO_ROUTE by the TNA
         * ingress's last step (meta.arch.tree_hit, p4/tna/ingress.p4 and
         * arch.p4): a check here, after the tables, stopped bf-p4c, which
         * applies this control in two places ("applied in multiple places,
         * and the next-table information cannot correctly propagate"). */
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
