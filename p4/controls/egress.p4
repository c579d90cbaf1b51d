// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: the architecture-neutral egress pipeline.
 *
 *   PRE replica (rid)  -> tree replica MAC            TreeReplicationEgress
 *                         overlay unicast copy        OverlayEgress
 *                         client delivery (decap)     LastHopDeliveryEgress
 *   to CPU_PORT        -> packet_in header            PacketIoEgress
 * A rid is expected in at most one of the three rid tables.
 */
#ifndef P4CAST_CONTROL_EGRESS_P4
#define P4CAST_CONTROL_EGRESS_P4

#include "packet_io.p4"
#include "tree_replication.p4"
#include "session_encap.p4"
#include "lasthop_delivery.p4"

control P4castEgress(inout headers_t hdr, inout metadata_t meta) {
    PacketIoEgress()        packet_io;
    TreeReplicationEgress() tree;
    OverlayEgress()         overlay;
    LastHopDeliveryEgress() lasthop;

    /*
     * egress_drop_counter[reason]: packets and bytes of replicas dropped in
     * egress per DROP_* code (client replicas of duplicates, too-old
     * packets, TTL). Written by the data plane; read by the controller.
     */
    P4CAST_COUNTER(P4CAST_REASON_CODES, egress_drop_counter);

    apply {
        if (meta.heartbeat.fanout) {
            /* One peer's copy of the interval's heartbeat request (instance
             * = peer index): back to ingress, which makes it the peer's
             * request (heartbeat.p4; the architecture recirculates it). */
            meta.heartbeat.tick = true;
            meta.heartbeat.peer_index = (peer_index_t)meta.intrinsic.egress_rid;
        } else if (meta.intrinsic.egress_rid != 0) {
            tree.apply(hdr, meta);
            overlay.apply(hdr, meta);
            lasthop.apply(hdr, meta);
        }
        /* Also for replicas to the CPU port: the controller (and a test
         * without data ports) sees exactly what the replica became. */
        if (!meta.fwd.drop && meta.intrinsic.egress_port == CPU_PORT) {
            packet_io.apply(hdr, meta);
        }
        if (meta.fwd.drop) {
            P4CAST_COUNT(egress_drop_counter, meta.fwd.drop_reason);
        }
    }
}

#endif /* P4CAST_CONTROL_EGRESS_P4 */
