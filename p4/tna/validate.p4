// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature, TNA version: input validation (the v1model version is
 * p4/controls/validate.p4; same drop reasons). Included before
 * p4/controls/ingress.p4 with the shared file's include guard defined, so
 * P4castIngress instantiates this control (it has no tables or counters:
 * nothing in P4Info changes).
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
 *   - the length tests are written for Tofino: a gateway compares a field
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
 *     and a gateway compares for order only 12 bits: x < 28 on 16 bits is
 *     written x[15:5] == 0 && x[4:0] < 28.
 */
#ifndef P4CAST_CONTROL_VALIDATE_P4
#define P4CAST_CONTROL_VALIDATE_P4

control IpValidate(inout headers_t hdr, inout metadata_t meta) {
    apply {
        /* Assigned under the header's validity: the compiler then computes
         * them in an action of their own instead of copying the expression
         * into the gateways below. */
        bit<16> outer_room4 = 0;
        bit<16> outer_room6 = 0;
        bit<16> ipv4_short = 0;
        if (hdr.outer_ipv4.isValid()) {
            outer_room4 = hdr.outer_ipv4.total_len |-| hdr.ipv4.total_len;
            outer_room6 = hdr.outer_ipv4.total_len |-| hdr.ipv6.payload_len;
        }
        if (hdr.ipv4.isValid()) {
            ipv4_short = meta.arch.ipv4_hdr_bytes |-| hdr.ipv4.total_len;
        }

        /* The TNA ingress (p4/tna/ingress.p4) applies this control on
         * every packet so that the subtractions above run in the first
         * stage; the checks run where the shared ingress would apply it:
         * no decision yet (packet-out DIRECT) and not the controller's own
         * heartbeat request. */
        if (meta.fwd.done || meta.heartbeat.fanout) {
            /* skipped */
        } else if (meta.intrinsic.parser_error) {
            set_drop(meta.fwd, DROP_PARSER_ERROR);
        } else if (meta.intrinsic.checksum_error || meta.arch.outer_csum_err) {
            set_drop(meta.fwd, DROP_CHECKSUM);
        } else if (hdr.outer_ipv4.isValid()) {
            if (hdr.outer_ipv4.total_len[15:5] == 0 && hdr.outer_ipv4.total_len[4:0] < 28) {
                set_drop(meta.fwd, DROP_MALFORMED);
            } else if (hdr.ipv4.isValid()) {
                if (outer_room4[15:5] == 0 && outer_room4[4:0] < 28) {
                    set_drop(meta.fwd, DROP_TRUNCATED);
                } else if (ipv4_short != 0) {
                    set_drop(meta.fwd, DROP_MALFORMED);
                }
            } else if (hdr.ipv6.isValid()) {
                if (outer_room6[15:7] == 0 && outer_room6[6:0] < 68) {
                    set_drop(meta.fwd, DROP_TRUNCATED);
                }
            }
        } else if (hdr.ipv4.isValid()) {
            if (ipv4_short != 0) {
                set_drop(meta.fwd, DROP_MALFORMED);
            }
        }
    }
}

#endif /* P4CAST_CONTROL_VALIDATE_P4 */
