// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: packet-in / packet-out through CPU_PORT (255).
 *
 * Ingress: a packet from the controller carries packet_out_h. With
 * PACKET_OUT_FLAG_DIRECT it leaves through packet_out.egress_port unchanged
 * (this is how the controller sends heartbeat requests out of a given port),
 * except for a heartbeat request with HB_FLAG_STAMP: its origin timestamp
 * becomes this switch's ingress timestamp, so that the switch can measure the
 * round trip in its own clock when the response comes back (heartbeat.p4,
 * hb_rtt). With PACKET_OUT_FLAG_HB_FANOUT it is the interval's one heartbeat
 * request for every peer (heartbeat.p4). Otherwise it runs through the
 * pipeline like any other packet.
 * Egress: a packet to CPU_PORT gets packet_in_h (ingress port, reason, aux).
 */
#ifndef P4CAST_CONTROL_PACKET_IO_P4
#define P4CAST_CONTROL_PACKET_IO_P4

control PacketIoIngress(inout headers_t hdr, inout metadata_t meta) {
    apply {
        if (hdr.packet_out.isValid()) {
            meta.pktio.from_cpu = true;
            if ((hdr.packet_out.flags & PACKET_OUT_FLAG_DIRECT) != 0) {
                meta.fwd.egress_port = hdr.packet_out.egress_port;
                meta.fwd.done = true;
                if (hdr.heartbeat.isValid() && hdr.udp.isValid()
                        && hdr.heartbeat.msg_type == HB_TYPE_REQUEST
                        && (hdr.heartbeat.flags & HB_FLAG_STAMP) != 0) {
                    /* The checksum first, while the old value is there. */
#ifdef P4CAST_TARGET_TNA
                    /* Not applied on TNA: p4/tna/ingress.p4's hidden
                     * packet_out_step does the same; no checksum engine is
                     * left there (docs/tofino.md): no UDP checksum (0: none,
                     * allowed over IPv4; the controller sends requests with 0). */
                    hdr.udp.checksum = 0;
#else
                    CSUM16_UPDATE_UDP(hdr.udp.checksum,
                        ~hdr.heartbeat.origin_ts, (bit<64>)meta.intrinsic.ingress_ts)
#endif
                    hdr.heartbeat.origin_ts = (bit<64>)meta.intrinsic.ingress_ts;
                }
            } else if ((hdr.packet_out.flags & PACKET_OUT_FLAG_HB_FANOUT) != 0) {
                /* Numbered and replicated to every peer by heartbeat.p4. */
                meta.heartbeat.fanout = true;
            }
            hdr.packet_out.setInvalid();
        }
    }
}

control PacketIoEgress(inout headers_t hdr, inout metadata_t meta) {
    /*
     * punt_counter[reason]: packets and bytes sent to the controller for
     * each PUNT_REASON_* code. Written by the data plane (egress, at
     * CPU_PORT); read by the controller (all roles) for diagnostics.
     */
    P4CAST_COUNTER(P4CAST_REASON_CODES, punt_counter);

    apply {
        if (meta.intrinsic.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = meta.intrinsic.ingress_port;
            hdr.packet_in._pad = 0;
            hdr.packet_in.reason = meta.pktio.punt_reason;
            hdr.packet_in.aux = meta.pktio.punt_aux;
            P4CAST_COUNT(punt_counter, meta.pktio.punt_reason);
        }
    }
}

#endif /* P4CAST_CONTROL_PACKET_IO_P4 */
