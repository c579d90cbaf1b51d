// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: L2/L3 base.
 *
 * L3Classify (early in ingress): which header is the outermost IPv4 header
 * (outer_ipv4 of an encapsulated packet, else ipv4), its destination, and
 * whether that destination is one of this switch's own addresses
 * (ipv4_local_exact: loopback for overlay copies, heartbeat address).
 *
 * L3Forward (last in ingress, unicast): LPM on the outermost destination ->
 * next-hop id -> neighbour (port, source MAC, destination MAC), with
 * TTL / hop-limit decrement. A packet arriving with TTL 0 or 1 is dropped
 * (it may not leave with TTL 0); no ICMP time-exceeded is generated.
 */
#ifndef P4CAST_CONTROL_L3_FORWARD_P4
#define P4CAST_CONTROL_L3_FORWARD_P4

control L3Classify(inout headers_t hdr, inout metadata_t meta) {

    action mark_local() {
        meta.l3.is_local = true;
    }

    /* This switch's own IPv4 addresses (controller, every role). */
    table ipv4_local_exact {
        key = {
            meta.l3.dst4 : exact @name("dst_addr");
        }
        actions = {
            mark_local;
            @defaultonly NoAction;
        }
        size = P4CAST_LOCAL_ADDR_SIZE;
        default_action = NoAction();
    }

    apply {
#ifdef P4CAST_TARGET_TNA
        /* TNA: the parser sets has_ipv4, dst4 and the L4 ports in the
         * states that extract those headers (p4/tna/parser.p4), so that
         * the lookup needs no stage of its own before it. */
        if (meta.l3.has_ipv4) {
            ipv4_local_exact.apply();
        }
#else
        if (hdr.outer_ipv4.isValid()) {
            meta.l3.has_ipv4 = true;
            meta.l3.dst4 = hdr.outer_ipv4.dst_addr;
        } else if (hdr.ipv4.isValid()) {
            meta.l3.has_ipv4 = true;
            meta.l3.dst4 = hdr.ipv4.dst_addr;
        }
        if (meta.l3.has_ipv4) {
            ipv4_local_exact.apply();
        }
        if (hdr.udp.isValid()) {
            meta.l4.valid = true;
            meta.l4.src_port = hdr.udp.src_port;
            meta.l4.dst_port = hdr.udp.dst_port;
        } else if (hdr.tcp.isValid()) {
            meta.l4.valid = true;
            meta.l4.src_port = hdr.tcp.src_port;
            meta.l4.dst_port = hdr.tcp.dst_port;
        }
#endif
    }
}

control L3Forward(inout headers_t hdr, inout metadata_t meta) {

    action drop_no_route() {
        set_drop(meta.fwd, DROP_NO_ROUTE);
    }

    action route_to_nexthop(nexthop_t nexthop_id) {
        meta.l3.nexthop = nexthop_id;
    }

    action forward_to_neighbor(port_t port, mac_addr_t src_mac, mac_addr_t dst_mac) {
        meta.fwd.egress_port = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
#ifdef P4CAST_TARGET_TNA
        meta.fwd.done = true;        /* TNA: decided here (apply, below) */
#endif
    }

    /* IPv4 routes on the outermost IPv4 destination (controller, every role). */
    table ipv4_lpm {
        key = {
            meta.l3.dst4 : lpm @name("dst_addr");
        }
        actions = {
            route_to_nexthop;
            drop_no_route;
        }
        size = P4CAST_IPV4_LPM_SIZE;
        default_action = drop_no_route();
    }

    /* IPv6 routes (controller, every role). */
    table ipv6_lpm {
        key = {
            hdr.ipv6.dst_addr : lpm @name("dst_addr");
        }
        actions = {
            route_to_nexthop;
            drop_no_route;
        }
        size = P4CAST_IPV6_LPM_SIZE;
        default_action = drop_no_route();
    }

    /* Neighbours: next-hop id -> port and MAC rewrite (controller, every role). */
    table nexthop_exact {
        key = {
            meta.l3.nexthop : exact @name("nexthop_id");
        }
        actions = {
            forward_to_neighbor;
            drop_no_route;
        }
        size = P4CAST_NEXTHOP_SIZE;
        default_action = drop_no_route();
    }

#ifdef P4CAST_TARGET_TNA
    /*
     * TNA: the TTL test and decrement of the header that carries the TTL
     * are one hidden constant-entry table (the first entry that matches
     * decides; a TTL of 0 or 1 is 0 &&& 0xFE) whose action picks the LPM,
     * and a route the next hop, instead of chains of conditions (a table
     * per leaf on Tofino, in each of the three places that apply this).
     */
    @hidden action route_expired() { set_drop(meta.fwd, DROP_TTL_EXPIRED); }
    @hidden action route_outer4() { hdr.outer_ipv4.ttl = hdr.outer_ipv4.ttl - 1; }
    @hidden action route_ipv4() { hdr.ipv4.ttl = hdr.ipv4.ttl - 1; }
    @hidden action route_ipv6() { hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1; }
    @hidden table route_ttl_step {
        key = { hdr.outer_ipv4.isValid() : ternary; hdr.ipv4.isValid() : ternary;
                hdr.ipv6.isValid() : ternary;       hdr.outer_ipv4.ttl : ternary;
                hdr.ipv4.ttl : ternary;             hdr.ipv6.hop_limit : ternary; }
        actions = { route_expired; route_outer4; route_ipv4; route_ipv6; drop_no_route; }
        const default_action = drop_no_route();        /* no IP header */
        size = 6;
        const entries = {
            (true,  _,     _,    0 &&& 0xFE, _, _):    route_expired();
            (true,  _,     _,    _, _, _):             route_outer4();
            (false, true,  _,    _, 0 &&& 0xFE, _):    route_expired();
            (false, true,  _,    _, _, _):             route_ipv4();
            (false, false, true, _, _, 0 &&& 0xFE):    route_expired();
            (false, false, true, _, _, _):             route_ipv6();
        }
    }
    apply {
        switch (route_ttl_step.apply().action_run) {
            route_outer4:
            route_ipv4: { switch (ipv4_lpm.apply().action_run) {
                              route_to_nexthop: { nexthop_exact.apply(); } } }
            route_ipv6: { switch (ipv6_lpm.apply().action_run) {
                              route_to_nexthop: { nexthop_exact.apply(); } } }
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

        if (!v4 && !v6) {
            drop_no_route();
        } else if (ttl <= 1) {
            set_drop(meta.fwd, DROP_TTL_EXPIRED);
        } else if (v4) {
            ipv4_lpm.apply();
        } else if (hdr.ipv6.isValid()) {
            ipv6_lpm.apply();
        }

        if (!meta.fwd.drop) {
            nexthop_exact.apply();
        }

        if (!meta.fwd.drop) {
            if (hdr.outer_ipv4.isValid()) {
                hdr.outer_ipv4.ttl = ttl - 1;
            } else if (hdr.ipv4.isValid()) {
                hdr.ipv4.ttl = ttl - 1;
            } else if (hdr.ipv6.isValid()) {
                hdr.ipv6.hop_limit = ttl - 1;
            }
            meta.fwd.done = true;
        }
    }
#endif
}

#endif /* P4CAST_CONTROL_L3_FORWARD_P4 */
