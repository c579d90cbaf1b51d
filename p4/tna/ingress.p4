// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast, TNA only: the ingress pipeline (the shared one is
 * p4/controls/ingress.p4; the same controls under the same names, the same
 * decisions). The TNA main includes this file first, so its include guard
 * keeps the shared file out.
 *
 * What differs is the order, for Tofino's stages: the shared pipeline is a
 * sequence of features each gated by `!meta.fwd.done`, and on Tofino every
 * test of a field an earlier table wrote waits for that table's stage. Here
 * the steps that only look up or compute (and write only their feature's
 * metadata or meta.arch) run ahead of the decisions before them:
 *
 *   L3Classify        before the packet-out handling (it reads only
 *                     headers); skipped, as in the shared pipeline, for the
 *                     controller's own heartbeat request. Its results are
 *                     read only by features that run on undecided packets.
 *   IpValidate        applied to every packet; its checks are gated inside
 *                     (p4/tna/validate.p4), its subtractions are not.
 *   MembershipPunt /  one or the other: membership acts only on IGMP and on
 *   NeighbourTrust    ICMPv6 with a Hop-by-Hop header without shim, trust
 *                     only on p4cast packets and heartbeats (exclusive).
 *   OverlayDedup      the lookup on every shim packet; the window where the
 *                     shared pipeline applies dedup (p4/tna/overlay_dedup.p4).
 *   Heartbeat         on every packet without shim; lookups ahead, the
 *                     decisions gated on !meta.fwd.done (controls/heartbeat.p4).
 *   McastXlate/Nat64  looked up on every packet without shim; their results
 *                     are read by XlateHeader, which runs where the shared
 *                     pipeline runs it, and by the TNA wrapper's checksum
 *                     flags, which test the translated header's validity.
 */
#ifndef P4CAST_CONTROL_INGRESS_P4
#define P4CAST_CONTROL_INGRESS_P4

#include "../controls/packet_io.p4"
#include "../controls/validate.p4"
#include "../controls/l3_forward.p4"
#include "../controls/membership.p4"
#include "../controls/trust.p4"
#include "../controls/heartbeat.p4"
#include "../controls/overlay_dedup.p4"
#include "../controls/tree_replication.p4"
#include "../controls/session_encap.p4"
#include "../controls/burst_meter.p4"
#include "../controls/nat64.p4"
#include "../controls/mcast_xlate.p4"
#include "../controls/xlate.p4"

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
        /* The controller's heartbeat request for every peer (heartbeat.p4;
         * TNA has no recirculated ticks): only the heartbeat applies. Tested
         * on the header, before PacketIoIngress invalidates it. */
        if (!(hdr.packet_out.isValid()
              && (hdr.packet_out.flags & (PACKET_OUT_FLAG_DIRECT | PACKET_OUT_FLAG_HB_FANOUT))
                 == PACKET_OUT_FLAG_HB_FANOUT)) {
            l3_classify.apply(hdr, meta);
        }
        packet_io.apply(hdr, meta);
        bool own_heartbeat = meta.heartbeat.fanout;
        validate.apply(hdr, meta);          /* checks gated inside */
        if (!meta.fwd.done && !own_heartbeat) {
            if (!hdr.shim.isValid()
                    && (hdr.igmp.isValid() || (hdr.icmpv6.isValid() && hdr.ipv6_hbh.isValid()))) {
                membership.apply(hdr, meta);
            } else {
                trust.apply(hdr, meta);
            }
        }
        /* The two exclusive branches, p4cast packets and the rest (for the
         * compiler: the tables of one are not ordered after the other's). */
        bool to_tree = false;
        bool to_route = false;
        if (hdr.shim.isValid()) {
            /* Lookup ahead; the window where the shared pipeline applies
             * dedup: a tree copy (multicast outer destination) or an overlay
             * copy addressed to this router, undecided (overlay_dedup.p4). An
             * overlay copy passing through on its way to another last hop of
             * the same session does not take its sequence number from this
             * router's window. */
            dedup.apply(hdr, meta);
            if (!meta.fwd.done) {
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
            }
        } else {
            /* Translation lookups ahead (the shared pipeline applies them
             * to an undecided plain packet not addressed to us), before the
             * heartbeat's reflection rewrites addresses. */
            if ((hdr.ipv4.isValid() && hdr.ipv4.dst_addr[31:28] == 0xE)
                    || (hdr.ipv6.isValid() && hdr.ipv6.dst_addr[127:120] == 0xFF)) {
                mcast_xlate.apply(hdr, meta);
            } else {
                nat64.apply(hdr, meta);
            }
            heartbeat.apply(hdr, meta);     /* decisions gated inside */
            if (!meta.fwd.done) {
                if (meta.heartbeat.reflected) {
                    to_route = true;
                } else if (meta.l3.is_local) {
                    set_drop(meta.fwd, DROP_LOCAL_UNHANDLED);
                } else {
                    xlate.apply(hdr, meta);     /* lookups: above */
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
