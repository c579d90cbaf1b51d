// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: parser (architecture-neutral sub-parser; the arch file calls it).
 *
 *   [packet_out] ethernet
 *     0x0800 + version/IHL 0x45, not a fragment, protocol 253:
 *         outer_ipv4 shim (ipv4 | ipv6) ...            encapsulated packet
 *     0x0800: ipv4 [ipv4_options] (udp [heartbeat] | tcp | icmp | igmp)
 *     0x86DD: ipv6 [ipv6_hbh [ipv6_hbh_ext]] (udp [heartbeat] | tcp | icmpv6)
 *
 * L4 headers are parsed only in a first (or only) fragment. Truncation and
 * wrong version fields end parsing with an error; the ingress pipeline drops
 * such packets (DROP_PARSER_ERROR). Unknown protocols end parsing without an
 * error: the packet is forwarded as plain IP, its payload untouched.
 */
#ifndef P4CAST_PARSER_P4
#define P4CAST_PARSER_P4

parser P4castParser(packet_in pkt,
                    out headers_t hdr,
                    inout metadata_t meta,
                    in port_t ingress_port) {

    state start {
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

    /* Version/IHL (bits 79..72), MF + fragment offset (29..16) and protocol
     * (7..0) of the first 10 octets decide whether this IPv4 header is the
     * outer header of a p4cast packet. */
    state check_encapsulated {
        bit<80> first = pkt.lookahead<bit<80>>();
        transition select(first[79:72], first[29:16], first[7:0]) {
            (0x45, 0, IP_PROTO_P4CAST): parse_outer_ipv4;
            default:                    parse_ipv4;
        }
    }

    state parse_outer_ipv4 {
        pkt.extract(hdr.outer_ipv4);
        transition parse_shim;
    }

    state parse_shim {
        pkt.extract(hdr.shim);
        verify(hdr.shim.version == SHIM_VERSION, error.ShimIncorrectVersion);
        transition select(hdr.shim.next_hdr) {
            IP_PROTO_IPV4: parse_ipv4;
            IP_PROTO_IPV6: parse_ipv6;
            default:       accept;
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        verify(hdr.ipv4.version == 4, error.IPv4IncorrectVersion);
        verify(hdr.ipv4.ihl >= 5, error.IPv4HeaderTooShort);
        transition select(hdr.ipv4.ihl) {
            5:       parse_ipv4_payload;
            default: parse_ipv4_options;
        }
    }

    state parse_ipv4_options {
        pkt.extract(hdr.ipv4_options, ((bit<32>)hdr.ipv4.ihl - 5) * 32);
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
        verify(hdr.ipv6.version == 6, error.IPv6IncorrectVersion);
        transition select(hdr.ipv6.next_hdr) {
            IP_PROTO_HOPOPT: parse_ipv6_hbh;
            IP_PROTO_UDP:    parse_udp;
            IP_PROTO_TCP:    parse_tcp;
            IP_PROTO_ICMPV6: parse_icmpv6;
            default:         accept;
        }
    }

    state parse_ipv6_hbh {
        pkt.extract(hdr.ipv6_hbh);
        transition select(hdr.ipv6_hbh.hdr_ext_len) {
            0:       parse_ipv6_after_hbh;
            default: parse_ipv6_hbh_ext;
        }
    }

    state parse_ipv6_hbh_ext {
        /* More than 56 extra octets: ParserInvalidArgument (dropped). */
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

    state parse_icmp {
        pkt.extract(hdr.icmp);
        transition accept;
    }

    state parse_icmpv6 {
        pkt.extract(hdr.icmpv6);
        transition accept;
    }

    state parse_igmp {
        pkt.extract(hdr.igmp);
        transition accept;
    }

    state parse_tcp {
        pkt.extract(hdr.tcp);
        verify(hdr.tcp.data_offset >= 5, error.TcpHeaderTooShort);
        transition accept;
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        transition select(hdr.udp.dst_port) {
            UDP_PORT_HEARTBEAT: parse_heartbeat;
            default:            accept;
        }
    }

    state parse_heartbeat {
        pkt.extract(hdr.heartbeat);
        transition accept;
    }
}

#endif /* P4CAST_PARSER_P4 */
