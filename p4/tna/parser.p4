// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: TNA parsers. Included by p4/tna/arch.p4 (wrapper part).
 *
 * TnaHeaderParser is p4/include/parser.p4's state machine from Ethernet on
 * (same states, same headers, same errors; the packet_out / pktgen prefix
 * is TnaIngressParser's) with the two things TNA needs inside the states that
 * extract the fields, which is why it is not the shared sub-parser itself:
 *
 *   - the IPv4 header checksums are verified by parser Checksum units (there
 *     is no verify_checksum control on TNA);
 *   - the L4 checksum residual: the fields a feature may rewrite (inner
 *     source and destination address; ICMP/ICMPv6 type word; heartbeat
 *     type word and reflect timestamp) and the checksum field itself are subtracted from the
 *     running sum, and the rest is deposited in metadata. Ingress and egress
 *     subtract the same fields (no parser conditionals); a deparser that
 *     recomputes a checksum adds all of them back with their current values
 *     (arch.p4), which equals csum16.p4's incremental update (RFC 1624)
 *     without a checksum unit in the match-action pipeline. A field of an
 *     invalid header adds nothing on either side.
 *
 * The shared parser's verify() checks (IP / shim versions, IHL, TCP data
 * offset, Hop-by-Hop length) are select transitions to parse_error here:
 * bf-p4c drops parser verify() statements with a warning.
 *
 * Varbit IPv4 options and Hop-by-Hop extensions are extracted as in the
 * shared parser; bf-p4c's DesugarVarbitExtract turns the length expression
 * into one parser state per possible length (docs/tofino.md).
 *
 * Ingress: intrinsic metadata, port metadata, then the packet (with the
 * packet_out header from the CPU port, or the pktgen header from the packet
 * generator's port). Egress: intrinsic metadata, bridged metadata, then the
 * packet again (egress sees the ingress deparser's output, not the wire).
 */
#ifndef P4CAST_TNA_PARSER_P4
#define P4CAST_TNA_PARSER_P4

parser TnaHeaderParser(packet_in pkt,
                       out headers_t hdr,
                       inout metadata_t meta,
                       out bit<16> l4_residual,
                       out bool ipv4_opts,
                       out bool outer_csum_err) {
    Checksum() outer_ipv4_csum;
    Checksum() ipv4_csum;
    Checksum() l4_csum;

    state start {
        ipv4_opts = false;
        outer_csum_err = false;
        l4_residual = 0;
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

    state check_encapsulated {
        bit<80> first = pkt.lookahead<bit<80>>();
        transition select(first[79:72], first[29:16], first[7:0]) {
            (0x45, 0, IP_PROTO_P4CAST): parse_outer_ipv4;
            default:                    parse_ipv4;
        }
    }

    state parse_outer_ipv4 {
        pkt.extract(hdr.outer_ipv4);
        outer_ipv4_csum.add(hdr.outer_ipv4);
        outer_csum_err = !outer_ipv4_csum.verify();
        transition parse_shim;
    }

    state parse_shim {
        pkt.extract(hdr.shim);
        transition select(hdr.shim.version, hdr.shim.next_hdr) {
            (SHIM_VERSION, IP_PROTO_IPV4): parse_ipv4;
            (SHIM_VERSION, IP_PROTO_IPV6): parse_ipv6;
            (SHIM_VERSION, _):             accept;
            default:                       parse_error;   /* ShimIncorrectVersion */
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        ipv4_csum.add(hdr.ipv4);
        l4_csum.subtract({hdr.ipv4.src_addr, hdr.ipv4.dst_addr});
        transition select(hdr.ipv4.version, hdr.ipv4.ihl) {
            (4, 5):              parse_ipv4_no_options;
            (4, 4w0 &&& 4w0xC):  parse_error;   /* IHL 0..3: IPv4HeaderTooShort */
            (4, 4):              parse_error;   /* IHL 4 */
            (4, _):              parse_ipv4_options;
            default:             parse_error;   /* IPv4IncorrectVersion */
        }
    }

    state parse_ipv4_no_options {
        meta.intrinsic.checksum_error = !ipv4_csum.verify();
        transition parse_ipv4_payload;
    }

    state parse_ipv4_options {
        pkt.extract(hdr.ipv4_options, ((bit<32>)hdr.ipv4.ihl - 5) * 32);
        ipv4_csum.add(hdr.ipv4_options);
        meta.intrinsic.checksum_error = !ipv4_csum.verify();
        ipv4_opts = true;
        transition parse_ipv4_payload;
    }

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

    /* ICMP: the type word changes in an ICMP <-> ICMPv6 translation. ICMPv4
     * has no pseudo-header: the IPv4 addresses subtracted above are added
     * back by the deparser from a copy (arch.p4, orig_src4/orig_dst4). */
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

    state parse_heartbeat {
        pkt.extract(hdr.heartbeat);
        l4_csum.subtract({hdr.heartbeat.version, hdr.heartbeat.msg_type,
                          hdr.heartbeat.flags, hdr.heartbeat.reflect_ts});
        l4_csum.subtract_all_and_deposit(l4_residual);
        transition accept;
    }
}

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
        transition select(ig_intr_md.ingress_port) {
            CPU_PORT:           parse_packet_out;
            P4CAST_PKTGEN_PORT: parse_pktgen;
            default:            parse_packet;
        }
    }

    state parse_packet_out {
        pkt.extract(hdr.p4cast.packet_out);
        transition parse_packet;
    }

    /* A timer packet: 6-octet pktgen header, then the application's packet
     * buffer (the heartbeat request template, docs/tofino.md). */
    state parse_pktgen {
        pkt.extract(hdr.pktgen);
        transition parse_packet;
    }

    state parse_packet {
        p4cast_parser.apply(pkt, hdr.p4cast, md.p4cast, md.l4_residual, md.ipv4_opts, md.outer_csum_err);
        transition accept;
    }
}

parser TnaEgressParser(packet_in pkt,
                       out tna_egress_headers_t hdr,
                       out tna_egress_md_t md,
                       out egress_intrinsic_metadata_t eg_intr_md) {
    TnaHeaderParser() p4cast_parser;

    state start {
        pkt.extract(eg_intr_md);
        md = {...};
        pkt.extract(hdr.bridged);
        /* Only bridged packets: p4cast mirrors nothing (a mirror header
         * would carry another kind and need its own branch here). */
        transition parse_packet;
    }

    state parse_packet {
        /* The packet_out header never reaches egress (ingress removes it). */
        p4cast_parser.apply(pkt, hdr.p4cast, md.p4cast,
                            md.l4_residual, md.ipv4_opts, md.outer_csum_err);
        transition accept;
    }
}

#endif /* P4CAST_TNA_PARSER_P4 */
