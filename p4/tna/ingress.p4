// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast, TNA only: the ingress pipeline (the shared one is
 * p4/controls/ingress.p4; the same controls under the same names, the same
 * decisions). The TNA main includes this file first, so its include guard
 * keeps the shared file out.
 *
 * What differs is the order, for Tofino's stages: the shared pipeline is a
 * sequence of features each gated by `!meta.fwd.done`, and on Tofino every
 * test of a field an earlier table wrote waits for that table's stage, and
 * two tables that write the same field are ordered unless they sit in
 * exclusive branches. Here:
 *
 *   stage 0           every lookup on the headers and on what the parser
 *                     classified (L3Classify's table, the trust tables, the
 *                     dedup session, the translation LPMs, the operands of
 *                     the checks and of the dedup window), and the
 *                     packet-out step (packet_out_step, below, in place of
 *                     the shared PacketIoIngress);
 *   one table         IpValidate's checks, the membership punts and the
 *                     trust verdicts, in the shared order, as one @hidden
 *                     ternary table (p4/tna/validate.p4);
 *   three branches    p4cast packets (the dedup window, then the last hop's
 *                     decision, one @hidden ternary table, or the
 *                     tree/route step); plain packets to this switch
 *                     (Heartbeat); plain packets to others (SessionClassify
 *                     on the destination they will carry, beside
 *                     XlateHeader, then either BurstMeter + SessionEncap or
 *                     the tree/route step). TreeReplicationIngress and
 *                     L3Forward are applied in each branch that needs them,
 *                     so that no table of one branch is ordered after
 *                     another's;
 *   last              one drop count (NO_ROUTE for an undecided packet or a
 *                     tree hit on group 0: the TNA wrapper drops it without
 *                     a second write).
 * Each table with constant entries is @hidden, and so are its actions: not
 * control-plane objects (the same P4Info names as v1model otherwise). The
 * shared controls' TNA blocks turn their chains of conditions into such
 * tables too (docs/tofino.md, "How it fits in twelve stages").
 */
#ifndef P4CAST_CONTROL_INGRESS_P4
#define P4CAST_CONTROL_INGRESS_P4

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
    IpValidate()             validate;
    L3Classify()             l3_classify;
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

    /*
     * PacketIoIngress (p4/controls/packet_io.p4, the reference; it holds no
     * control-plane object) as one hidden constant-entry table instead of
     * its chain of conditions (a table per leaf on Tofino): a packet from
     * the controller with DIRECT leaves through its egress port (a STAMP
     * heartbeat request gets UDP checksum 0, as no deparser checksum engine
     * is left for it, docs/tofino.md, and origin_ts, in a step of its own
     * after the table: the timestamp is copied one stage before); FANOUT
     * is marked (IpValidate drops it: data-plane verdicts are v1model
     * only); any other runs through the pipeline.
     */
    @hidden action pktout_pipeline() {
        meta.pktio.from_cpu = true;
        hdr.packet_out.setInvalid();
    }
    @hidden action pktout_fanout() {
        meta.pktio.from_cpu = true;
        meta.heartbeat.fanout = true;
        hdr.packet_out.setInvalid();
    }
    @hidden action pktout_direct() {
        meta.pktio.from_cpu = true;
        meta.fwd.egress_port = hdr.packet_out.egress_port;
        meta.fwd.done = true;
        hdr.packet_out.setInvalid();
    }
    @hidden action pktout_direct_stamp() {
        meta.pktio.from_cpu = true;
        meta.fwd.egress_port = hdr.packet_out.egress_port;
        meta.fwd.done = true;
        hdr.packet_out.setInvalid();
        hdr.udp.checksum = 0;
    }
    @hidden
    table packet_out_step {
        key = {
            hdr.packet_out.isValid() : ternary;
            hdr.packet_out.flags     : ternary;
            hdr.heartbeat.isValid()  : ternary;
            hdr.udp.isValid()        : ternary;
            hdr.heartbeat.msg_type   : ternary;
            hdr.heartbeat.flags      : ternary;
        }
        actions = {
            pktout_pipeline;
            pktout_fanout;
            pktout_direct;
            pktout_direct_stamp;
            NoAction;
        }
        const default_action = NoAction();
        size = 4;
        const entries = {
            (true, PACKET_OUT_FLAG_DIRECT &&& PACKET_OUT_FLAG_DIRECT, true, true,
             HB_TYPE_REQUEST, HB_FLAG_STAMP &&& HB_FLAG_STAMP):            pktout_direct_stamp();
            (true, PACKET_OUT_FLAG_DIRECT &&& PACKET_OUT_FLAG_DIRECT, _, _, _, _):
                                                                          pktout_direct();
            (true, PACKET_OUT_FLAG_HB_FANOUT &&& PACKET_OUT_FLAG_HB_FANOUT, _, _, _, _):
                                                                          pktout_fanout();
            (true, _, _, _, _, _):                                        pktout_pipeline();
        }
    }

    @hidden action lh_drop(bit<8> reason) {
        set_drop(meta.fwd, reason);
    }

    @hidden action lh_deliver() {
        meta.fwd.mcast_grp = meta.dedup.client_grp;
        meta.fwd.done = true;
    }

    /*
     * The last hop's decision for a p4cast packet addressed to this router,
     * in the shared pipeline's order (the first entry that matches decides):
     * not a last hop of the session -> UNKNOWN_SESSION; duplicate, too old,
     * out of window -> their drops; no clients (group 0) -> UNKNOWN_SESSION;
     * else the clients' PRE group. It reads what the dedup window's step
     * wrote (p4/tna/overlay_dedup.p4: the slot marked or not, seen, ahead,
     * too old), not the verdict written from them, so that it sits in the
     * verdict's stage. One ternary table with constant entries instead of a
     * gateway and a table per leaf. @hidden: not a control-plane object.
     */
    @hidden
    table lasthop_verdict {
        key = {
            meta.dedup.lasthop      : ternary;
            meta.arch.dedup_mark    : ternary;
            meta.arch.dedup_seen    : ternary;
            meta.arch.dedup_ahead   : ternary;
            meta.arch.dedup_too_old : ternary;
            meta.dedup.client_grp   : ternary;
        }
        actions = {
            lh_drop;
            lh_deliver;
        }
        const default_action = lh_deliver();
        size = 6;
        const entries = {
            (false, _, _, _, _, _):                 lh_drop(DROP_UNKNOWN_SESSION);
            (true, true, 1 &&& 1, false, _, _):     lh_drop(DROP_DUPLICATE);
            (true, false, _, _, true, _):           lh_drop(DROP_TOO_OLD);
            (true, false, _, _, false, _):          lh_drop(DROP_OUT_OF_WINDOW);
            (true, _, _, _, _, 0):                  lh_drop(DROP_UNKNOWN_SESSION);  /* no clients */
        }
    }

    apply {
        /* Lookups ahead; the early decisions in one chain (validate.p4:
         * packet-out DIRECT skips it, MembershipPunt's conditions and the
         * trust verdicts are its last links). */
        l3_classify.apply(hdr, meta);
        switch (packet_out_step.apply().action_run) {
            pktout_direct_stamp: {
                hdr.heartbeat.origin_ts = (bit<64>)meta.intrinsic.ingress_ts;
            }
        }
        trust.apply(hdr, meta);
        validate.apply(hdr, meta);
        /* Translation lookups on every plain packet, ahead of the
         * is_local test (results in meta.xlate only; XlateHeader uses them
         * on a packet not addressed to this switch). */
        if (!hdr.shim.isValid()) {
            if ((hdr.ipv4.isValid() && hdr.ipv4.dst_addr[31:28] == 0xE)
                    || (hdr.ipv6.isValid() && hdr.ipv6.dst_addr[127:120] == 0xFF)) {
                mcast_xlate.apply(hdr, meta);
            } else {
                nat64.apply(hdr, meta);
            }
        }

        /* Three exclusive branches, each with its own tree / route step
         * (TreeReplicationIngress and L3Forward are applied in more than
         * one branch: their tables exist once). On Tofino a table that
         * reads a field is placed no earlier than a table before it that
         * writes it and no later than one after it that writes it, unless
         * the two sit in exclusive branches: a tree/route step after the
         * branches was ordered after SessionEncap's writes, and SessionEncap
         * (which writes the shim) after the dedup window's reads of it. */
        if (hdr.shim.isValid()) {
            /* The dedup session lookup; the window where the shared
             * pipeline applies dedup: a tree copy (multicast outer
             * destination) or an overlay copy addressed to this router,
             * undecided (overlay_dedup.p4). An overlay copy passing through
             * on its way to another last hop of the same session does not
             * take its sequence number from this router's window. */
            dedup.apply(hdr, meta);
            if (meta.fwd.done) {
                /* decided before */
            } else if (meta.l3.is_local) {
                /* to this router: its session's clients, or a drop, from
                 * the dedup verdict (lasthop_verdict, above) */
                lasthop_verdict.apply();
            } else if (meta.l3.dst4[31:28] == 0xE) {
                tree.apply(hdr, meta);
            } else {
                l3.apply(hdr, meta);
            }
        } else if (meta.l3.is_local) {
            heartbeat.apply(hdr, meta);
            if (meta.fwd.done) {
                /* decided by the heartbeat (or before) */
            } else if (meta.heartbeat.reflected) {
                l3.apply(hdr, meta);
            } else {
                set_drop(meta.fwd, DROP_LOCAL_UNHANDLED);
            }
        } else {
            session.apply(hdr, meta);   /* on the destination after XlateHeader */
            xlate.apply(hdr, meta);     /* gated on !meta.fwd.done inside */
            if (meta.session.hit) {
                burst.apply(hdr, meta);     /* range check, meter, colours */
                encap.apply(hdr, meta);
            } else if (meta.fwd.done) {
                /* dropped by the translation (or before) */
            } else if ((meta.l3.has_ipv4 && meta.l3.dst4[31:28] == 0xE)
                       || (!meta.l3.has_ipv4 && hdr.ipv6.isValid()
                           && hdr.ipv6.dst_addr[127:120] == 0xFF)) {
                tree.apply(hdr, meta);
            } else {
                l3.apply(hdr, meta);
            }
        }

        /* An undecided packet is dropped as NO_ROUTE, as in the shared
         * pipeline, and so is a tree hit on group 0 (no replicas:
         * TreeReplicationIngress's own last step on v1model); the TNA
         * wrapper drops both on the same conditions (arch.p4), so the
         * decision is not written twice (a stage). */
        if (!meta.fwd.done || (meta.arch.tree_hit && meta.fwd.mcast_grp == 0)) {
            P4CAST_COUNT(ingress_drop_counter, DROP_NO_ROUTE);
        } else if (meta.fwd.drop) {
            P4CAST_COUNT(ingress_drop_counter, meta.fwd.drop_reason);
        }
    }
}

#endif /* P4CAST_CONTROL_INGRESS_P4 */
