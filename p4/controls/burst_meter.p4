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
    /* TNA (v1model body below: the reference): the session-id range check
     * is in the meter's condition; meta.arch.metered says the meter ran
     * (SessionEncap tests it and the colour). Yellow's DSCP and CE mark are
     * two hidden tables (PHV and constant cannot share one byte's write). */
    @hidden action yellow_dscp4() { hdr.ipv4.dscp = meta.session.yellow_dscp; }
    @hidden action yellow_dscp6() { hdr.ipv6.dscp = meta.session.yellow_dscp; }
    @hidden action yellow_ce4() { hdr.ipv4.ecn = ECN_CE; }
    @hidden action yellow_ce6() { hdr.ipv6.ecn = ECN_CE; }
    @hidden table yellow_dscp_step {
        key = { meta.burst.colour : ternary; hdr.ipv4.isValid() : ternary; hdr.ipv6.isValid() : ternary; }
        actions = { yellow_dscp4; yellow_dscp6; NoAction; } const default_action = NoAction(); size = 2;
        const entries = { (METER_YELLOW, true, _): yellow_dscp4(); (METER_YELLOW, false, true): yellow_dscp6(); }
    }
    @hidden table yellow_ecn_step {
        key = { meta.burst.colour : ternary; hdr.ipv4.isValid() : ternary; hdr.ipv4.ecn : ternary;
                hdr.ipv6.isValid() : ternary; hdr.ipv6.ecn : ternary; }
        actions = { yellow_ce4; yellow_ce6; NoAction; } const default_action = NoAction(); size = 4;
        const entries = { (METER_YELLOW, true, ECN_NOT_ECT, _, _): NoAction(); (METER_YELLOW, true, _, _, _): yellow_ce4();
            (METER_YELLOW, false, _, true, ECN_NOT_ECT): NoAction(); (METER_YELLOW, false, _, true, _): yellow_ce6(); }
    }
    apply {
        if (meta.session.hit && meta.session.id[15:10] == 0 && !meta.fwd.done) {
            meta.arch.metered = true;
        }
        if (meta.session.hit && !meta.fwd.done) {
            if (meta.session.id[15:10] != 0) {     /* a controller error */
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
            } else {
                P4CAST_COUNT(burst_red_counter, meta.session.id);
                set_drop(meta.fwd, DROP_METER_RED);
            }
            yellow_dscp_step.apply();
            yellow_ecn_step.apply();
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
