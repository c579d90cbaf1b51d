// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: the v1model main. Includes only; all logic is in p4/include and
 * p4/controls, all v1model specifics in p4/v1model/arch.p4.
 */
#include "arch.p4"

#include "../include/sizes.p4"
#include "../include/headers.p4"
#include "../include/metadata.p4"
#include "../include/csum16.p4"
#include "../include/parser.p4"
#include "../include/checksums.p4"
#include "../include/deparser.p4"
#include "../controls/ingress.p4"
#include "../controls/egress.p4"

#define P4CAST_ARCH_WRAPPERS
#include "arch.p4"

V1Switch(V1modelParser(),
         P4castVerifyChecksum(),
         V1modelIngress(),
         V1modelEgress(),
         P4castComputeChecksum(),
         P4castDeparser()) main;
