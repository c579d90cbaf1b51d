// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: the architecture-neutral ingress pipeline. It only instantiates
 * the feature controls and decides which run; every decision lands in
 * meta.fwd (drop / unicast port / PRE group), which the arch wrapper turns
 * into the target's intrinsic metadata.
 *
 *   packet-out  -> (direct: out)            PacketIoIngress
 *   validation  -> drop malformed           IpValidate
 *   classify    -> outermost dst, local?    L3Classify
 *   IGMP / MLD  -> packet-in                MembershipPunt
 *   trust       -> p4cast / heartbeat from
 *                  an installed neighbour?   NeighbourTrust
 *   heartbeat   -> reflect / consume / punt Heartbeat
 *   p4cast packet (outer IPv4 + shim):
 *       dedup (last hop)                    OverlayDedup
 *       to us (overlay copy): clients' PRE group, or drop
 *       multicast: tree replication; unicast: routed (transit)
 *   plain packet:
 *       to us: drop; else translation       McastXlate | Nat64, XlateHeader
 *       session? meter, encapsulate         SessionClassify, BurstMeter, SessionEncap
 *       multicast: tree replication         TreeReplicationIngress
 *       unicast: routing                    L3Forward
 */
#ifndef P4CAST_CONTROL_INGRESS_P4
#define P4CAST_CONTROL_INGRESS_P4

#include "packet_io.p4"
#include "validate.p4"
#include "l3_forward.p4"
#include "membership.p4"
#include "trust.p4"
#include "heartbeat.p4"
#include "overlay_dedup.p4"
#include "tree_replication.p4"
#include "session_encap.p4"
#include "burst_meter.p4"
#include "nat64.p4"
#include "mcast_xlate.p4"
#include "xlate.p4"

control P4castIngress(inout headers_t hdr, inout metadata_t meta) {
    PacketIoIngress()        packet_io;
    IpValidate()             validate;
    L3Classify()             l3_classify;
    MembershipPunt()         membership;
    NeighbourTrust()         trust;
    Heartbeat()              heartbeat;
    OverlayDedup()           dedup;
    McastXlate()             mcast_xlate;
    Nat64()                  nat64;
    XlateHeader()            xlate;
    SessionClassify()        session;
    BurstMeter()             burst;
    SessionEncap()           encap;
    TreeReplicationIngress() tree;
    L3Forward()              l3;

    /*
     * ingress_drop_counter[reason]: packets and bytes dropped in ingress per
     * DROP_* code (headers.p4). Written by the data plane; read by the
     * controller (every role) and by tests.
     */
    P4CAST_COUNTER(P4CAST_REASON_CODES, ingress_drop_counter);

    apply {
        packet_io.apply(hdr, meta);
        /* The controller's heartbeat request for every peer and its copies
         * (heartbeat.p4) are the switch's own: only the heartbeat applies. */
        bool own_heartbeat = meta.heartbeat.fanout || meta.heartbeat.tick;
        if (!meta.fwd.done && !own_heartbeat) {
            validate.apply(hdr, meta);
        }
        if (!meta.fwd.done && !own_heartbeat) {
            l3_classify.apply(hdr, meta);
            membership.apply(hdr, meta);
        }
        if (!meta.fwd.done && !own_heartbeat) {
            trust.apply(hdr, meta);
        }
        if (!meta.fwd.done) {
            heartbeat.apply(hdr, meta);
        }

        bool to_tree = false;
        bool to_route = false;
        if (!meta.fwd.done) {
            if (hdr.shim.isValid()) {
                /* Only a copy meant for this router passes its window: a tree
                 * copy (multicast outer destination) or an overlay copy
                 * addressed to it. An overlay copy passing through on its way
                 * to another last hop of the same session must not take its
                 * sequence number from this router's window (the router's own
                 * copies of it would then be dropped as duplicates). */
                if (meta.l3.is_local || meta.l3.dst4[31:28] == 0xE) {
                    dedup.apply(hdr, meta);
                }
                if (meta.l3.is_local) {
                    if (!meta.dedup.lasthop) {
                        set_drop(meta.fwd, DROP_UNKNOWN_SESSION);
                    } else if (meta.dedup.verdict == DEDUP_DUPLICATE) {
                        set_drop(meta.fwd, DROP_DUPLICATE);
                    } else if (meta.dedup.verdict == DEDUP_TOO_OLD) {
                        set_drop(meta.fwd, DROP_TOO_OLD);
                    } else if (meta.dedup.verdict == DEDUP_OUT_OF_WINDOW) {
                        set_drop(meta.fwd, DROP_OUT_OF_WINDOW);
                    } else if (meta.dedup.client_grp == 0) {
                        set_drop(meta.fwd, DROP_UNKNOWN_SESSION);  /* no clients */
                    } else {
                        meta.fwd.mcast_grp = meta.dedup.client_grp;
                        meta.fwd.done = true;
                    }
                } else if (meta.l3.dst4[31:28] == 0xE) {
                    to_tree = true;
                } else {
                    to_route = true;
                }
            } else if (meta.heartbeat.reflected) {
                to_route = true;
            } else if (meta.l3.is_local) {
                set_drop(meta.fwd, DROP_LOCAL_UNHANDLED);
            } else {
                if ((hdr.ipv4.isValid() && hdr.ipv4.dst_addr[31:28] == 0xE)
                        || (hdr.ipv6.isValid() && hdr.ipv6.dst_addr[127:120] == 0xFF)) {
                    mcast_xlate.apply(hdr, meta);
                } else {
                    nat64.apply(hdr, meta);
                }
                xlate.apply(hdr, meta);
                if (!meta.fwd.done) {
                    session.apply(hdr, meta);
                    burst.apply(hdr, meta);
                    encap.apply(hdr, meta);
                }
                if (!meta.fwd.done) {
                    if ((meta.l3.has_ipv4 && meta.l3.dst4[31:28] == 0xE)
                            || (!meta.l3.has_ipv4 && hdr.ipv6.isValid()
                                && hdr.ipv6.dst_addr[127:120] == 0xFF)) {
                        to_tree = true;
                    } else {
                        to_route = true;
                    }
                }
            }
        }

        if (to_tree) {
            tree.apply(hdr, meta);
        } else if (to_route) {
            l3.apply(hdr, meta);
        }

        if (!meta.fwd.done) {
            set_drop(meta.fwd, DROP_NO_ROUTE);
        }
        if (meta.fwd.drop) {
            P4CAST_COUNT(ingress_drop_counter, meta.fwd.drop_reason);
        }
    }
}

#endif /* P4CAST_CONTROL_INGRESS_P4 */
