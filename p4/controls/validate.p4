// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: input validation. Drops what must never be rewritten:
 * parser errors (truncated headers, wrong IP/shim versions, IHL < 5, TCP
 * data offset < 5, oversized IPv6 Hop-by-Hop header), wrong IPv4 header
 * checksums, and IP packets whose length fields claim more bytes than the
 * frame holds (or, for IPv4, fewer than the header itself). Everything that
 * passes is consistent enough for every later rewrite.
 */
#ifndef P4CAST_CONTROL_VALIDATE_P4
#define P4CAST_CONTROL_VALIDATE_P4

control IpValidate(inout headers_t hdr, inout metadata_t meta) {
    apply {
        if (meta.intrinsic.parser_error) {
            set_drop(meta.fwd, DROP_PARSER_ERROR);
        } else if (meta.intrinsic.checksum_error) {
            set_drop(meta.fwd, DROP_CHECKSUM);
        } else {
            /* Bytes after the Ethernet header (and packet_out header). */
            bit<32> l2_len = 14;
            if (meta.pktio.from_cpu) {
                l2_len = 16;
            }
            bit<32> avail = meta.intrinsic.packet_length - l2_len;

            if (hdr.outer_ipv4.isValid()) {
                bit<32> outer_len = (bit<32>)hdr.outer_ipv4.total_len;
                if (outer_len > avail) {
                    set_drop(meta.fwd, DROP_TRUNCATED);
                } else if (outer_len < 28) {
                    set_drop(meta.fwd, DROP_MALFORMED);
                } else {
                    avail = outer_len - 28;
                }
            }
            if (!meta.fwd.drop && hdr.ipv4.isValid()) {
                bit<32> ip_len = (bit<32>)hdr.ipv4.total_len;
                bit<32> hdr_len = ((bit<32>)hdr.ipv4.ihl) << 2;
                if (ip_len > avail) {
                    set_drop(meta.fwd, DROP_TRUNCATED);
                } else if (ip_len < hdr_len) {
                    set_drop(meta.fwd, DROP_MALFORMED);
                }
            }
            if (!meta.fwd.drop && hdr.ipv6.isValid()) {
                if ((bit<32>)hdr.ipv6.payload_len + 40 > avail) {
                    set_drop(meta.fwd, DROP_TRUNCATED);
                }
            }
        }
    }
}

#endif /* P4CAST_CONTROL_VALIDATE_P4 */
