// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: the RFC 7915 header translation shared by unicast
 * (Nat64) and multicast (McastXlate) address mapping.
 *
 * IPv6 -> IPv4 (RFC 7915 section 5.1): version 4, IHL 5, DSCP/ECN from the
 * traffic class, total length = payload length + 20, identification 0,
 * DF set, TTL = hop limit, protocol = next header (58 -> 1), new header
 * checksum. Only packets without extension headers carrying UDP, TCP or an
 * ICMPv6 echo request/reply are translated; anything else that matched a
 * mapping is dropped (DROP_XLATE).
 * IPv4 -> IPv6 (section 4.1): traffic class from DSCP/ECN, flow label 0,
 * payload length = total length - IHL*4 (IPv4 options are not translated),
 * next header = protocol (1 -> 58), hop limit = TTL. Only unfragmented UDP
 * (with a non-zero checksum), TCP and ICMP echo request/reply are
 * translated. An IPv4 UDP packet without checksum (0) is dropped: we never
 * sum payloads (section 4.5 lets a stateless translator drop it).
 * Checksums: UDP/TCP are adjusted incrementally for the pseudo-header
 * address change (protocol and length contribute the same in both
 * families); ICMP <-> ICMPv6 additionally adds / removes the ICMPv6
 * pseudo-header (ICMPv4 has none) and the type change (8 <-> 128,
 * 0 <-> 129).
 */
#ifndef P4CAST_CONTROL_XLATE_P4
#define P4CAST_CONTROL_XLATE_P4

control XlateHeader(inout headers_t hdr, inout metadata_t meta) {
#ifdef P4CAST_TARGET_TNA
    /*
     * TNA: the same translation, arranged for Tofino's stages (the v1model
     * body below is the reference). The TNA ingress applies this control on
     * every plain packet not addressed to this switch (p4/tna/ingress.p4):
     *   - the traffic class (DSCP ++ ECN) of the header being replaced is
     *     gathered by the hash unit one action before the header is built
     *     (IPv6's straddles a byte boundary, and a Tofino action cannot
     *     merge rotated header bits with the new header's constants);
     *   - the rewrite is gated on !meta.fwd.done here, and written as one
     *     chain of conditions on the headers and the LPM results whose
     *     leaves are whole rewrites: no intermediate flags or values (the
     *     L4 test, the protocol, the ICMP type), each of which would cost a
     *     stage;
     *   - the L4 checksums are the deparsers' (P4CAST_CSUM16_OF is empty on
     *     TNA, p4/tna/arch.p4).
     */
    Hash<bit<8>>(HashAlgorithm_t.IDENTITY) tc_of_ipv6;
    Hash<bit<8>>(HashAlgorithm_t.IDENTITY) tc_of_ipv4;

#define P4CAST_XLATE_TO_V4(PROTOCOL)                                     \
        hdr.ipv4.setValid();                                             \
        hdr.ipv4.version = 4;                                            \
        hdr.ipv4.ihl = 5;                                                \
        hdr.ipv4.dscp = tc6[7:2];                                        \
        hdr.ipv4.ecn = tc6[1:0];                                         \
        hdr.ipv4.total_len = hdr.ipv6.payload_len + 20;                  \
        hdr.ipv4.identification = 0;                                     \
        hdr.ipv4.flags = 0b010;                                          \
        hdr.ipv4.frag_offset = 0;                                        \
        hdr.ipv4.ttl = hdr.ipv6.hop_limit;                               \
        hdr.ipv4.protocol = PROTOCOL;                                    \
        hdr.ipv4.hdr_checksum = 0;                                       \
        hdr.ipv4.src_addr = meta.xlate.src4;                             \
        hdr.ipv4.dst_addr = meta.xlate.dst4;                             \
        hdr.ipv6.setInvalid();                                           \
        hdr.ethernet.ether_type = ETHERTYPE_IPV4;                        \
        meta.l3.has_ipv4 = true;                                         \
        meta.l3.dst4 = meta.xlate.dst4;

#define P4CAST_XLATE_TO_V6(NEXT_HDR)                                     \
        hdr.ipv6.setValid();                                             \
        hdr.ipv6.version = 6;                                            \
        hdr.ipv6.dscp = tc4[7:2];                                        \
        hdr.ipv6.ecn = tc4[1:0];                                         \
        hdr.ipv6.flow_label = 0;                                         \
        hdr.ipv6.payload_len = hdr.ipv4.total_len - meta.arch.ipv4_hdr_bytes; \
        hdr.ipv6.next_hdr = NEXT_HDR;                                    \
        hdr.ipv6.hop_limit = hdr.ipv4.ttl;                               \
        hdr.ipv6.src_addr = meta.xlate.src6;                             \
        hdr.ipv6.dst_addr = meta.xlate.dst6;                             \
        hdr.ipv4.setInvalid();                                           \
        hdr.ipv4_options.setInvalid();                                   \
        hdr.ethernet.ether_type = ETHERTYPE_IPV6;                        \
        meta.l3.has_ipv4 = false;

    apply {
        if (meta.fwd.done) {
            /* decided before the translation */
        } else if (meta.xlate.to_v4 && hdr.ipv6.isValid()) {
            /* gathered one action before the header is built (as a
             * metadata field computed ahead, bf-p4c split the byte over two
             * containers, and the header's action then had three sources) */
            bit<8> tc6 = tc_of_ipv6.get({hdr.ipv6.dscp, hdr.ipv6.ecn});
            if (!meta.xlate.src_ok || !meta.xlate.dst_ok || hdr.ipv6_hbh.isValid()) {
                set_drop(meta.fwd, DROP_XLATE);
            } else if (meta.arch.xlate_src_prefix
                       && hdr.ipv6.src_addr[127:96] != meta.xlate.src6[127:96]) {
                /* a multicast source outside the entry's /96 (McastXlate);
                 * a Tofino gateway compares at most 32 bits of two fields */
                set_drop(meta.fwd, DROP_XLATE);
            } else if (meta.arch.xlate_src_prefix
                       && hdr.ipv6.src_addr[95:64] != meta.xlate.src6[95:64]) {
                set_drop(meta.fwd, DROP_XLATE);
            } else if (meta.arch.xlate_src_prefix
                       && hdr.ipv6.src_addr[63:32] != meta.xlate.src6[63:32]) {
                set_drop(meta.fwd, DROP_XLATE);
            } else if (hdr.udp.isValid() || hdr.tcp.isValid()) {
                P4CAST_XLATE_TO_V4(hdr.ipv6.next_hdr)
            } else if (hdr.icmpv6.isValid() && hdr.icmpv6.msg_type == ICMPV6_ECHO_REQUEST) {
                hdr.icmp.setValid();            /* field by field: one write each */
                hdr.icmp.msg_type = ICMP_ECHO_REQUEST;
                hdr.icmp.code = hdr.icmpv6.code;
                hdr.icmp.checksum = hdr.icmpv6.checksum;
                hdr.icmp.identifier = hdr.icmpv6.identifier;
                hdr.icmp.seq_no = hdr.icmpv6.seq_no;
                hdr.icmpv6.setInvalid();
                P4CAST_XLATE_TO_V4(IP_PROTO_ICMP)
            } else if (hdr.icmpv6.isValid() && hdr.icmpv6.msg_type == ICMPV6_ECHO_REPLY) {
                hdr.icmp.setValid();            /* field by field: one write each */
                hdr.icmp.msg_type = ICMP_ECHO_REPLY;
                hdr.icmp.code = hdr.icmpv6.code;
                hdr.icmp.checksum = hdr.icmpv6.checksum;
                hdr.icmp.identifier = hdr.icmpv6.identifier;
                hdr.icmp.seq_no = hdr.icmpv6.seq_no;
                hdr.icmpv6.setInvalid();
                P4CAST_XLATE_TO_V4(IP_PROTO_ICMP)
            } else {
                set_drop(meta.fwd, DROP_XLATE);
            }
        } else if (meta.xlate.to_v6 && hdr.ipv4.isValid()) {
            bit<8> tc4 = tc_of_ipv4.get({hdr.ipv4.dscp, hdr.ipv4.ecn});
            if (!meta.xlate.src_ok || !meta.xlate.dst_ok) {
                set_drop(meta.fwd, DROP_XLATE);
            } else if (hdr.ipv4.flags[0:0] == 1 || hdr.ipv4.frag_offset != 0) {
                set_drop(meta.fwd, DROP_XLATE);          /* a fragment */
            } else if ((hdr.udp.isValid() && hdr.udp.checksum != 0) || hdr.tcp.isValid()) {
                P4CAST_XLATE_TO_V6(hdr.ipv4.protocol)
            } else if (hdr.icmp.isValid() && hdr.icmp.msg_type == ICMP_ECHO_REQUEST) {
                hdr.icmpv6.setValid();            /* field by field: one write each */
                hdr.icmpv6.msg_type = ICMPV6_ECHO_REQUEST;
                hdr.icmpv6.code = hdr.icmp.code;
                hdr.icmpv6.checksum = hdr.icmp.checksum;
                hdr.icmpv6.identifier = hdr.icmp.identifier;
                hdr.icmpv6.seq_no = hdr.icmp.seq_no;
                hdr.icmp.setInvalid();
                P4CAST_XLATE_TO_V6(IP_PROTO_ICMPV6)
            } else if (hdr.icmp.isValid() && hdr.icmp.msg_type == ICMP_ECHO_REPLY) {
                hdr.icmpv6.setValid();            /* field by field: one write each */
                hdr.icmpv6.msg_type = ICMPV6_ECHO_REPLY;
                hdr.icmpv6.code = hdr.icmp.code;
                hdr.icmpv6.checksum = hdr.icmp.checksum;
                hdr.icmpv6.identifier = hdr.icmp.identifier;
                hdr.icmpv6.seq_no = hdr.icmp.seq_no;
                hdr.icmp.setInvalid();
                P4CAST_XLATE_TO_V6(IP_PROTO_ICMPV6)
            } else {
                set_drop(meta.fwd, DROP_XLATE);
            }
        }
    }
#undef P4CAST_XLATE_TO_V4
#undef P4CAST_XLATE_TO_V6
#else
    apply {
        if (meta.xlate.to_v4 && hdr.ipv6.isValid()) {
            bool l4_ok = hdr.udp.isValid() || hdr.tcp.isValid()
                || (hdr.icmpv6.isValid()
                    && (hdr.icmpv6.msg_type == ICMPV6_ECHO_REQUEST
                        || hdr.icmpv6.msg_type == ICMPV6_ECHO_REPLY));
            if (!meta.xlate.src_ok || !meta.xlate.dst_ok
                    || hdr.ipv6_hbh.isValid() || !l4_ok) {
                set_drop(meta.fwd, DROP_XLATE);
            } else {
                bit<8> protocol = hdr.ipv6.next_hdr;

                if (hdr.udp.isValid()) {
                    CSUM16_UPDATE_UDP(hdr.udp.checksum,
                        ~hdr.ipv6.src_addr, ~hdr.ipv6.dst_addr,
                        meta.xlate.src4, meta.xlate.dst4)
                } else if (hdr.tcp.isValid()) {
                    CSUM16_UPDATE(hdr.tcp.checksum,
                        ~hdr.ipv6.src_addr, ~hdr.ipv6.dst_addr,
                        meta.xlate.src4, meta.xlate.dst4);
                } else {
                    bit<8> icmp_type = ICMP_ECHO_REPLY;
                    if (hdr.icmpv6.msg_type == ICMPV6_ECHO_REQUEST) {
                        icmp_type = ICMP_ECHO_REQUEST;
                    }
                    /* remove: ICMPv6 pseudo-header (addresses, length, 58)
                     * and the old type; add: the new type. */
                    hdr.icmp = hdr.icmpv6;
                    hdr.icmp.msg_type = icmp_type;
                    CSUM16_UPDATE(hdr.icmp.checksum,
                        ~hdr.ipv6.src_addr, ~hdr.ipv6.dst_addr,
                        ~hdr.ipv6.payload_len, ~((bit<16>)IP_PROTO_ICMPV6),
                        ~(hdr.icmpv6.msg_type ++ hdr.icmpv6.code),
                        icmp_type ++ hdr.icmpv6.code);
                    hdr.icmpv6.setInvalid();
                    protocol = IP_PROTO_ICMP;
                }

                hdr.ipv4.setValid();
                hdr.ipv4.version = 4;
                hdr.ipv4.ihl = 5;
                hdr.ipv4.dscp = hdr.ipv6.dscp;
                hdr.ipv4.ecn = hdr.ipv6.ecn;
                hdr.ipv4.total_len = hdr.ipv6.payload_len + 20;
                hdr.ipv4.identification = 0;
                hdr.ipv4.flags = 0b010;
                hdr.ipv4.frag_offset = 0;
                hdr.ipv4.ttl = hdr.ipv6.hop_limit;
                hdr.ipv4.protocol = protocol;
                hdr.ipv4.hdr_checksum = 0;
                hdr.ipv4.src_addr = meta.xlate.src4;
                hdr.ipv4.dst_addr = meta.xlate.dst4;
                hdr.ipv6.setInvalid();
                hdr.ethernet.ether_type = ETHERTYPE_IPV4;

                meta.l3.has_ipv4 = true;
                meta.l3.dst4 = meta.xlate.dst4;
            }
        } else if (meta.xlate.to_v6 && hdr.ipv4.isValid()) {
            bool fragment = hdr.ipv4.flags[0:0] == 1 || hdr.ipv4.frag_offset != 0;
            bool l4_ok = (hdr.udp.isValid() && hdr.udp.checksum != 0)
                || hdr.tcp.isValid()
                || (hdr.icmp.isValid()
                    && (hdr.icmp.msg_type == ICMP_ECHO_REQUEST
                        || hdr.icmp.msg_type == ICMP_ECHO_REPLY));
            if (!meta.xlate.src_ok || !meta.xlate.dst_ok || fragment || !l4_ok) {
                set_drop(meta.fwd, DROP_XLATE);
            } else {
                bit<16> payload_len = hdr.ipv4.total_len - (((bit<16>)hdr.ipv4.ihl) << 2);
                bit<8> next_hdr = hdr.ipv4.protocol;

                if (hdr.udp.isValid()) {
                    CSUM16_UPDATE_UDP(hdr.udp.checksum,
                        ~hdr.ipv4.src_addr, ~hdr.ipv4.dst_addr,
                        meta.xlate.src6, meta.xlate.dst6)
                } else if (hdr.tcp.isValid()) {
                    CSUM16_UPDATE(hdr.tcp.checksum,
                        ~hdr.ipv4.src_addr, ~hdr.ipv4.dst_addr,
                        meta.xlate.src6, meta.xlate.dst6);
                } else {
                    bit<8> icmp_type = ICMPV6_ECHO_REPLY;
                    if (hdr.icmp.msg_type == ICMP_ECHO_REQUEST) {
                        icmp_type = ICMPV6_ECHO_REQUEST;
                    }
                    /* remove: the old type; add: the new type and the
                     * ICMPv6 pseudo-header (addresses, length, 58). */
                    hdr.icmpv6 = hdr.icmp;
                    hdr.icmpv6.msg_type = icmp_type;
                    CSUM16_UPDATE(hdr.icmpv6.checksum,
                        ~(hdr.icmp.msg_type ++ hdr.icmp.code),
                        icmp_type ++ hdr.icmp.code,
                        meta.xlate.src6, meta.xlate.dst6,
                        payload_len, (bit<16>)IP_PROTO_ICMPV6);
                    hdr.icmp.setInvalid();
                    next_hdr = IP_PROTO_ICMPV6;
                }

                hdr.ipv6.setValid();
                hdr.ipv6.version = 6;
                hdr.ipv6.dscp = hdr.ipv4.dscp;
                hdr.ipv6.ecn = hdr.ipv4.ecn;
                hdr.ipv6.flow_label = 0;
                hdr.ipv6.payload_len = payload_len;
                hdr.ipv6.next_hdr = next_hdr;
                hdr.ipv6.hop_limit = hdr.ipv4.ttl;
                hdr.ipv6.src_addr = meta.xlate.src6;
                hdr.ipv6.dst_addr = meta.xlate.dst6;
                hdr.ipv4.setInvalid();
                hdr.ipv4_options.setInvalid();
                hdr.ethernet.ether_type = ETHERTYPE_IPV6;

                meta.l3.has_ipv4 = false;
            }
        }
    }
#endif
}

#endif /* P4CAST_CONTROL_XLATE_P4 */
