// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: multicast address translation, RFC 8114 style.
 *
 * IPv4 (S,G) -> IPv6: G6 = group_prefix/96 + G4, S6 = source_prefix/96 + S4
 * for a G4 matching mcast_xlate_v4_lpm.
 * IPv6 -> IPv4: for a G6 matching mcast_xlate_v6_lpm (the /96 multicast
 * prefix), G4 = low 32 bits of G6; S6 must lie in the entry's
 * source_prefix/96 (else DROP_XLATE) and S4 = low 32 bits of S6.
 * The header rewrite itself is XlateHeader (xlate.p4); forwarding of the
 * result is TreeReplication (ipv4_mcast_exact / ipv6_mcast_exact).
 */
#ifndef P4CAST_CONTROL_MCAST_XLATE_P4
#define P4CAST_CONTROL_MCAST_XLATE_P4

control McastXlate(inout headers_t hdr, inout metadata_t meta) {

    action mcast_xlate_4to6(ipv6_addr_t group_prefix, ipv6_addr_t source_prefix) {
        meta.xlate.to_v6 = true;
        meta.xlate.dst_ok = true;
        meta.xlate.src_ok = true;
        meta.xlate.dst6 = group_prefix[127:32] ++ hdr.ipv4.dst_addr;
        meta.xlate.src6 = source_prefix[127:32] ++ hdr.ipv4.src_addr;
    }

    action mcast_xlate_6to4(ipv6_addr_t source_prefix) {
        meta.xlate.to_v4 = true;
        meta.xlate.dst_ok = true;
        meta.xlate.dst4 = hdr.ipv6.dst_addr[31:0];
        meta.xlate.src6 = source_prefix;   /* checked in apply */
#ifdef P4CAST_TARGET_TNA
        /* TNA: the source is checked against the prefix by XlateHeader
         * (xlate.p4), in its chain of conditions: a check here, after the
         * lookup, was a stage of its own. Until then src_ok and src4 hold
         * what a match gives (XlateHeader drops the packet otherwise). */
        meta.xlate.src_ok = true;
        meta.xlate.src4 = hdr.ipv6.src_addr[31:0];
        meta.arch.xlate_src_prefix = true;
#endif
    }

    /* IPv4 groups to translate to IPv6 (controller: translator role). */
    table mcast_xlate_v4_lpm {
        key = {
            hdr.ipv4.dst_addr : lpm @name("group_addr");
        }
        actions = {
            mcast_xlate_4to6;
            @defaultonly NoAction;
        }
        size = P4CAST_MCAST_XLATE_SIZE;
        default_action = NoAction();
    }

    /* IPv6 multicast /96 prefixes to translate to IPv4 (controller:
     * translator role). */
    table mcast_xlate_v6_lpm {
        key = {
            hdr.ipv6.dst_addr : lpm @name("group_addr");
        }
        actions = {
            mcast_xlate_6to4;
            @defaultonly NoAction;
        }
        size = P4CAST_MCAST_XLATE_SIZE;
        default_action = NoAction();
    }

    apply {
        if (hdr.ipv6.isValid()) {
            if (mcast_xlate_v6_lpm.apply().hit) {
#ifdef P4CAST_TARGET_TNA
                /* checked by XlateHeader (the action above) */
#else
                if (hdr.ipv6.src_addr[127:32] == meta.xlate.src6[127:32]) {
                    meta.xlate.src_ok = true;
                    meta.xlate.src4 = hdr.ipv6.src_addr[31:0];
                }
#endif
            }
        } else if (hdr.ipv4.isValid()) {
            mcast_xlate_v4_lpm.apply();
        }
    }
}

#endif /* P4CAST_CONTROL_MCAST_XLATE_P4 */
