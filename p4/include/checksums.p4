// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: IPv4 header checksum verification and recomputation.
 *
 * Only the IPv4 header checksums are computed from scratch (over the header
 * and its options). L4 checksums are updated incrementally by the feature
 * that changes covered fields (see csum16.p4). The P4CAST_*_CSUM16 macros
 * come from the architecture file.
 *
 * Verification: a wrong outer or inner IPv4 header checksum sets the
 * architecture's checksum-error flag; ingress drops the packet
 * (DROP_CHECKSUM). Recomputation: every valid IPv4 header leaving the switch
 * gets a fresh checksum (headers were verified on arrival or built here).
 */
#ifndef P4CAST_CHECKSUMS_P4
#define P4CAST_CHECKSUMS_P4

#define P4CAST_IPV4_CSUM_FIELDS(H) \
    H.version, H.ihl, H.dscp, H.ecn, H.total_len, H.identification, \
    H.flags, H.frag_offset, H.ttl, H.protocol, H.src_addr, H.dst_addr

control P4castVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        P4CAST_VERIFY_CSUM16(hdr.outer_ipv4.isValid(),
            hdr.outer_ipv4.hdr_checksum,
            P4CAST_IPV4_CSUM_FIELDS(hdr.outer_ipv4));
        P4CAST_VERIFY_CSUM16(hdr.ipv4.isValid() && !hdr.ipv4_options.isValid(),
            hdr.ipv4.hdr_checksum,
            P4CAST_IPV4_CSUM_FIELDS(hdr.ipv4));
        P4CAST_VERIFY_CSUM16(hdr.ipv4.isValid() && hdr.ipv4_options.isValid(),
            hdr.ipv4.hdr_checksum,
            P4CAST_IPV4_CSUM_FIELDS(hdr.ipv4), hdr.ipv4_options.data);
    }
}

control P4castComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply {
        P4CAST_UPDATE_CSUM16(hdr.outer_ipv4.isValid(),
            hdr.outer_ipv4.hdr_checksum,
            P4CAST_IPV4_CSUM_FIELDS(hdr.outer_ipv4));
        P4CAST_UPDATE_CSUM16(hdr.ipv4.isValid() && !hdr.ipv4_options.isValid(),
            hdr.ipv4.hdr_checksum,
            P4CAST_IPV4_CSUM_FIELDS(hdr.ipv4));
        P4CAST_UPDATE_CSUM16(hdr.ipv4.isValid() && hdr.ipv4_options.isValid(),
            hdr.ipv4.hdr_checksum,
            P4CAST_IPV4_CSUM_FIELDS(hdr.ipv4), hdr.ipv4_options.data);
    }
}

#endif /* P4CAST_CHECKSUMS_P4 */
