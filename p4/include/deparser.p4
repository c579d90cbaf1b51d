// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: deparser (architecture-neutral; the arch file calls it). Emits
 * every valid header in headers_t order; invalid ones are skipped.
 */
#ifndef P4CAST_DEPARSER_P4
#define P4CAST_DEPARSER_P4

control P4castDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.outer_ipv4);
        pkt.emit(hdr.shim);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.ipv4_options);
        pkt.emit(hdr.ipv6);
        pkt.emit(hdr.ipv6_hbh);
        pkt.emit(hdr.ipv6_hbh_ext);
        pkt.emit(hdr.icmp);
        pkt.emit(hdr.icmpv6);
        pkt.emit(hdr.igmp);
        pkt.emit(hdr.udp);
        pkt.emit(hdr.tcp);
        pkt.emit(hdr.heartbeat);
    }
}

#endif /* P4CAST_DEPARSER_P4 */
