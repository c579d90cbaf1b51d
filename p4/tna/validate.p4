// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature, TNA version: input validation (the v1model version is
 * p4/controls/validate.p4; same drop reasons). Included before
 * p4/controls/ingress.p4 with the shared file's include guard defined, so
 * P4castIngress instantiates this control (its one table is @hidden and
 * it has no counters: nothing in P4Info changes).
 *
 * What differs:
 *   - the parser verifies the outer IPv4 header checksum into
 *     meta.arch.outer_csum_err and the inner (or only) one into
 *     meta.intrinsic.checksum_error; both are DROP_CHECKSUM;
 *   - the frame's length is not known before the traffic manager on
 *     Tofino (meta.intrinsic.packet_length is 0xFFFFFFFF in ingress), so
 *     the tests of the outermost IP length against the frame cannot fire and
 *     are left out; an inner packet longer than its outer IPv4 packet holds
 *     is still DROP_TRUNCATED;
 *   - the checks, the membership punts and the trust verdicts are one
 *     ternary table (validate_verdict, below);
 *   - the length tests are written for Tofino: a match compares a field
 *     with a constant only, so two lengths are compared through one
 *     saturating subtraction in an action before (a |-| b is 0 iff
 *     a <= b), in 16 bits (one container size per ALU operation; the
 *     v1model version widens to 32), with IHL * 4 from the parser
 *     (meta.arch.ipv4_hdr_bytes, parser.p4):
 *       inner IPv4 longer than the outer packet holds:
 *           ip_len > outer_len - 28   <=>  (outer_len |-| ip_len) < 28
 *       inner IPv6:  payload + 40 > outer_len - 28
 *                                     <=>  (outer_len |-| payload) < 68
 *       IPv4 total length below its header:
 *           ip_len < IHL * 4          <=>  (IHL * 4 |-| ip_len) != 0
 *     and the order comparisons are ternary patterns.
 */
#ifndef P4CAST_CONTROL_VALIDATE_P4
#define P4CAST_CONTROL_VALIDATE_P4

control IpValidate(inout headers_t hdr, inout metadata_t meta) {
    @hidden action v_none() {
    }

    @hidden action v_drop(bit<8> reason) {
        set_drop(meta.fwd, reason);
    }

    @hidden action v_drop_untrusted() {
        set_drop(meta.fwd, meta.arch.untrusted);
    }

    @hidden action v_punt(bit<8> reason) {
        set_punt(meta.fwd, meta.pktio, reason, 0);
    }

    /*
     * The checks as one ternary table with constant entries, in the order
     * of the v1model chain (the first entry that matches decides): one
     * logical table instead of a gateway per condition and a table per
     * leaf (Tofino 1 has 16 logical tables per stage for ingress and
     * egress together, and that limit had become the placement's). Where
     * the v1model program applies it: no decision yet (packet-out DIRECT
     * sets meta.fwd.done). Then the decisions the shared ingress takes
     * next, in its order: the membership punts (MembershipPunt's
     * conditions, p4/controls/membership.p4) and the neighbour-trust
     * verdicts (NeighbourTrust looks up ahead and records a miss in
     * meta.arch.untrusted, p4/controls/trust.p4). A controller's heartbeat
     * request for every peer (FANOUT) is dropped as malformed: the
     * data-plane heartbeat verdicts are v1model only (docs/tofino.md).
     * Comparisons with a constant are ternary patterns: x < 28 on 16 bits
     * is 0..15, 16..23, 24..27; x < 68 is 0..63, 64..67; "!= 0" is the
     * entry after the one for 0. @hidden: not a control-plane object.
     */
    @hidden
    table validate_verdict {
        key = {
            meta.fwd.done                     : ternary;
            meta.heartbeat.fanout             : ternary;
            meta.intrinsic.parser_error       : ternary;
            meta.intrinsic.checksum_error     : ternary;
            meta.arch.outer_csum_err          : ternary;
            hdr.outer_ipv4.isValid()          : ternary;
            hdr.ipv4.isValid()                : ternary;
            hdr.ipv6.isValid()                : ternary;
            hdr.outer_ipv4.total_len          : ternary;
            meta.arch.outer_room4             : ternary;
            meta.arch.ipv4_short              : ternary;
            meta.arch.outer_room6             : ternary;
            meta.arch.untrusted               : ternary;
            hdr.igmp.isValid()                : ternary;
            hdr.igmp.msg_type                 : ternary;
            hdr.heartbeat.isValid()           : ternary;
            hdr.heartbeat.version             : ternary;
            meta.l3.is_local                  : ternary;
            hdr.icmpv6.isValid()              : ternary;
            hdr.ipv6_hbh.isValid()            : ternary;
            hdr.icmpv6.msg_type               : ternary;
        }
        actions = {
            v_none;
            v_drop;
            v_drop_untrusted;
            v_punt;
        }
        const default_action = v_none();
        size = 33;
        /* (done, fanout, perr, cerr, ocerr, o, i4, i6, olen, room4, short, room6, untr, igmp, igmpt, hb, hbv, local, i6c, hbh, i6ct) */
        const entries = {
            (true, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_none();
            (false, true, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_MALFORMED);
            (false, _, true, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_PARSER_ERROR);
            (false, _, _, true, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_CHECKSUM);
            (false, _, _, _, true, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_CHECKSUM);
            (_, _, _, _, _, true, _, _, 0x0000 &&& 0xFFF0, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_MALFORMED);
            (_, _, _, _, _, true, _, _, 0x0010 &&& 0xFFF8, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_MALFORMED);
            (_, _, _, _, _, true, _, _, 0x0018 &&& 0xFFFC, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_MALFORMED);
            (_, _, _, _, _, true, true, _, _, 0x0000 &&& 0xFFF0, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_TRUNCATED);
            (_, _, _, _, _, true, true, _, _, 0x0010 &&& 0xFFF8, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_TRUNCATED);
            (_, _, _, _, _, true, true, _, _, 0x0018 &&& 0xFFFC, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_TRUNCATED);
            (_, _, _, _, _, true, true, _, _, _, 0, _, 0, _, _, _, _, _, _, _, _): v_none();
            (_, _, _, _, _, true, true, _, _, _, 0, _, _, _, _, _, _, _, _, _, _): v_drop_untrusted();
            (_, _, _, _, _, true, true, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_MALFORMED);
            (_, _, _, _, _, true, _, true, _, _, _, 0x0000 &&& 0xFFC0, _, _, _, _, _, _, _, _, _): v_drop(DROP_TRUNCATED);
            (_, _, _, _, _, true, _, true, _, _, _, 0x0040 &&& 0xFFFC, _, _, _, _, _, _, _, _, _): v_drop(DROP_TRUNCATED);
            (_, _, _, _, _, true, _, true, _, _, _, _, 0, _, _, _, _, _, _, _, _): v_none();
            (_, _, _, _, _, true, _, true, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop_untrusted();
            (_, _, _, _, _, true, _, _, _, _, _, _, 0, _, _, _, _, _, _, _, _): v_none();
            (_, _, _, _, _, true, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop_untrusted();
            (_, _, _, _, _, false, true, _, _, _, 0, _, _, true, IGMP_V1_REPORT, _, _, _, _, _, _): v_punt(PUNT_REASON_IGMP);
            (_, _, _, _, _, false, true, _, _, _, 0, _, _, true, IGMP_V2_REPORT, _, _, _, _, _, _): v_punt(PUNT_REASON_IGMP);
            (_, _, _, _, _, false, true, _, _, _, 0, _, _, true, IGMP_V2_LEAVE, _, _, _, _, _, _): v_punt(PUNT_REASON_IGMP);
            (_, _, _, _, _, false, true, _, _, _, 0, _, _, true, IGMP_V3_REPORT, _, _, _, _, _, _): v_punt(PUNT_REASON_IGMP);
            (_, _, _, _, _, false, true, _, _, _, 0, _, _, true, _, _, _, _, _, _, _): v_none();
            (_, _, _, _, _, false, true, _, _, _, 0, _, 0, _, _, true, HB_VERSION, true, _, _, _): v_none();
            (_, _, _, _, _, false, true, _, _, _, 0, _, _, _, _, true, HB_VERSION, true, _, _, _): v_drop_untrusted();
            (_, _, _, _, _, false, true, _, _, _, 0, _, _, _, _, _, _, _, _, _, _): v_none();
            (_, _, _, _, _, false, true, _, _, _, _, _, _, _, _, _, _, _, _, _, _): v_drop(DROP_MALFORMED);
            (_, _, _, _, _, false, false, true, _, _, _, _, _, _, _, _, _, _, true, true, ICMPV6_MLD_V1_REPORT): v_punt(PUNT_REASON_MLD);
            (_, _, _, _, _, false, false, true, _, _, _, _, _, _, _, _, _, _, true, true, ICMPV6_MLD_V1_DONE): v_punt(PUNT_REASON_MLD);
            (_, _, _, _, _, false, false, true, _, _, _, _, _, _, _, _, _, _, true, true, ICMPV6_MLD_V2_REPORT): v_punt(PUNT_REASON_MLD);
        }
    }

    apply {
        /* Computed on every packet into metadata, in one action of the
         * first stage (whatever the headers' validity: the entries read
         * them only where the headers are valid). */
        meta.arch.outer_room4 = hdr.outer_ipv4.total_len |-| hdr.ipv4.total_len;
        meta.arch.outer_room6 = hdr.outer_ipv4.total_len |-| hdr.ipv6.payload_len;
        meta.arch.ipv4_short = meta.arch.ipv4_hdr_bytes |-| hdr.ipv4.total_len;
        validate_verdict.apply();
    }
}

#endif /* P4CAST_CONTROL_VALIDATE_P4 */
