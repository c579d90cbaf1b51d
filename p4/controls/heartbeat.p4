// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: heartbeats in the fast path.
 *
 * Only IPv4/UDP heartbeats (port 49374) addressed to this switch
 * (ipv4_local_exact) and not inside a p4cast packet are handled here; any
 * other heartbeat is forwarded like any packet.
 *
 *  - heartbeat_mode_exact hit for the message type: punt to the controller
 *    (PUNT_REASON_HEARTBEAT, aux = peer index) -- the slow path.
 *  - Request: reflected as a response in the data plane. Type := response,
 *    reflect_ts := ingress timestamp, IPv4 and UDP source/destination
 *    swapped, TTL := 64, UDP checksum adjusted incrementally. With
 *    HB_FLAG_LINK it leaves through the ingress port with the Ethernet
 *    addresses swapped; otherwise it is routed (L3Forward).
 *  - Response from a known peer (heartbeat_peer_exact on the IPv4 source):
 *    consumed; the peer's registers and counter are updated; dropped. With
 *    HB_FLAG_STAMP its origin timestamp is this switch's own, put there as
 *    the request left (packet_io.p4; pktgen.p4 on TNA): now - origin_ts is
 *    the round trip in this switch's clock, kept in hb_rtt.
 *
 * One control for both targets: the tables, the actions, the counter and
 * every decision are shared; only the registers' accesses differ, in the
 * #ifdef P4CAST_TARGET_TNA blocks. On TNA each register is one
 * RegisterAction, a single read-modify-write in one stage (independent
 * registers, side by side):
 *
 *   hb_last_seen_ts[peer]  bit<32>: ingress timestamp >> 10 of the last
 *                          response (units of 1.024 us, wraps after 73 min);
 *                          BMv2 keeps 48 bits of microseconds. Tofino
 *                          register cells are 8/16/32 bits (or a 2 x 32 pair
 *                          without carry), so 48 bits would need a pair that
 *                          P4Runtime returns as a struct.
 *   hb_count[peer]         value + 1 in the ALU (v1model reads, adds, writes)
 *   hb_rtt[peer]           nanoseconds (the TNA global timestamp), the low 32
 *                          bits, computed into meta.arch.hb_rtt one stage
 *                          earlier: a stateful ALU cannot subtract one PHV
 *                          operand from another (the assembler: "Can't
 *                          reference phv in first operand of sub
 *                          instruction"). Wraps after 4.29 s.
 *
 * Data-plane verdicts (v1model; docs/reliability.md, "Detection"): once per
 * interval the controller sends one request with PACKET_OUT_FLAG_HB_FANOUT.
 * It is numbered from hb_tx_seq and replicated by the PRE group
 * HB_MCAST_GROUP, one copy per peer (instance = peer index); each copy goes
 * back to ingress (recirculated, P4CAST_FL_HB_TICK) as a tick, where
 * heartbeat_tick_exact makes it that peer's request. Before it leaves, the
 * tick compares its number N with the last response from the peer
 * (hb_last_seq): none for requests N - miss_threshold .. N - 1 and the peer
 * is judged down (hb_state); a newer response judges it up again. A request
 * that came less than min_gap after the previous one (a burst of requests
 * that queued while the switch was busy) is sent but judges nothing. Each
 * change is one digest (hb_verdict_digest_t) to the controller, which reads
 * nothing in steady state; a request with HB_FLAG_REPORT (the first after a
 * controller connects) also reports every peer already judged down. The
 * other modes never change hb_state: no digests.
 *
 * reflect_ts is the TNA global timestamp in nanoseconds (BMv2:
 * microseconds); on TNA the UDP checksum of a reflected request is
 * recomputed by the ingress deparser (p4/tna/arch.p4), not incrementally
 * here. On Tofino the requests are made by the packet generator
 * (p4/tna/pktgen.p4), not sent by the controller.
 */
#ifndef P4CAST_CONTROL_HEARTBEAT_P4
#define P4CAST_CONTROL_HEARTBEAT_P4

#ifdef P4CAST_TARGET_TNA
/* Timestamp bits kept in hb_last_seen_ts on TNA: ns >> 10. */
#define P4CAST_HB_TS_SHIFT 10
#endif

control Heartbeat(inout headers_t hdr, inout metadata_t meta) {
    /*
     * hb_last_seen_ts[peer] (bit<48>): ingress timestamp (BMv2: us) of the
     * last response consumed from the peer. hb_last_seq[peer] (bit<32>): its
     * sequence number. hb_count[peer] (bit<32>): responses consumed (wraps).
     * hb_rtt[peer] (bit<32>): round trip of the last response consumed with
     * HB_FLAG_STAMP, ingress timestamp - origin_ts in this switch's clock
     * (BMv2: us; the low 32 bits of the difference); 0 until one came back.
     * Written by the data plane; read by the controller (every role; hb_rtt
     * on demand, for the live view and p4cast watch). TNA: see the top.
     */
#ifdef P4CAST_TARGET_TNA
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_last_seen_ts;
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_last_seq;
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_count;
    Register<bit<32>, bit<32>>(P4CAST_MAX_HB_PEERS) hb_rtt;

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
    RegisterAction<bit<32>, bit<32>, bit<32>>(hb_rtt) hb_rtt_write = {
        void apply(inout bit<32> value) {
            value = meta.arch.hb_rtt;
        }
    };
#else
    P4CAST_REGISTER(timestamp_t, P4CAST_MAX_HB_PEERS, hb_last_seen_ts);
    P4CAST_REGISTER(bit<32>, P4CAST_MAX_HB_PEERS, hb_last_seq);
    P4CAST_REGISTER(bit<32>, P4CAST_MAX_HB_PEERS, hb_count);
    P4CAST_REGISTER(bit<32>, P4CAST_MAX_HB_PEERS, hb_rtt);
    /*
     * hb_state[peer] (bit<8>): HB_PEER_UP / HB_PEER_DOWN, the data plane's
     * verdict. hb_tx_seq[0] (bit<32>): the number of the last request for
     * every peer. Written by the data plane; read by the controller on
     * demand (every role).
     */
    P4CAST_REGISTER(bit<8>, P4CAST_MAX_HB_PEERS, hb_state);
    P4CAST_REGISTER(bit<32>, 1, hb_tx_seq);
    /* hb_fanout_ts[0]: ingress timestamp of the last request for every peer
     * (data plane only). */
    P4CAST_REGISTER(timestamp_t, 1, hb_fanout_ts);
#endif

    /*
     * hb_peer_counter[peer]: packets and bytes of responses consumed from
     * the peer; the P4Runtime-readable twin of hb_count. Written by the data
     * plane; read by the controller (every role).
     */
    P4CAST_COUNTER(P4CAST_MAX_HB_PEERS, hb_peer_counter);

    action punt_heartbeat() {
        meta.heartbeat.punt = true;
    }

    /* Slow-path switch: an entry for a message type (normally 2, response)
     * sends such heartbeats to the controller instead of handling them
     * here (controller, every role; no entry = fast path). */
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

    /* Heartbeat peers: the responder's IPv4 address -> peer index, the cell
     * of the hb_* registers and counter (controller, every role). */
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

#ifndef P4CAST_TARGET_TNA
    action heartbeat_request(port_t port, mac_addr_t src_mac, mac_addr_t dst_mac,
                             ipv4_addr_t peer_addr, bit<8> miss_threshold,
                             bit<32> min_gap) {
        meta.heartbeat.peer_known = true;
        meta.heartbeat.miss_threshold = miss_threshold;
        meta.heartbeat.min_gap = min_gap;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        hdr.ipv4.dst_addr = peer_addr;
        meta.fwd.egress_port = port;
        meta.fwd.done = true;
    }

    /* Data-plane verdicts: a peer's copy of the interval's request -> the
     * port, addresses and miss threshold of the peer's request (controller,
     * every role; no entry: the copy is dropped). */
    table heartbeat_tick_exact {
        key = {
            meta.heartbeat.peer_index : exact @name("peer_index");
        }
        actions = {
            heartbeat_request;
            @defaultonly NoAction;
        }
        size = P4CAST_MAX_HB_PEERS;
        default_action = NoAction();
    }
#endif

    apply {
#ifndef P4CAST_TARGET_TNA
        if (meta.heartbeat.fanout) {
            /* The controller's request for every peer: number it, replicate it. */
            if (hdr.heartbeat.isValid() && hdr.ipv4.isValid() && hdr.udp.isValid()
                    && hdr.heartbeat.msg_type == HB_TYPE_REQUEST) {
                bit<32> n;
                P4CAST_REG_READ(hb_tx_seq, 0, n);
                n = n + 1;
                P4CAST_REG_WRITE(hb_tx_seq, 0, n);
                hdr.heartbeat.seq = n;
                /* How long since the previous one: requests that queued up
                 * while the switch was busy arrive back to back, before the
                 * answers to the first of them; the ticks of such a burst
                 * send their requests but do not judge. */
                timestamp_t prev;
                P4CAST_REG_READ(hb_fanout_ts, 0, prev);
                P4CAST_REG_WRITE(hb_fanout_ts, 0, meta.intrinsic.ingress_ts);
                timestamp_t gap = meta.intrinsic.ingress_ts - prev;
                meta.heartbeat.fanout_gap = gap[47:32] != 0 ? 32w0xFFFFFFFF : gap[31:0];
                /* Stamped here, where the timestamp is the switch's clock
                 * (a recirculated copy has none): the round trip is
                 * measured from this pass. No UDP checksum (0, allowed over
                 * IPv4), as the controller sends it. */
                hdr.heartbeat.origin_ts = (bit<64>)meta.intrinsic.ingress_ts;
                hdr.udp.checksum = 0;
                meta.fwd.mcast_grp = HB_MCAST_GROUP;
                meta.fwd.done = true;
            } else {
                set_drop(meta.fwd, DROP_MALFORMED);
            }
        } else if (meta.heartbeat.tick) {
            /* One peer's copy: judge the peer, then send it its request
             * (once: not back to ingress again). */
            meta.heartbeat.tick = false;
            if (!heartbeat_tick_exact.apply().hit
                    || meta.heartbeat.peer_index >= P4CAST_MAX_HB_PEERS) {
                set_drop(meta.fwd, DROP_HB_UNKNOWN_PEER);
            } else {
                peer_index_t i = meta.heartbeat.peer_index;
                bit<32> last;
                bit<8> state;
                P4CAST_REG_READ(hb_last_seq, i, last);
                P4CAST_REG_READ(hb_state, i, state);
                if (state == HB_PEER_UP
                        && meta.heartbeat.fanout_gap >= meta.heartbeat.min_gap
                        && hdr.heartbeat.seq - last > (bit<32>)meta.heartbeat.miss_threshold) {
                    P4CAST_REG_WRITE(hb_state, i, HB_PEER_DOWN);
                    meta.heartbeat.notify = true;
                    meta.heartbeat.verdict = HB_PEER_DOWN;
                } else if (state == HB_PEER_DOWN
                        && (hdr.heartbeat.flags & HB_FLAG_REPORT) != 0) {
                    /* A controller that connected since asks. */
                    meta.heartbeat.notify = true;
                    meta.heartbeat.verdict = HB_PEER_DOWN;
                }
                hdr.heartbeat.flags = hdr.heartbeat.flags & ~HB_FLAG_REPORT;
            }
        } else
#endif
#ifdef P4CAST_TARGET_TNA
        /* TNA: the TNA ingress (p4/tna/ingress.p4) applies this control on
         * every packet that is not a p4cast packet. The lookups, which only
         * write meta.heartbeat and meta.arch, run ahead of the decisions
         * before them; what the shared ingress gates with !meta.fwd.done is
         * gated here. */
        if (hdr.heartbeat.isValid() && hdr.ipv4.isValid() && !hdr.shim.isValid()
                && hdr.heartbeat.version == HB_VERSION) {
            heartbeat_mode_exact.apply();
            heartbeat_peer_exact.apply();
            if (meta.heartbeat.peer_known
                    && meta.heartbeat.peer_index >= P4CAST_MAX_HB_PEERS) {
                meta.heartbeat.peer_known = false;  /* controller error */
            }
            meta.arch.hb_rtt = meta.intrinsic.ingress_ts[31:0]
                               - hdr.heartbeat.origin_ts[31:0];
        }
        if (hdr.heartbeat.isValid() && hdr.ipv4.isValid() && !hdr.shim.isValid()
                && meta.l3.is_local && hdr.heartbeat.version == HB_VERSION
                && !meta.fwd.done) {
#else
        if (hdr.heartbeat.isValid() && hdr.ipv4.isValid() && !hdr.shim.isValid()
                && meta.l3.is_local && hdr.heartbeat.version == HB_VERSION) {
            heartbeat_mode_exact.apply();
            heartbeat_peer_exact.apply();
            if (meta.heartbeat.peer_known
                    && meta.heartbeat.peer_index >= P4CAST_MAX_HB_PEERS) {
                meta.heartbeat.peer_known = false;  /* controller error */
            }
#endif

            if (meta.heartbeat.punt) {
                set_punt(meta.fwd, meta.pktio, PUNT_REASON_HEARTBEAT,
                         meta.heartbeat.peer_index[15:0]);
            } else if (hdr.heartbeat.msg_type == HB_TYPE_REQUEST) {
#ifdef P4CAST_TARGET_TNA
                hdr.heartbeat.msg_type = HB_TYPE_RESPONSE;
                hdr.heartbeat.reflect_ts = (bit<64>)meta.intrinsic.ingress_ts;
#else
                bit<16> old_word = hdr.heartbeat.version ++ hdr.heartbeat.msg_type
                                   ++ hdr.heartbeat.flags;
                bit<64> old_ts = hdr.heartbeat.reflect_ts;
                hdr.heartbeat.msg_type = HB_TYPE_RESPONSE;
                hdr.heartbeat.reflect_ts = (bit<64>)meta.intrinsic.ingress_ts;
                /* Swapping addresses and ports (below) leaves the sum
                 * unchanged; the type word and reflect_ts change. */
                CSUM16_UPDATE_UDP(hdr.udp.checksum,
                    ~old_word, ~old_ts,
                    hdr.heartbeat.version ++ hdr.heartbeat.msg_type ++ hdr.heartbeat.flags,
                    hdr.heartbeat.reflect_ts)
#endif

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
                /* else: routed by L3Forward. */
            } else if (hdr.heartbeat.msg_type == HB_TYPE_RESPONSE) {
                if (!meta.heartbeat.peer_known) {
                    set_drop(meta.fwd, DROP_HB_UNKNOWN_PEER);
                } else {
                    peer_index_t i = meta.heartbeat.peer_index;
#ifdef P4CAST_TARGET_TNA
                    hb_count_inc.execute(i);
                    hb_seen_write.execute(i);
                    hb_seq_write.execute(i);
                    if ((hdr.heartbeat.flags & HB_FLAG_STAMP) != 0) {
                        hb_rtt_write.execute(i);    /* meta.arch.hb_rtt: above */
                    }
#else
                    bit<32> n;
                    P4CAST_REG_READ(hb_count, i, n);
                    P4CAST_REG_WRITE(hb_count, i, n + 1);
                    P4CAST_REG_WRITE(hb_last_seen_ts, i, meta.intrinsic.ingress_ts);
                    P4CAST_REG_WRITE(hb_last_seq, i, hdr.heartbeat.seq);
                    /* A peer judged down is up again when it answers one of
                     * the last two requests (a late answer to an older one
                     * does not undo the verdict). */
                    bit<8> state;
                    bit<32> sent;
                    P4CAST_REG_READ(hb_state, i, state);
                    P4CAST_REG_READ(hb_tx_seq, 0, sent);
                    if (state == HB_PEER_DOWN && sent - hdr.heartbeat.seq <= 1) {
                        P4CAST_REG_WRITE(hb_state, i, HB_PEER_UP);
                        meta.heartbeat.notify = true;
                        meta.heartbeat.verdict = HB_PEER_UP;
                    }
                    if ((hdr.heartbeat.flags & HB_FLAG_STAMP) != 0) {
                        P4CAST_REG_WRITE(hb_rtt, i,
                            (bit<32>)(meta.intrinsic.ingress_ts - hdr.heartbeat.origin_ts[47:0]));
                    }
#endif
                    P4CAST_COUNT(hb_peer_counter, i);
                }
                /* Apart from the updates above: on TNA the registers and the
                 * counter (addressed from the PHV through the hash unit) and
                 * the drop's constants cannot share one action of a table
                 * without a key. */
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
