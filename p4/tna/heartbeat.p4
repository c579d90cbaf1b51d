// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature, TNA version: heartbeats in the fast path (the v1model
 * version is p4/controls/heartbeat.p4; same tables, actions, counter and
 * behaviour). Included before p4/controls/ingress.p4 with the shared file's
 * include guard defined, so P4castIngress instantiates this control
 * (ingress.heartbeat.*).
 *
 * What differs is the state: one RegisterAction per register, each a single
 * read-modify-write in one stage (independent registers, side by side;
 * hb_rtt's value is computed one stage earlier, meta.arch.hb_rtt):
 *
 *   hb_last_seen_ts[peer]  bit<32>: ingress timestamp >> 10 of the last
 *                          response (units of 1.024 us, wraps after 73 min);
 *                          BMv2 stores 48 bits of microseconds. Tofino
 *                          register cells are 8/16/32 bits (or a 2 x 32 pair
 *                          without carry), so 48 bits would need a pair that
 *                          P4Runtime returns as a struct.
 *   hb_last_seq[peer]      bit<32>: the response's sequence number
 *   hb_count[peer]         bit<32>: responses consumed (value + 1 in the ALU;
 *                          v1model reads, adds and writes back)
 *   hb_rtt[peer]           bit<32>: round trip of the last response with
 *                          HB_FLAG_STAMP, the low 32 bits of ingress
 *                          timestamp - origin_ts in nanoseconds (the request
 *                          was stamped by pktgen.p4 or, from the CPU, by
 *                          packet_io.p4; wraps after 4.29 s; BMv2: us)
 *
 * reflect_ts is the TNA global timestamp in nanoseconds (BMv2:
 * microseconds); the UDP checksum of a reflected request is recomputed by
 * the ingress deparser (arch.p4), not incrementally here.
 *
 * Requests are not sent by the controller on Tofino but made by the packet
 * generator (p4/tna/pktgen.p4).
 */
#ifndef P4CAST_CONTROL_HEARTBEAT_P4
#define P4CAST_CONTROL_HEARTBEAT_P4

/* Timestamp bits kept in hb_last_seen_ts: ns >> 10. */
#define P4CAST_HB_TS_SHIFT 10

control Heartbeat(inout headers_t hdr, inout metadata_t meta) {
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_last_seen_ts;
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_last_seq;
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_count;
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_rtt;

    P4CAST_COUNTER(P4CAST_MAX_HB_PEERS, hb_peer_counter);

    RegisterAction<bit<32>, bit<32>, bit<32>>(hb_last_seen_ts) hb_seen_write = {
        void apply(inout bit<32> value) {
            value = meta.intrinsic.ingress_ts[P4CAST_HB_TS_SHIFT + 31:P4CAST_HB_TS_SHIFT];
        }
    };

    RegisterAction<bit<32>, bit<32>, bit<32>>(hb_last_seq) hb_seq_write = {
        void apply(inout bit<32> value) {
            value = hdr.heartbeat.seq;
        }
    };

    RegisterAction<bit<32>, bit<32>, bit<32>>(hb_count) hb_count_inc = {
        void apply(inout bit<32> value) {
            value = value + 1;
        }
    };

    /* The round trip is computed in an action first (meta.arch.hb_rtt): a
     * stateful ALU cannot subtract one PHV operand from another (the
     * assembler: "Can't reference phv in first operand of sub
     * instruction"). */
    RegisterAction<bit<32>, bit<32>, bit<32>>(hb_rtt) hb_rtt_write = {
        void apply(inout bit<32> value) {
            value = meta.arch.hb_rtt;
        }
    };

    action punt_heartbeat() {
        meta.heartbeat.punt = true;
    }

    table heartbeat_mode_exact {
        key = {
            hdr.heartbeat.msg_type : exact @name("msg_type");
        }
        actions = {
            punt_heartbeat;
            @defaultonly NoAction;
        }
        size = P4CAST_HB_MODE_SIZE;
        default_action = NoAction();
    }

    action set_peer(peer_index_t peer_index) {
        meta.heartbeat.peer_known = true;
        meta.heartbeat.peer_index = peer_index;
    }

    table heartbeat_peer_exact {
        key = {
            hdr.ipv4.src_addr : exact @name("peer_addr");
        }
        actions = {
            set_peer;
            @defaultonly NoAction;
        }
        size = P4CAST_MAX_HB_PEERS;
        default_action = NoAction();
    }

    apply {
        if (hdr.heartbeat.isValid() && hdr.ipv4.isValid() && !hdr.shim.isValid()
                && meta.l3.is_local && hdr.heartbeat.version == HB_VERSION) {
            heartbeat_mode_exact.apply();
            heartbeat_peer_exact.apply();
            if (meta.heartbeat.peer_known
                    && meta.heartbeat.peer_index >= P4CAST_MAX_HB_PEERS) {
                meta.heartbeat.peer_known = false;  /* controller error */
            }

            if (meta.heartbeat.punt) {
                set_punt(meta.fwd, meta.pktio, PUNT_REASON_HEARTBEAT,
                         meta.heartbeat.peer_index[15:0]);
            } else if (hdr.heartbeat.msg_type == HB_TYPE_REQUEST) {
                hdr.heartbeat.msg_type = HB_TYPE_RESPONSE;
                hdr.heartbeat.reflect_ts = (bit<64>)meta.intrinsic.ingress_ts;

                ipv4_addr_t a = hdr.ipv4.src_addr;
                hdr.ipv4.src_addr = hdr.ipv4.dst_addr;
                hdr.ipv4.dst_addr = a;
                hdr.ipv4.ttl = 64;
                bit<16> p = hdr.udp.src_port;
                hdr.udp.src_port = hdr.udp.dst_port;
                hdr.udp.dst_port = p;

                meta.l3.dst4 = hdr.ipv4.dst_addr;
                meta.l3.is_local = false;
                meta.heartbeat.reflected = true;
                if ((hdr.heartbeat.flags & HB_FLAG_LINK) != 0) {
                    mac_addr_t m = hdr.ethernet.src_addr;
                    hdr.ethernet.src_addr = hdr.ethernet.dst_addr;
                    hdr.ethernet.dst_addr = m;
                    meta.fwd.egress_port = meta.intrinsic.ingress_port;
                    meta.fwd.done = true;
                }
            } else if (hdr.heartbeat.msg_type == HB_TYPE_RESPONSE) {
                if (!meta.heartbeat.peer_known) {
                    set_drop(meta.fwd, DROP_HB_UNKNOWN_PEER);
                } else {
                    /* The registers and the counter (addressed from the PHV
                     * through the hash unit) and the drop's constants in
                     * two actions: a table without a key cannot have both. */
                    peer_index_t i = meta.heartbeat.peer_index;
                    hb_count_inc.execute(i);
                    hb_seen_write.execute(i);
                    hb_seq_write.execute(i);
                    if ((hdr.heartbeat.flags & HB_FLAG_STAMP) != 0) {
                        meta.arch.hb_rtt = meta.intrinsic.ingress_ts[31:0]
                                           - hdr.heartbeat.origin_ts[31:0];
                        hb_rtt_write.execute(i);
                    }
                    P4CAST_COUNT(hb_peer_counter, i);
                }
                if (meta.heartbeat.peer_known) {
                    set_drop(meta.fwd, DROP_HB_CONSUMED);
                }
            } else {
                set_drop(meta.fwd, DROP_MALFORMED);
            }
        }
    }
}

#endif /* P4CAST_CONTROL_HEARTBEAT_P4 */
