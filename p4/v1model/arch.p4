// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: the v1model (BMv2 simple_switch / simple_switch_grpc) architecture
 * file -- the ONLY file that names v1model types or externs.
 *
 * It is included twice by p4/v1model/p4cast.p4:
 *
 *   1. without P4CAST_ARCH_WRAPPERS: includes <v1model.p4> and defines the
 *      extern macros the feature controls use (registers, counters, meters,
 *      checksums). A TNA port provides the same macros for tna.p4 where the
 *      semantics carry over (counters, meters, checksum units) and its own
 *      controls where they do not (registers: RegisterAction).
 *   2. with P4CAST_ARCH_WRAPPERS: the parser/ingress/egress wrappers that copy
 *      standard_metadata_t into metadata_t.intrinsic, run the
 *      architecture-neutral pipeline, and turn metadata_t.fwd back into
 *      standard_metadata_t (egress_spec, mcast_grp, mark_to_drop).
 *
 * Run simple_switch_grpc with --cpu-port 255 (CPU_PORT in headers.p4).
 */

#ifndef P4CAST_ARCH_WRAPPERS
#ifndef P4CAST_V1MODEL_ARCH_DEFS
#define P4CAST_V1MODEL_ARCH_DEFS

/* Typed extern indices (register<T, I>, counter<I>, meter<I>). */
#define V1MODEL_VERSION 20200408
#include <core.p4>
#include <v1model.p4>

#define P4CAST_TARGET_V1MODEL 1

/* ---- stateful externs ------------------------------------------------ */

/* An array of SIZE cells of type T, indexed by bit<32>. */
#define P4CAST_REGISTER(T, SIZE, NAME)      register<T, bit<32>>(SIZE) NAME
#define P4CAST_REG_READ(NAME, IDX, DST)     NAME.read(DST, (bit<32>)(IDX))
#define P4CAST_REG_WRITE(NAME, IDX, VAL)    NAME.write((bit<32>)(IDX), VAL)
/* DST := NAME[IDX]; NAME[IDX] := DST + 1 (one read-modify-write; on TNA a
 * single RegisterAction). */
#define P4CAST_REG_FETCH_INC(NAME, IDX, DST) \
    NAME.read(DST, (bit<32>)(IDX)); NAME.write((bit<32>)(IDX), DST + 1)

/* An indirect packets-and-bytes counter array of SIZE cells. */
#define P4CAST_COUNTER(SIZE, NAME) \
    counter<bit<32>>(SIZE, CounterType.packets_and_bytes) NAME
#define P4CAST_COUNT(NAME, IDX)             NAME.count((bit<32>)(IDX))

/* A direct packets-and-bytes counter (one cell per entry of the table whose
 * `counters` property names it); an action of that table counts the hit
 * (BMv2 counts every hit anyway; the call keeps the actions portable). */
#define P4CAST_DIRECT_COUNTER(NAME) \
    direct_counter(CounterType.packets_and_bytes) NAME
#define P4CAST_DIRECT_COUNT(NAME)           NAME.count()

/* An indirect two-rate three-colour (RFC 2698) byte meter array. */
#define P4CAST_METER(SIZE, NAME)            meter<bit<32>>(SIZE, MeterType.bytes) NAME
#define P4CAST_METER_EXECUTE(NAME, IDX, COLOUR) \
    NAME.execute_meter((bit<32>)(IDX), COLOUR)

/* Colours returned by P4CAST_METER_EXECUTE. */
const bit<2> METER_GREEN  = V1MODEL_METER_COLOR_GREEN;
const bit<2> METER_YELLOW = V1MODEL_METER_COLOR_YELLOW;
const bit<2> METER_RED    = V1MODEL_METER_COLOR_RED;

/* ---- checksum units ---------------------------------------------------- */

/* Internet checksum (csum16) of the listed fields: verify / recompute. */
#define P4CAST_VERIFY_CSUM16(COND, FIELD, ...) \
    verify_checksum(COND, { __VA_ARGS__ }, FIELD, HashAlgorithm.csum16)
#define P4CAST_UPDATE_CSUM16(COND, FIELD, ...) \
    update_checksum(COND, { __VA_ARGS__ }, FIELD, HashAlgorithm.csum16)

/* RESULT := Internet checksum (ones' complement of the ones'-complement sum
 * of 16-bit words) of the listed values, e.g. for incremental updates
 * (csum16.p4). BMv2: hash() with the csum16 algorithm, range 0..65535. */
#define P4CAST_CSUM16_OF(RESULT, ...) \
    hash(RESULT, HashAlgorithm.csum16, 16w0, { __VA_ARGS__ }, 32w65536)

#endif /* P4CAST_V1MODEL_ARCH_DEFS */

#else /* P4CAST_ARCH_WRAPPERS */
#ifndef P4CAST_V1MODEL_ARCH_WRAPPERS
#define P4CAST_V1MODEL_ARCH_WRAPPERS

/*************************************************************************
 ***********************  P A R S E R  ***********************************
 *************************************************************************/

parser V1modelParser(packet_in pkt,
                     out headers_t hdr,
                     inout metadata_t meta,
                     inout standard_metadata_t standard_metadata) {
    P4castParser() p4cast_parser;

    state start {
        p4cast_parser.apply(pkt, hdr, meta, standard_metadata.ingress_port);
        transition accept;
    }
}

/*************************************************************************
 ***********************  I N G R E S S  *********************************
 *************************************************************************/

control V1modelIngress(inout headers_t hdr,
                       inout metadata_t meta,
                       inout standard_metadata_t standard_metadata) {
    @name(".ingress") P4castIngress() p4cast_ingress;

    apply {
        meta.intrinsic.ingress_port   = standard_metadata.ingress_port;
        meta.intrinsic.ingress_ts     = standard_metadata.ingress_global_timestamp;
        meta.intrinsic.packet_length  = standard_metadata.packet_length;
        meta.intrinsic.parser_error   = standard_metadata.parser_error != error.NoError;
        meta.intrinsic.checksum_error = standard_metadata.checksum_error == 1;

        p4cast_ingress.apply(hdr, meta);

        if (meta.heartbeat.notify) {
            digest<hb_verdict_digest_t>(1, {meta.heartbeat.peer_index,
                                            meta.heartbeat.verdict,
                                            hdr.heartbeat.seq});
        }
        if (meta.fwd.drop) {
            mark_to_drop(standard_metadata);
        } else if (meta.fwd.mcast_grp != 0) {
            standard_metadata.mcast_grp = meta.fwd.mcast_grp;
        } else {
            standard_metadata.egress_spec = meta.fwd.egress_port;
        }
    }
}

/*************************************************************************
 ***********************  E G R E S S  ***********************************
 *************************************************************************/

control V1modelEgress(inout headers_t hdr,
                      inout metadata_t meta,
                      inout standard_metadata_t standard_metadata) {
    @name(".egress") P4castEgress() p4cast_egress;

    apply {
        meta.intrinsic.egress_port = standard_metadata.egress_port;
        meta.intrinsic.egress_rid  = standard_metadata.egress_rid;
        meta.fwd.drop = false;
        meta.fwd.drop_reason = 0;

        p4cast_egress.apply(hdr, meta);

        if (meta.fwd.drop) {
            mark_to_drop(standard_metadata);
        } else if (meta.heartbeat.tick) {
            recirculate_preserving_field_list(P4CAST_FL_HB_TICK);
        }
    }
}

#endif /* P4CAST_V1MODEL_ARCH_WRAPPERS */
#endif /* P4CAST_ARCH_WRAPPERS */
