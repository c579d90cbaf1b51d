// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: last-hop delivery (egress, per PRE replica).
 *
 * A client replica (egress_rid in lasthop_client_rid_exact) of an accepted
 * p4cast packet (meta.dedup.accept) loses its outer IPv4 header and shim;
 * the original packet's destination becomes the client's address, its TTL
 * / hop limit is decremented (a packet arriving with 0 or 1 is dropped), the UDP / TCP
 * (or ICMPv6) checksum is corrected incrementally for the pseudo-header
 * change, and the Ethernet header is rewritten for the client. Replicas of
 * duplicates, too-old packets or packets of sessions not served here are
 * dropped; so is a replica whose client family does not match the packet.
 * Every copy that leaves for a client is counted per (session, client) in
 * lasthop_client_delivered_counter, the direct counter of
 * lasthop_client_session_exact (the dedup verdicts before replication are
 * per session only: overlay_dedup.p4).
 */
#ifndef P4CAST_CONTROL_LASTHOP_DELIVERY_P4
#define P4CAST_CONTROL_LASTHOP_DELIVERY_P4

control LastHopDeliveryEgress(inout headers_t hdr, inout metadata_t meta) {

    action deliver_to_client_v4(ipv4_addr_t client_addr, mac_addr_t src_mac,
                                mac_addr_t dst_mac) {
        meta.delivery.to_v4 = true;
        meta.delivery.client4 = client_addr;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
    }

    action deliver_to_client_v6(ipv6_addr_t client_addr, mac_addr_t src_mac,
                                mac_addr_t dst_mac) {
        meta.delivery.to_v6 = true;
        meta.delivery.client6 = client_addr;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
    }

    /* Client replicas: rid -> client address and MACs (controller: last-hop
     * router role, one entry per (session, client)). */
    table lasthop_client_rid_exact {
        key = {
            meta.intrinsic.egress_rid : exact @name("egress_rid");
        }
        actions = {
            deliver_to_client_v4;
            deliver_to_client_v6;
            @defaultonly NoAction;
        }
        size = P4CAST_CLIENT_RID_SIZE;
        default_action = NoAction();
    }

    /*
     * lasthop_client_delivered_counter: packets and bytes of the copies sent
     * to one client of one session (one cell per lasthop_client_session_exact
     * entry, P4Runtime DirectCounterEntry). Written by the data plane; read
     * by the controller (last-hop role) on demand: live view, p4cast watch.
     */
    P4CAST_DIRECT_COUNTER(lasthop_client_delivered_counter);

    action count_client_copy() {
        P4CAST_DIRECT_COUNT(lasthop_client_delivered_counter);
    }

    /* The delivered counter of each (session, client replica) (controller:
     * last-hop router role, one entry per (session, client), beside the
     * client's lasthop_client_rid_exact entry). Applied to copies that leave
     * for a client, while the shim still names the session. */
    table lasthop_client_session_exact {
        key = {
            hdr.shim.session_id       : exact @name("session_id");
            meta.intrinsic.egress_rid : exact @name("egress_rid");
        }
        actions = {
            count_client_copy;
            @defaultonly NoAction;
        }
        size = P4CAST_CLIENT_RID_SIZE;
        default_action = NoAction();
        counters = lasthop_client_delivered_counter;
    }

    apply {
        if (hdr.shim.isValid()) {
            lasthop_client_rid_exact.apply();
        }
        if (meta.delivery.to_v4 || meta.delivery.to_v6) {
            if (!meta.dedup.accept) {
                if (meta.dedup.verdict == DEDUP_TOO_OLD) {
                    set_drop(meta.fwd, DROP_TOO_OLD);
                } else if (meta.dedup.verdict == DEDUP_OUT_OF_WINDOW) {
                    set_drop(meta.fwd, DROP_OUT_OF_WINDOW);
                } else if (meta.dedup.lasthop) {
                    set_drop(meta.fwd, DROP_DUPLICATE);
                } else {
                    set_drop(meta.fwd, DROP_UNKNOWN_SESSION);
                }
            } else if ((meta.delivery.to_v4 && hdr.ipv4.isValid() && hdr.ipv4.ttl <= 1) ||
                       (meta.delivery.to_v6 && hdr.ipv6.isValid() && hdr.ipv6.hop_limit <= 1)) {
                set_drop(meta.fwd, DROP_TTL_EXPIRED);
            } else if (!(meta.delivery.to_v4 && hdr.ipv4.isValid())
                       && !(meta.delivery.to_v6 && hdr.ipv6.isValid())) {
                set_drop(meta.fwd, DROP_MALFORMED);
            } else {
                /* Delivered: counted while the shim is still there. */
                lasthop_client_session_exact.apply();
                if (meta.delivery.to_v4 && hdr.ipv4.isValid()) {
                    /* L4 checksums first, while the old address is still there. */
                    if (hdr.udp.isValid()) {
                        CSUM16_UPDATE_UDP(hdr.udp.checksum,
                            ~hdr.ipv4.dst_addr, meta.delivery.client4)
                    } else if (hdr.tcp.isValid()) {
                        CSUM16_UPDATE(hdr.tcp.checksum,
                            ~hdr.ipv4.dst_addr, meta.delivery.client4);
                    }
                    hdr.ipv4.dst_addr = meta.delivery.client4;
                    hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                    hdr.outer_ipv4.setInvalid();
                    hdr.shim.setInvalid();
                    hdr.ethernet.ether_type = ETHERTYPE_IPV4;
                } else if (meta.delivery.to_v6 && hdr.ipv6.isValid()) {
                    if (hdr.udp.isValid()) {
                        CSUM16_UPDATE_UDP(hdr.udp.checksum,
                            ~hdr.ipv6.dst_addr, meta.delivery.client6)
                    } else if (hdr.tcp.isValid()) {
                        CSUM16_UPDATE(hdr.tcp.checksum,
                            ~hdr.ipv6.dst_addr, meta.delivery.client6);
                    } else if (hdr.icmpv6.isValid()) {
                        CSUM16_UPDATE(hdr.icmpv6.checksum,
                            ~hdr.ipv6.dst_addr, meta.delivery.client6);
                    }
                    hdr.ipv6.dst_addr = meta.delivery.client6;
                    hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                    hdr.outer_ipv4.setInvalid();
                    hdr.shim.setInvalid();
                    hdr.ethernet.ether_type = ETHERTYPE_IPV6;
                }
            }
        }
    }
}

#endif /* P4CAST_CONTROL_LASTHOP_DELIVERY_P4 */
