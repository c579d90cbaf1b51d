// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: incremental Internet checksum updates (RFC 1624, eqn. 3):
 *
 *     HC' = ~(~HC + ~m + m')
 *
 * where m and m' are the ones'-complement sums of the old and new values of
 * the words that changed. Ones'-complement negation distributes over the
 * sum, so ~m is the sum of the complemented old words, and HC' is simply
 * the Internet checksum (csum16) of the word list
 *
 *     { ~HC, ~old_1, ..., ~old_n, new_1, ..., new_m }
 *
 * which the architecture computes with P4CAST_CSUM16_OF (arch file). Every
 * list element must be a multiple of 16 bits wide. Zero words are left out
 * (their complement, -0, could flip a zero result between 0x0000 and 0xFFFF).
 *
 * The data plane never sums payloads: every L4 checksum change (address
 * rewrite, IPv4<->IPv6 pseudo-header change, ICMP<->ICMPv6 type change) is
 * applied incrementally, so a packet whose checksum was wrong on arrival
 * stays wrong by the same amount (it is never "repaired"), and Ethernet
 * padding never leaks into a checksum. The same arithmetic in TypeScript:
 * csum16Replace in src/packet/checksum.ts.
 *
 * (Plain P4 arithmetic would do too, but p4c inlines functions and
 * propagates copies into the end-around-carry fold, which reads its input
 * twice: the BMv2 JSON grows exponentially with the number of folds.)
 */
#ifndef P4CAST_CSUM16_P4
#define P4CAST_CSUM16_P4

/* CSUM16_UPDATE(CSUM, terms...): CSUM := checksum after the change described
 * by terms = complemented old words followed by new words. */
#define CSUM16_UPDATE(CSUM, ...) \
    P4CAST_CSUM16_OF(CSUM, ~(CSUM), __VA_ARGS__)

/* The same for a UDP checksum: 0 (IPv4 "no checksum") stays 0, and a
 * computed 0 is sent as 0xFFFF (RFC 768). */
#define CSUM16_UPDATE_UDP(CSUM, ...)                                    \
    if ((CSUM) != 0) {                                                  \
        CSUM16_UPDATE(CSUM, __VA_ARGS__);                               \
        if ((CSUM) == 0) {                                              \
            CSUM = 0xFFFF;                                              \
        }                                                               \
    }

#endif /* P4CAST_CSUM16_P4 */
