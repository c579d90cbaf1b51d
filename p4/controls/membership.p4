// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: group membership reports to the controller.
 *
 * IGMP v1/v2 reports, v2 leaves and v3 reports (RFC 2236, RFC 3376) and MLD
 * v1 reports / dones and v2 reports (RFC 2710, RFC 3810) carried behind an
 * IPv6 Hop-by-Hop header (the Router Alert option) are sent to the
 * controller as packet-ins (PUNT_REASON_IGMP / PUNT_REASON_MLD) and not
 * forwarded. Queries and MLD messages without a Hop-by-Hop header are
 * treated as ordinary IP packets.
 */
#ifndef P4CAST_CONTROL_MEMBERSHIP_P4
#define P4CAST_CONTROL_MEMBERSHIP_P4

control MembershipPunt(inout headers_t hdr, inout metadata_t meta) {
    apply {
        if (!hdr.shim.isValid()) {
            if (hdr.igmp.isValid()) {
                if (hdr.igmp.msg_type == IGMP_V1_REPORT
                        || hdr.igmp.msg_type == IGMP_V2_REPORT
                        || hdr.igmp.msg_type == IGMP_V2_LEAVE
                        || hdr.igmp.msg_type == IGMP_V3_REPORT) {
                    set_punt(meta.fwd, meta.pktio, PUNT_REASON_IGMP, 0);
                }
            } else if (hdr.icmpv6.isValid() && hdr.ipv6_hbh.isValid()) {
                if (hdr.icmpv6.msg_type == ICMPV6_MLD_V1_REPORT
                        || hdr.icmpv6.msg_type == ICMPV6_MLD_V1_DONE
                        || hdr.icmpv6.msg_type == ICMPV6_MLD_V2_REPORT) {
                    set_punt(meta.fwd, meta.pktio, PUNT_REASON_MLD, 0);
                }
            }
        }
    }
}

#endif /* P4CAST_CONTROL_MEMBERSHIP_P4 */
