// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: burst regulation at the ingress router.
 *
 * A two-rate three-colour meter (RFC 2698, bytes) per session, run on every
 * classified packet before encapsulation:
 *   green  -> forwarded unchanged;
 *   yellow -> forwarded with the original packet's DSCP set to the session's
 *             yellow_dscp and ECN set to CE if the packet is ECN-capable
 *             (ECT(0)/ECT(1)); a Not-ECT packet keeps ECN 0. The outer
 *             header copies the marked DSCP/ECN;
 *   red    -> dropped (DROP_METER_RED).
 * An unconfigured meter cell marks everything green.
 */
#ifndef P4CAST_CONTROL_BURST_METER_P4
#define P4CAST_CONTROL_BURST_METER_P4

control BurstMeter(inout headers_t hdr, inout metadata_t meta) {
    /*
     * session_burst_meter[session_id]: trTCM state of the session (CIR/CBS,
     * PIR/PBS in bytes). Configured by the controller (ingress router role)
     * over P4Runtime MeterEntry; executed by the data plane per packet.
     */
    P4CAST_METER(P4CAST_MAX_SESSIONS, session_burst_meter);

    /*
     * burst_{green,yellow,red}_counter[session_id]: packets and bytes of the
     * session metered green / yellow / red (the red ones were dropped).
     * Written by the data plane; read by the controller (ingress router).
     */
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, burst_green_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, burst_yellow_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, burst_red_counter);

#ifdef P4CAST_TARGET_TNA
#if P4CAST_MAX_SESSIONS != 1024
#error "TNA BurstMeter: the session-id range check below is written for 1024 sessions"
#endif
    /*
     * TNA: the same steps, arranged for Tofino's stages (the v1model body
     * below is the reference). SessionClassify's session-id range check
     * is here, folded into the meter's condition, and neither it nor a red
     * colour clears meta.session.hit: meta.arch.metered says that the
     * meter ran, and SessionEncap tests it and the colour (a flag that a
     * later step rewrites and another tests costs a stage each time).
     * The flag is set in an action of its own (the meter is addressed
     * from the PHV through the hash unit).
     */
    apply {
        if (meta.session.hit && meta.session.id[15:10] == 0 && !meta.fwd.done) {
            meta.arch.metered = true;
        }
        if (meta.session.hit && !meta.fwd.done) {
            if (meta.session.id[15:10] != 0) {
                /* A session id the arrays cannot hold: a controller error. */
                set_drop(meta.fwd, DROP_UNKNOWN_SESSION);
            } else {
                P4CAST_METER_EXECUTE(session_burst_meter, meta.session.id, meta.burst.colour);
            }
        }
        if (meta.arch.metered) {
            if (meta.burst.colour == METER_GREEN) {
                P4CAST_COUNT(burst_green_counter, meta.session.id);
            } else if (meta.burst.colour == METER_YELLOW) {
                P4CAST_COUNT(burst_yellow_counter, meta.session.id);
                if (hdr.ipv4.isValid()) {
                    hdr.ipv4.dscp = meta.session.yellow_dscp;
                    if (hdr.ipv4.ecn != ECN_NOT_ECT) {
                        hdr.ipv4.ecn = ECN_CE;
                    }
                } else if (hdr.ipv6.isValid()) {
                    hdr.ipv6.dscp = meta.session.yellow_dscp;
                    if (hdr.ipv6.ecn != ECN_NOT_ECT) {
                        hdr.ipv6.ecn = ECN_CE;
                    }
                }
            } else {
                P4CAST_COUNT(burst_red_counter, meta.session.id);
                set_drop(meta.fwd, DROP_METER_RED);
            }
        }
    }
#else
    apply {
        if (meta.session.hit) {
            P4CAST_METER_EXECUTE(session_burst_meter, meta.session.id, meta.burst.colour);
            if (meta.burst.colour == METER_GREEN) {
                P4CAST_COUNT(burst_green_counter, meta.session.id);
            } else if (meta.burst.colour == METER_YELLOW) {
                P4CAST_COUNT(burst_yellow_counter, meta.session.id);
                if (hdr.ipv4.isValid()) {
                    hdr.ipv4.dscp = meta.session.yellow_dscp;
                    if (hdr.ipv4.ecn != ECN_NOT_ECT) {
                        hdr.ipv4.ecn = ECN_CE;
                    }
                } else if (hdr.ipv6.isValid()) {
                    hdr.ipv6.dscp = meta.session.yellow_dscp;
                    if (hdr.ipv6.ecn != ECN_NOT_ECT) {
                        hdr.ipv6.ecn = ECN_CE;
                    }
                }
            } else {
                P4CAST_COUNT(burst_red_counter, meta.session.id);
                meta.session.hit = false;
                set_drop(meta.fwd, DROP_METER_RED);
            }
        }
    }
#endif
}

#endif /* P4CAST_CONTROL_BURST_METER_P4 */
