// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: TNA parsers. Included by p4/tna/arch.p4 (wrapper part).
 *
 * Ingress (TnaIngressParser): intrinsic metadata, port metadata, the pktgen
 * header on the packet generator's port, then TnaHeaderParser:
 * p4/include/parser.p4's state machine (packet_out on the CPU port, then
 * Ethernet on: same states, same headers, same errors) with what TNA needs
 * inside the states that extract the fields, which is why it is not the
 * shared sub-parser itself:
 *
 *   - the IPv4 header checksums are verified by parser Checksum units (there
 *     is no verify_checksum control on TNA). Checksum.verify() gives 1 when
 *     the checksum is WRONG: bf-p4c lowers it to the parser's checksum-error
 *     bit (its own v1model and PSA translations OR it into parser_err's
 *     checksum-error bit), so it is assigned to the error flags as is; the
 *     back end cannot evaluate `!verify()` in the parser;
 *   - the L4 checksum residual: the inner source and destination address
 *     (IPv4 only for UDP and TCP: see parse_ipv4_icmp), the ICMP/ICMPv6 type
 *     word and the checksum field itself are subtracted from the running
 *     sum, and the rest is deposited in metadata. Where it is used:
 *     arch.p4, "Checksums" (the deparsers add the fields back with their
 *     current values, which equals csum16.p4's incremental update, RFC
 *     1624, without a checksum unit in the match-action pipeline). The
 *     heartbeat is not subtracted (the hardware subtracts every header
 *     extracted after the deposit, so it is the last state's header).
 *
 * The shared parser's verify() checks (IP / shim versions, IHL, TCP data
 * offset, Hop-by-Hop length) are select transitions to parse_error here:
 * bf-p4c drops parser verify() statements with a warning.
 *
 * IPv4 options are extracted by one state per IHL with a constant length
 * (the IHL select and the later fragment-offset/protocol select would
 * otherwise outgrow the parser's match registers), the Hop-by-Hop
 * extension as in the shared parser; bf-p4c's DesugarVarbitExtract turns
 * its length expression into one parser state per possible length.
 *
 * Egress (TnaEgressParser): intrinsic metadata, bridged metadata, then only
 * what egress rewrites or checksums: Ethernet, the outer IPv4 header and
 * shim, the inner IPv4 (+ options) or IPv6 (+ a Hop-by-Hop header of up to
 * 16 octets) header, and a UDP, TCP or ICMPv6 header. Tofino 1's egress
 * parser sees at most 160 octets (intrinsic metadata 27 + bridged 8 + 125
 * of the packet); what is not extracted stays payload and leaves unchanged.
 */
#ifndef P4CAST_TNA_PARSER_P4
#define P4CAST_TNA_PARSER_P4

/* The IPv4 version / IHL select of TnaHeaderParser's four IPv4 states. */
#define P4CAST_TNA_IPV4_IHL_SELECT                                       \
        transition select(hdr.ipv4.version, hdr.ipv4.ihl) {              \
            (4, 5):              parse_ipv4_no_options;                  \
            (4, 4w0 &&& 4w0xC):  parse_error;   /* IHL 0..3 */           \
            (4, 4):              parse_error;   /* IHL 4 */              \
            (4, 6):              parse_ipv4_ihl6;                        \
            (4, 7):              parse_ipv4_ihl7;                        \
            (4, 8):              parse_ipv4_ihl8;                        \
            (4, 9):              parse_ipv4_ihl9;                        \
            (4, 10):             parse_ipv4_ihl10;                       \
            (4, 11):             parse_ipv4_ihl11;                       \
            (4, 12):             parse_ipv4_ihl12;                       \
            (4, 13):             parse_ipv4_ihl13;                       \
            (4, 14):             parse_ipv4_ihl14;                       \
            (4, 15):             parse_ipv4_ihl15;                       \
            default:             parse_error;   /* wrong version */      \
        }

parser TnaHeaderParser(packet_in pkt,
                       out headers_t hdr,
                       inout metadata_t meta,
                       out bit<16> l4_residual,
                       in port_t ingress_port) {
    Checksum() outer_ipv4_csum;
    Checksum() ipv4_csum;
    Checksum() l4_csum;

    state start {
        l4_residual = 0;
        transition select(ingress_port) {
            CPU_PORT: parse_packet_out;
            default:  parse_ethernet;
        }
    }

    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: check_encapsulated;
            ETHERTYPE_IPV6: parse_ipv6;
            default:        accept;
        }
    }

    /* As the shared parser, plus: an ICMP packet goes to parse_ipv4_icmp. */
    state check_encapsulated {
        bit<80> first = pkt.lookahead<bit<80>>();
        transition select(first[79:72], first[29:16], first[7:0]) {
            (0x45, 0, IP_PROTO_P4CAST): parse_outer_ipv4;
            (_, _, IP_PROTO_ICMP):      parse_ipv4_icmp;
            default:                    parse_ipv4;
        }
    }

    state parse_outer_ipv4 {
        pkt.extract(hdr.outer_ipv4);
        outer_ipv4_csum.add(hdr.outer_ipv4);
        meta.arch.outer_csum_err = outer_ipv4_csum.verify();
        meta.l3.has_ipv4 = true;
        meta.l3.dst4 = hdr.outer_ipv4.dst_addr;
        transition parse_shim;
    }

    state parse_shim {
        pkt.extract(hdr.shim);
        transition select(hdr.shim.version, hdr.shim.next_hdr) {
            (SHIM_VERSION, IP_PROTO_IPV4): check_inner_ipv4;
            (SHIM_VERSION, IP_PROTO_IPV6): parse_ipv6;
            (SHIM_VERSION, _):             accept;
            default:                       parse_error;   /* ShimIncorrectVersion */
        }
    }

    state check_inner_ipv4 {
        bit<80> first = pkt.lookahead<bit<80>>();
        transition select(first[7:0]) {
            IP_PROTO_ICMP: parse_inner_ipv4_icmp;
            default:       parse_inner_ipv4;
        }
    }

    /* A plain IPv4 packet: its header is the outermost one
     * (meta.l3.has_ipv4 / dst4, L3Classify's fields on v1model) and the
     * destination a session is classified on unless a translation maps it
     * (meta.xlate.dst4, SessionClassify's key on TNA). */
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        ipv4_csum.add(hdr.ipv4);
        l4_csum.subtract({hdr.ipv4.src_addr, hdr.ipv4.dst_addr});
        meta.l3.has_ipv4 = true;
        meta.l3.dst4 = hdr.ipv4.dst_addr;
        meta.xlate.dst4 = hdr.ipv4.dst_addr;
        P4CAST_TNA_IPV4_IHL_SELECT
    }

    /* The inner IPv4 header of a p4cast packet (the outer one is the
     * outermost). */
    state parse_inner_ipv4 {
        pkt.extract(hdr.ipv4);
        ipv4_csum.add(hdr.ipv4);
        l4_csum.subtract({hdr.ipv4.src_addr, hdr.ipv4.dst_addr});
        P4CAST_TNA_IPV4_IHL_SELECT
    }

    /* ICMP over IPv4: the addresses stay in the residual (ICMPv4 has no
     * pseudo-header). An ICMP -> ICMPv6 translation then only adds the
     * ICMPv6 pseudo-header in the deparser (arch.p4), without copies of the
     * old addresses. */
    state parse_ipv4_icmp {
        pkt.extract(hdr.ipv4);
        ipv4_csum.add(hdr.ipv4);
        meta.l3.has_ipv4 = true;
        meta.l3.dst4 = hdr.ipv4.dst_addr;
        meta.xlate.dst4 = hdr.ipv4.dst_addr;
        P4CAST_TNA_IPV4_IHL_SELECT
    }

    state parse_inner_ipv4_icmp {
        pkt.extract(hdr.ipv4);
        ipv4_csum.add(hdr.ipv4);
        P4CAST_TNA_IPV4_IHL_SELECT
    }

    state parse_ipv4_no_options {
        meta.arch.ipv4_hdr_bytes = 20;
        meta.intrinsic.checksum_error = ipv4_csum.verify();
        transition parse_ipv4_payload;
    }

    /* IPv4 options: one state per IHL with a constant-length extract, and
     * IHL * 4 as a constant (meta.arch.ipv4_hdr_bytes; the match-action
     * pipeline would need a shift and a move from 4 to 16 bits, which one
     * Tofino action does not do). A single varbit extract would re-select
     * on the IHL after the options, and the IHL, fragment offset and
     * protocol together outgrow Tofino 1's parser match registers (one of
     * 16 bits, two of 8). */
#define P4CAST_TNA_IPV4_OPTIONS(WORDS)                                   \
        pkt.extract(hdr.ipv4_options, (WORDS) * 32);                     \
        ipv4_csum.add(hdr.ipv4_options);                                 \
        meta.intrinsic.checksum_error = ipv4_csum.verify();              \
        meta.arch.ipv4_hdr_bytes = 20 + (WORDS) * 4;                     \
        transition parse_ipv4_payload;
    state parse_ipv4_ihl6  { P4CAST_TNA_IPV4_OPTIONS(1) }
    state parse_ipv4_ihl7  { P4CAST_TNA_IPV4_OPTIONS(2) }
    state parse_ipv4_ihl8  { P4CAST_TNA_IPV4_OPTIONS(3) }
    state parse_ipv4_ihl9  { P4CAST_TNA_IPV4_OPTIONS(4) }
    state parse_ipv4_ihl10 { P4CAST_TNA_IPV4_OPTIONS(5) }
    state parse_ipv4_ihl11 { P4CAST_TNA_IPV4_OPTIONS(6) }
    state parse_ipv4_ihl12 { P4CAST_TNA_IPV4_OPTIONS(7) }
    state parse_ipv4_ihl13 { P4CAST_TNA_IPV4_OPTIONS(8) }
    state parse_ipv4_ihl14 { P4CAST_TNA_IPV4_OPTIONS(9) }
    state parse_ipv4_ihl15 { P4CAST_TNA_IPV4_OPTIONS(10) }
#undef P4CAST_TNA_IPV4_OPTIONS

    state parse_ipv4_payload {
        transition select(hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (0, IP_PROTO_UDP):  parse_udp;
            (0, IP_PROTO_TCP):  parse_tcp;
            (0, IP_PROTO_ICMP): parse_icmp;
            (0, IP_PROTO_IGMP): parse_igmp;
            default:            accept;
        }
    }

    state parse_ipv6 {
        pkt.extract(hdr.ipv6);
        l4_csum.subtract({hdr.ipv6.src_addr, hdr.ipv6.dst_addr});
        meta.xlate.dst6 = hdr.ipv6.dst_addr;   /* SessionClassify's key on TNA */
        transition select(hdr.ipv6.version, hdr.ipv6.next_hdr) {
            (6, IP_PROTO_HOPOPT): parse_ipv6_hbh;
            (6, IP_PROTO_UDP):    parse_udp;
            (6, IP_PROTO_TCP):    parse_tcp;
            (6, IP_PROTO_ICMPV6): parse_icmpv6;
            (6, _):               accept;
            default:              parse_error;   /* IPv6IncorrectVersion */
        }
    }

    state parse_ipv6_hbh {
        pkt.extract(hdr.ipv6_hbh);
        transition select(hdr.ipv6_hbh.hdr_ext_len) {
            0:                   parse_ipv6_after_hbh;
            8w0 &&& 8w0xF8:      parse_ipv6_hbh_ext;   /* 1..7: up to 56 more octets */
            default:             parse_error;          /* longer: as v1model's varbit overflow */
        }
    }

    state parse_ipv6_hbh_ext {
        pkt.extract(hdr.ipv6_hbh_ext, (bit<32>)hdr.ipv6_hbh.hdr_ext_len * 64);
        transition parse_ipv6_after_hbh;
    }

    state parse_ipv6_after_hbh {
        transition select(hdr.ipv6_hbh.next_hdr) {
            IP_PROTO_UDP:    parse_udp;
            IP_PROTO_TCP:    parse_tcp;
            IP_PROTO_ICMPV6: parse_icmpv6;
            default:         accept;
        }
    }

    /* ICMP: the type word changes in an ICMP <-> ICMPv6 translation. */
    state parse_icmp {
        pkt.extract(hdr.icmp);
        l4_csum.subtract({hdr.icmp.checksum, hdr.icmp.msg_type, hdr.icmp.code});
        l4_csum.subtract_all_and_deposit(l4_residual);
        transition accept;
    }

    state parse_icmpv6 {
        pkt.extract(hdr.icmpv6);
        l4_csum.subtract({hdr.icmpv6.checksum, hdr.icmpv6.msg_type, hdr.icmpv6.code});
        l4_csum.subtract_all_and_deposit(l4_residual);
        transition accept;
    }

    state parse_igmp {
        pkt.extract(hdr.igmp);
        transition accept;
    }

    state parse_tcp {
        pkt.extract(hdr.tcp);
        meta.l4.valid = true;
        meta.l4.src_port = hdr.tcp.src_port;
        meta.l4.dst_port = hdr.tcp.dst_port;
        l4_csum.subtract({hdr.tcp.checksum});
        l4_csum.subtract_all_and_deposit(l4_residual);
        transition select(hdr.tcp.data_offset) {
            4w0 &&& 4w0xC: parse_error;   /* 0..3: TcpHeaderTooShort */
            4:             parse_error;
            default:       accept;
        }
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        meta.l4.valid = true;
        meta.l4.src_port = hdr.udp.src_port;
        meta.l4.dst_port = hdr.udp.dst_port;
        l4_csum.subtract({hdr.udp.checksum});
        transition select(hdr.udp.dst_port) {
            UDP_PORT_HEARTBEAT: parse_heartbeat;
            default:            parse_udp_done;
        }
    }

    state parse_udp_done {
        l4_csum.subtract_all_and_deposit(l4_residual);
        transition accept;
    }

    /* bf-p4c ignores parser verify() ("currently unsupported"), so the
     * shared parser's verify checks are select transitions here, and an
     * error is a metadata flag IpValidate turns into DROP_PARSER_ERROR. */
    state parse_error {
        meta.intrinsic.parser_error = true;
        transition accept;
    }

    /* The deposit is here, after the heartbeat, so that the hardware does
     * not subtract it: the residual is the same as for any UDP packet, and
     * a reflection adds its changes from metadata (arch.p4). */
    state parse_heartbeat {
        pkt.extract(hdr.heartbeat);
        l4_csum.subtract_all_and_deposit(l4_residual);
        transition accept;
    }
}

#undef P4CAST_TNA_IPV4_IHL_SELECT

parser TnaIngressParser(packet_in pkt,
                        out tna_ingress_headers_t hdr,
                        out tna_ingress_md_t md,
                        out ingress_intrinsic_metadata_t ig_intr_md) {
    TnaHeaderParser() p4cast_parser;

    state start {
        pkt.extract(ig_intr_md);
        /* Not resubmitted (p4cast never resubmits): skip the port metadata. */
        pkt.advance(PORT_METADATA_SIZE);
        md = {...};   /* all zero / false, as BMv2 starts user metadata */
        /* A copy of the ingress port set here, where the intrinsic header
         * is extracted, not by an action: NeighbourTrust's tables, keyed on
         * it, then need no stage before them (trust.p4). (Not
         * intrinsic.ingress_port itself: the bridged header holds that at
         * another bit position, arch.p4.) */
        md.p4cast.arch.ingress_port = ig_intr_md.ingress_port;
        transition select(ig_intr_md.ingress_port) {
            P4CAST_PKTGEN_PORT: parse_pktgen;
            default:            parse_packet;
        }
    }

    /* A timer packet: 6-octet pktgen header, then the application's packet
     * buffer (the heartbeat request template, docs/tofino.md). */
    state parse_pktgen {
        pkt.extract(hdr.pktgen);
        transition parse_packet;
    }

    state parse_packet {
        p4cast_parser.apply(pkt, hdr.p4cast, md.p4cast, md.l4_residual, ig_intr_md.ingress_port);
        transition accept;
    }
}

/*
 * Egress: the packet as the ingress deparser emitted it (the packet_out
 * header never reaches egress). No checks and no checksum units: ingress
 * dropped what is malformed, and the L4 residual, when egress recomputes an
 * L4 checksum, is the value ingress wrote into the checksum field
 * (bridged.l4_fix; arch.p4). ICMP, IGMP and the heartbeat are not parsed:
 * egress changes none of them.
 */
parser TnaEgressParser(packet_in pkt,
                       out tna_egress_headers_t hdr,
                       out tna_egress_md_t md,
                       out egress_intrinsic_metadata_t eg_intr_md) {
    state start {
        pkt.extract(eg_intr_md);
        md = {...};
        pkt.extract(hdr.bridged);
        /* Only bridged packets: p4cast mirrors nothing (a mirror header
         * would carry another kind and need its own branch here). */
        md.l4_fix = hdr.bridged.l4_fix;
        transition parse_ethernet;
    }

    state parse_ethernet {
        pkt.extract(hdr.p4cast.ethernet);
        transition select(hdr.p4cast.ethernet.ether_type) {
            ETHERTYPE_IPV4: check_encapsulated;
            ETHERTYPE_IPV6: parse_ipv6;
            default:        accept;
        }
    }

    state check_encapsulated {
        bit<80> first = pkt.lookahead<bit<80>>();
        transition select(first[79:72], first[29:16], first[7:0]) {
            (0x45, 0, IP_PROTO_P4CAST): parse_outer_ipv4;
            default:                    parse_ipv4;
        }
    }

    state parse_outer_ipv4 {
        pkt.extract(hdr.p4cast.outer_ipv4);
        transition parse_shim;
    }

    state parse_shim {
        pkt.extract(hdr.p4cast.shim);
        transition select(hdr.p4cast.shim.next_hdr) {
            IP_PROTO_IPV4: parse_ipv4;
            IP_PROTO_IPV6: parse_ipv6;
            default:       accept;
        }
    }

    /* IHL 0..4: ingress dropped it (or a DIRECT packet-out): no options.
     * Options as in ingress, one constant-length state per IHL. */
    state parse_ipv4 {
        pkt.extract(hdr.p4cast.ipv4);
        transition select(hdr.p4cast.ipv4.ihl) {
            5:  parse_ipv4_payload;
            6:  parse_ipv4_ihl6;
            7:  parse_ipv4_ihl7;
            8:  parse_ipv4_ihl8;
            9:  parse_ipv4_ihl9;
            10: parse_ipv4_ihl10;
            11: parse_ipv4_ihl11;
            12: parse_ipv4_ihl12;
            13: parse_ipv4_ihl13;
            14: parse_ipv4_ihl14;
            15: parse_ipv4_ihl15;
            default: accept;
        }
    }

#define P4CAST_TNA_IPV4_OPTIONS(WORDS)                                   \
        pkt.extract(hdr.p4cast.ipv4_options, (WORDS) * 32);              \
        transition parse_ipv4_payload;
    state parse_ipv4_ihl6  { P4CAST_TNA_IPV4_OPTIONS(1) }
    state parse_ipv4_ihl7  { P4CAST_TNA_IPV4_OPTIONS(2) }
    state parse_ipv4_ihl8  { P4CAST_TNA_IPV4_OPTIONS(3) }
    state parse_ipv4_ihl9  { P4CAST_TNA_IPV4_OPTIONS(4) }
    state parse_ipv4_ihl10 { P4CAST_TNA_IPV4_OPTIONS(5) }
    state parse_ipv4_ihl11 { P4CAST_TNA_IPV4_OPTIONS(6) }
    state parse_ipv4_ihl12 { P4CAST_TNA_IPV4_OPTIONS(7) }
    state parse_ipv4_ihl13 { P4CAST_TNA_IPV4_OPTIONS(8) }
    state parse_ipv4_ihl14 { P4CAST_TNA_IPV4_OPTIONS(9) }
    state parse_ipv4_ihl15 { P4CAST_TNA_IPV4_OPTIONS(10) }
#undef P4CAST_TNA_IPV4_OPTIONS

    state parse_ipv4_payload {
        transition select(hdr.p4cast.ipv4.frag_offset, hdr.p4cast.ipv4.protocol) {
            (0, IP_PROTO_UDP): parse_udp;
            (0, IP_PROTO_TCP): parse_tcp;
            default:           accept;
        }
    }

    state parse_ipv6 {
        pkt.extract(hdr.p4cast.ipv6);
        transition select(hdr.p4cast.ipv6.next_hdr) {
            IP_PROTO_HOPOPT: parse_ipv6_hbh;
            IP_PROTO_UDP:    parse_udp;
            IP_PROTO_TCP:    parse_tcp;
            IP_PROTO_ICMPV6: parse_icmpv6;
            default:         accept;
        }
    }

    /* At most 8 extension octets: a longer Hop-by-Hop header would put a
     * TCP header beyond the 160 octets. Its L4 header is not reached
     * (l4_unparsed; TnaEgress drops a client delivery of it). */
    state parse_ipv6_hbh {
        pkt.extract(hdr.p4cast.ipv6_hbh);
        transition select(hdr.p4cast.ipv6_hbh.hdr_ext_len, hdr.p4cast.ipv6_hbh.next_hdr) {
            (0, _):               parse_ipv6_after_hbh;
            (1, _):               parse_ipv6_hbh_ext;
            (_, IP_PROTO_UDP):    parse_l4_unparsed;
            (_, IP_PROTO_TCP):    parse_l4_unparsed;
            (_, IP_PROTO_ICMPV6): parse_l4_unparsed;
            default:              accept;
        }
    }

    state parse_ipv6_hbh_ext {
        pkt.extract(hdr.p4cast.ipv6_hbh_ext, (bit<32>)(hdr.p4cast.ipv6_hbh.hdr_ext_len & 1) * 64);
        transition parse_ipv6_after_hbh;
    }

    state parse_l4_unparsed {
        md.l4_unparsed = true;
        transition accept;
    }

    state parse_ipv6_after_hbh {
        transition select(hdr.p4cast.ipv6_hbh.next_hdr) {
            IP_PROTO_UDP:    parse_udp;
            IP_PROTO_TCP:    parse_tcp;
            IP_PROTO_ICMPV6: parse_icmpv6;
            default:         accept;
        }
    }

    state parse_udp {
        pkt.extract(hdr.p4cast.udp);
        md.l4_residual = hdr.p4cast.udp.checksum;
        transition accept;
    }

    state parse_tcp {
        pkt.extract(hdr.p4cast.tcp);
        md.l4_residual = hdr.p4cast.tcp.checksum;
        transition accept;
    }

    state parse_icmpv6 {
        pkt.extract(hdr.p4cast.icmpv6);
        md.l4_residual = hdr.p4cast.icmpv6.checksum;
        transition accept;
    }
}

#endif /* P4CAST_TNA_PARSER_P4 */
