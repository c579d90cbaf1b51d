// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: the TNA main (Tofino 1 with tna, Tofino 2 with t2na). Includes
 * only; the shared logic is in p4/include and p4/controls, the TNA
 * specifics in p4/tna/arch.p4 and the TNA versions of two features
 * (p4/tna/validate.p4, p4/tna/overlay_dedup.p4), which are included first
 * so that their include guards keep p4/controls/ingress.p4 from pulling in
 * the v1model versions. A few shared controls (heartbeat.p4 among them)
 * have `#ifdef P4CAST_TARGET_TNA` blocks where Tofino needs the same step
 * written differently (docs/tofino.md lists them).
 *
 *   p4test --std p4-16 -D__TARGET_TOFINO__=1 -I <tofino p4include> p4/tna/p4cast_tna.p4
 *   (make -C p4 tna TOFINO_INCLUDE=<dir>; docs/tofino.md)
 *   bf-p4c --target tofino --arch tna p4/tna/p4cast_tna.p4   (make -C p4 tofino)
 */
#include "arch.p4"

#include "../include/sizes.p4"
#include "../include/headers.p4"
#include "../include/metadata.p4"
#include "../include/csum16.p4"
#include "../include/parser.p4"
#include "../include/checksums.p4"
#include "../include/deparser.p4"
#include "validate.p4"
#include "overlay_dedup.p4"
#include "ingress.p4"
#include "../controls/ingress.p4"
#include "../controls/egress.p4"

#define P4CAST_ARCH_WRAPPERS
#include "arch.p4"

#ifdef P4CAST_TNA_SELFTEST_REG_READ
/* test/tofino: a separate register read must not compile on TNA. */
control P4castTnaSelftest(inout metadata_t meta) {
    P4CAST_REGISTER(bit<32>, 1, selftest_reg);
    apply {
        bit<32> v;
        P4CAST_REG_READ(selftest_reg, 0, v);
    }
}
#endif

Pipeline(TnaIngressParser(),
         TnaIngress(),
         TnaIngressDeparser(),
         TnaEgressParser(),
         TnaEgress(),
         TnaEgressDeparser()) pipe;

Switch(pipe) main;
