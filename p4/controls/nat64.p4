// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: stateless IPv4/IPv6 translation, address mapping for
 * unicast destinations (RFC 7915 translator, RFC 6052 /96 prefixes such as
 * 64:ff9b::/96, RFC 7757 explicit address mappings).
 *
 * IPv6 -> IPv4: an IPv6 packet whose destination matches xlate_v6_dst_lpm is
 * translated; its source must match xlate_v6_src_lpm, else it is dropped
 * (DROP_XLATE). "embedded" actions take the low 32 bits of the address
 * (valid only on /96 entries), "explicit" actions give the IPv4 address.
 * IPv4 -> IPv6: likewise with xlate_v4_dst_lpm / xlate_v4_src_lpm;
 * "embedded" actions put the IPv4 address into the low 32 bits of the given
 * /96 prefix, "explicit" actions give the IPv6 address. Longest prefix wins,
 * so a /128 (/32) explicit entry overrides a /96 (shorter) prefix entry.
 * The header rewrite itself is XlateHeader (xlate.p4).
 */
#ifndef P4CAST_CONTROL_NAT64_P4
#define P4CAST_CONTROL_NAT64_P4

control Nat64(inout headers_t hdr, inout metadata_t meta) {

    action xlate_v6_dst_embedded() {
        meta.xlate.to_v4 = true;
        meta.xlate.dst_ok = true;
        meta.xlate.dst4 = hdr.ipv6.dst_addr[31:0];
    }

    action xlate_v6_dst_explicit(ipv4_addr_t addr) {
        meta.xlate.to_v4 = true;
        meta.xlate.dst_ok = true;
        meta.xlate.dst4 = addr;
    }

    action xlate_v6_src_embedded() {
        meta.xlate.src_ok = true;
        meta.xlate.src4 = hdr.ipv6.src_addr[31:0];
    }

    action xlate_v6_src_explicit(ipv4_addr_t addr) {
        meta.xlate.src_ok = true;
        meta.xlate.src4 = addr;
    }

    action xlate_v4_dst_embedded(ipv6_addr_t prefix) {
        meta.xlate.to_v6 = true;
        meta.xlate.dst_ok = true;
        meta.xlate.dst6 = prefix[127:32] ++ hdr.ipv4.dst_addr;
    }

    action xlate_v4_dst_explicit(ipv6_addr_t addr) {
        meta.xlate.to_v6 = true;
        meta.xlate.dst_ok = true;
        meta.xlate.dst6 = addr;
    }

    action xlate_v4_src_embedded(ipv6_addr_t prefix) {
        meta.xlate.src_ok = true;
        meta.xlate.src6 = prefix[127:32] ++ hdr.ipv4.src_addr;
    }

    action xlate_v4_src_explicit(ipv6_addr_t addr) {
        meta.xlate.src_ok = true;
        meta.xlate.src6 = addr;
    }

    /* IPv6 destinations to translate to IPv4 (controller: translator role). */
    table xlate_v6_dst_lpm {
        key = {
            hdr.ipv6.dst_addr : lpm @name("dst_addr");
        }
        actions = {
            xlate_v6_dst_embedded;
            xlate_v6_dst_explicit;
            @defaultonly NoAction;
        }
        size = P4CAST_XLATE_LPM_SIZE;
        default_action = NoAction();
    }

    /* IPv6 sources of translated packets (controller: translator role). */
    table xlate_v6_src_lpm {
        key = {
            hdr.ipv6.src_addr : lpm @name("src_addr");
        }
        actions = {
            xlate_v6_src_embedded;
            xlate_v6_src_explicit;
            @defaultonly NoAction;
        }
        size = P4CAST_XLATE_LPM_SIZE;
        default_action = NoAction();
    }

    /* IPv4 destinations to translate to IPv6 (controller: translator role). */
    table xlate_v4_dst_lpm {
        key = {
            hdr.ipv4.dst_addr : lpm @name("dst_addr");
        }
        actions = {
            xlate_v4_dst_embedded;
            xlate_v4_dst_explicit;
            @defaultonly NoAction;
        }
        size = P4CAST_XLATE_LPM_SIZE;
        default_action = NoAction();
    }

    /* IPv4 sources of translated packets (controller: translator role). */
    table xlate_v4_src_lpm {
        key = {
            hdr.ipv4.src_addr : lpm @name("src_addr");
        }
        actions = {
            xlate_v4_src_embedded;
            xlate_v4_src_explicit;
            @defaultonly NoAction;
        }
        size = P4CAST_XLATE_LPM_SIZE;
        default_action = NoAction();
    }

    apply {
        if (hdr.ipv6.isValid()) {
            if (xlate_v6_dst_lpm.apply().hit) {
                xlate_v6_src_lpm.apply();
            }
        } else if (hdr.ipv4.isValid()) {
            if (xlate_v4_dst_lpm.apply().hit) {
                xlate_v4_src_lpm.apply();
            }
        }
    }
}

#endif /* P4CAST_CONTROL_NAT64_P4 */
