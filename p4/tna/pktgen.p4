// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast, TNA only: heartbeat requests from the packet generator.
 *
 * On BMv2 the controller sends every request as a packet-out (DIRECT flag,
 * out of the peer's port). On Tofino a timer application of the packet
 * generator does it (docs/tofino.md, "Heartbeats from pktgen"):
 *
 *   - the application's packet buffer holds one request template (Ethernet,
 *     IPv4, UDP to 49374, heartbeat version 1 type 1; 66 octets), rendered by
 *     src/controller/targets/tofino.ts (heartbeatTemplate);
 *   - every period the generator emits batch_count_cfg + 1 batches of one
 *     packet each on P4CAST_PKTGEN_PORT, each prefixed with
 *     pktgen_timer_header_t (app_id, batch_id, packet_id);
 *   - the ingress parser extracts that header (parser.p4), then the template
 *     like any packet; this control turns batch b of application a into the
 *     request to peer hb_pktgen_peer_exact[(a, b)]: addresses, port, MACs,
 *     a per-peer sequence number (hb_tx_seq, one RegisterAction), the flags
 *     (the controller gives LINK and STAMP), the origin timestamp: this
 *     switch's own, in ns. The UDP checksum is 0 (allowed over IPv4).
 *
 * The responses come back to this switch and are consumed by Heartbeat
 * (heartbeat.p4) exactly as on BMv2; with STAMP the round trip, measured in
 * this switch's clock, lands in hb_rtt.
 */
#ifndef P4CAST_TNA_PKTGEN_P4
#define P4CAST_TNA_PKTGEN_P4

control HeartbeatPktgen(inout headers_t hdr,
                        inout metadata_t meta,
                        in pktgen_timer_header_t pktgen) {
    /* hb_tx_seq[peer]: sequence number of the next request to the peer. */
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_tx_seq;

    RegisterAction<bit<32>, bit<32>, bit<32>>(hb_tx_seq) hb_tx_seq_next = {
        void apply(inout bit<32> value, out bit<32> rv) {
            rv = value;
            value = value + 1;
        }
    };

    P4CAST_COUNTER(P4CAST_MAX_HB_PEERS, hb_request_counter);

    action hb_request_to_peer(peer_index_t peer_index, ipv4_addr_t src_addr,
                              ipv4_addr_t dst_addr, port_t port,
                              mac_addr_t src_mac, mac_addr_t dst_mac,
                              bit<16> origin_id, bit<8> flags) {
        meta.heartbeat.peer_known = true;
        meta.heartbeat.peer_index = peer_index;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        hdr.ipv4.src_addr = src_addr;
        hdr.ipv4.dst_addr = dst_addr;
        hdr.heartbeat.origin_id = origin_id;
        hdr.heartbeat.flags = flags;
        meta.fwd.egress_port = port;
        /* The request's constants and timestamp (a peer index out of range
         * drops the packet after this table). */
        hdr.heartbeat.version = HB_VERSION;
        hdr.heartbeat.msg_type = HB_TYPE_REQUEST;
        hdr.heartbeat.origin_ts = (bit<64>)meta.intrinsic.ingress_ts;
        hdr.heartbeat.reflect_ts = 0;
        hdr.ipv4.ttl = 64;
        hdr.udp.checksum = 0;
        meta.fwd.done = true;
    }

    action drop_unconfigured() {
        set_drop(meta.fwd, DROP_NO_ROUTE);
    }

    /* (application, batch) -> one peer's request (controller, every role;
     * batch b of the heartbeat application is peer b's request). */
    table hb_pktgen_peer_exact {
        key = {
            pktgen.app_id   : exact @name("app_id");
            pktgen.batch_id : exact @name("batch_id");
        }
        actions = {
            hb_request_to_peer;
            drop_unconfigured;
        }
        size = P4CAST_MAX_HB_PEERS;
        default_action = drop_unconfigured();
    }

    apply {
        if (hdr.heartbeat.isValid() && hdr.ipv4.isValid() && hdr.udp.isValid()) {
            hb_pktgen_peer_exact.apply();
            if (meta.heartbeat.peer_known
                    && meta.heartbeat.peer_index >= P4CAST_MAX_HB_PEERS) {
                set_drop(meta.fwd, DROP_MALFORMED);
            }
            /* The register and the counter, addressed from the PHV through
             * the hash unit, in an action of their own (a table without a
             * key cannot also carry constants; those are in
             * hb_request_to_peer). */
            if (!meta.fwd.drop) {
                hdr.heartbeat.seq = hb_tx_seq_next.execute(meta.heartbeat.peer_index);
                P4CAST_COUNT(hb_request_counter, meta.heartbeat.peer_index);
            }
        } else {
            set_drop(meta.fwd, DROP_MALFORMED);   /* not the template */
        }
    }
}

#endif /* P4CAST_TNA_PKTGEN_P4 */
