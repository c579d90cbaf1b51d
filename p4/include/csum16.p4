// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: Internet checksum arithmetic (RFC 1071 ones'-complement sums) as
 * plain P4 functions, for incremental checksum updates (RFC 1624, eqn. 3):
 *
 *     HC' = ~(~HC + ~m + m')
 *
 * where m and m' are the ones'-complement sums of the old and new values of
 * the words that changed. The data plane never sums payloads: every L4
 * checksum change (address rewrite, IPv4<->IPv6 pseudo-header change,
 * ICMP<->ICMPv6 type change) is applied incrementally, so a packet whose
 * checksum was wrong on arrival stays wrong (it is never "repaired"), and
 * Ethernet padding can never leak into a checksum. Architecture-neutral.
 */
#ifndef P4CAST_CSUM16_P4
#define P4CAST_CSUM16_P4

/* Ones'-complement sum of two 16-bit words (end-around carry). */
bit<16> csum16_add(in bit<16> a, in bit<16> b) {
    bit<17> s = (bit<17>)a + (bit<17>)b;
    return s[15:0] + (bit<16>)s[16:16];
}

/* Ones'-complement sum of the two 16-bit words of a 32-bit value. */
bit<16> csum16_fold32(in bit<32> x) {
    return csum16_add(x[31:16], x[15:0]);
}

/* Ones'-complement sum of the four 16-bit words of a 64-bit value. */
bit<16> csum16_fold64(in bit<64> x) {
    return csum16_add(csum16_fold32(x[63:32]), csum16_fold32(x[31:0]));
}

/* Ones'-complement sum of the eight 16-bit words of a 128-bit value. */
bit<16> csum16_fold128(in bit<128> x) {
    bit<16> a = csum16_add(csum16_fold32(x[127:96]), csum16_fold32(x[95:64]));
    bit<16> b = csum16_add(csum16_fold32(x[63:32]), csum16_fold32(x[31:0]));
    return csum16_add(a, b);
}

/* RFC 1624 eqn. 3: checksum hc after words summing to old_sum were replaced
 * by words summing to new_sum. */
bit<16> csum16_replace(in bit<16> hc, in bit<16> old_sum, in bit<16> new_sum) {
    return ~csum16_add(csum16_add(~hc, ~old_sum), new_sum);
}

/* Same for a UDP checksum: 0 (IPv4 "no checksum") stays 0, and a computed 0
 * is sent as 0xFFFF (RFC 768). */
bit<16> csum16_replace_udp(in bit<16> hc, in bit<16> old_sum, in bit<16> new_sum) {
    bit<16> r = 0;
    if (hc != 0) {
        r = csum16_replace(hc, old_sum, new_sum);
        if (r == 0) {
            r = 0xFFFF;
        }
    }
    return r;
}

#endif /* P4CAST_CSUM16_P4 */
