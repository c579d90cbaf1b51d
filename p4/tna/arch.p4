// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast: the Tofino Native Architecture (TNA: Tofino 1; t2na for Tofino 2)
 * architecture file --
 * the only file besides the TNA-specific stateful controls that names TNA
 * types or externs. The v1model counterpart is p4/v1model/arch.p4; the
 * differences are listed in docs/tofino.md.
 *
 * Included twice by p4/tna/p4cast_tna.p4:
 *
 *   1. without P4CAST_ARCH_WRAPPERS: <tna.p4> (<t2na.p4>) and the extern macros the
 *      feature controls use. Counters, meters and the generic registers map
 *      one to one (Counter, Meter, Register + RegisterAction). Checksums do
 *      not: TNA has no checksum unit in the match-action pipeline, so
 *      P4CAST_CSUM16_OF is empty here and the deparsers below recompute the
 *      L4 checksums from the residual the ingress parser deposits
 *      (p4/tna/parser.p4; "Checksums" below).
 *   2. with P4CAST_ARCH_WRAPPERS: the bridged-metadata header, the ingress
 *      and egress controls that copy TNA intrinsic metadata into
 *      metadata_t.intrinsic, run the architecture-neutral pipelines and turn
 *      metadata_t.fwd into the traffic manager's / deparser's intrinsic
 *      metadata, and the two deparsers.
 *
 * Check with the front end (no Tofino back end needed):
 *   p4test --std p4-16 -D__TARGET_TOFINO__=1 -I <tofino p4include> p4/tna/p4cast_tna.p4
 */

#ifndef P4CAST_ARCH_WRAPPERS
#ifndef P4CAST_TNA_ARCH_DEFS
#define P4CAST_TNA_ARCH_DEFS

#include <core.p4>
#if __TARGET_TOFINO__ == 2
/* Tofino 2: bf-p4c's driver takes only t2na for it. The names this program
 * uses are the same in tofino2_arch.p4. */
#include <t2na.p4>
#else
#include <tna.p4>
#endif

#define P4CAST_TARGET_TNA 1

/* PCIe CPU port. Tofino 1: 192 on 2-pipe parts (e.g. Wedge100BF-32X), 320
 * on 4-pipe parts (-DP4CAST_CPU_PORT=320); Tofino 2: 0. Stratum /
 * bf_switchd map P4Runtime packet I/O to this port. */
#ifndef P4CAST_CPU_PORT
#if __TARGET_TOFINO__ == 2
#define P4CAST_CPU_PORT 0
#else
#define P4CAST_CPU_PORT 192
#endif
#endif

/* The packet generator's port of pipe 0 (Tofino 1: local port 68;
 * Tofino 2: local port 6). */
#ifndef P4CAST_PKTGEN_PORT
#if __TARGET_TOFINO__ == 2
#define P4CAST_PKTGEN_PORT 6
#else
#define P4CAST_PKTGEN_PORT 68
#endif
#endif

/* Scratch fields that TNA's RegisterActions read as operands (a stateful
 * ALU reads the PHV, so values computed one stage earlier must live in
 * metadata), and intermediate results the shared controls keep here on TNA
 * where one Tofino action cannot compute them; metadata.p4 adds them to
 * metadata_t as `arch`. */
struct tna_scratch_md_t {
    bit<32> dedup_was_open;     /* dedup_valid[s] before this packet */
    bit<32> dedup_gap_inc;      /* d - 1 when the window advances by d */
    bit<32> dedup_seq_m1;       /* shim seq - 1 (one operand for the ALU compares) */
    bit<32> dedup_run_step;     /* dedup_track_seq: 0 copy, 1 run goes on, 2 new run */
    bit<32> dedup_run_n;        /* dedup_track_count: n, the run's length */
    bit<32> dedup_d_m1;         /* d - 1, from the window's advance (dedup_advance_step) */
    bool    dedup_ahead;        /* dedup_window: q is ahead of H (or opens/resyncs the window) */
    bool    dedup_mark;         /* dedup_window: the slot decides (dedup_mark) */
    bool    dedup_too_old;      /* dedup_window: 64 or more behind H */
    bit<32> dedup_seen;         /* dedup_mark (in dedup_window's actions): 1 if the slot held q's tag */
    bit<32> hb_rtt;             /* heartbeat: now - origin_ts (low 32 bits), hb_rtt's value */
    bool    dedup_lh_hit;       /* lasthop_session_exact hit (looked up on every shim packet) */
    bit<16> dedup_lh_grp;       /* its client_grp */
    bit<16> ipv4_hdr_bytes;     /* IPv4 IHL * 4, a constant per IHL from the parser */
    bit<16> outer_room4;        /* IpValidate: outer total length |-| inner IPv4 total length */
    bit<16> outer_room6;        /* IpValidate: outer total length |-| inner IPv6 payload length */
    bit<16> ipv4_short;         /* IpValidate: IHL * 4 |-| IPv4 total length */
    bool    outer_csum_err;     /* parser: outer IPv4 header checksum wrong (IpValidate) */
    bit<9>  ingress_port;       /* the ingress port (port_t), from the parser (NeighbourTrust's key) */
    bit<8>  untrusted;          /* NeighbourTrust: the drop reason of a miss, 0 = admitted */
    bool    metered;            /* BurstMeter: the session passed its range check and was metered */
    bool    xlate_src_prefix;   /* McastXlate 6 -> 4: XlateHeader checks the source's /96 */
    bit<8>  encap_tc;           /* SessionEncap: DSCP ++ ECN of the inner header (after marking) */
    bool    tree_hit;           /* TreeReplicationIngress: a group was found (group 0: dropped) */
}
#define P4CAST_ARCH_METADATA tna_scratch_md_t arch;

/* ---- stateful externs ------------------------------------------------ */

/*
 * Generic registers (only session_seq uses them; the dedup window and the
 * heartbeat state have TNA controls of their own, p4/tna/*.p4). A register
 * is a Register plus the RegisterAction of its one access per packet (one
 * stage, one read-modify-write): the shared controls post-increment through
 * P4CAST_REG_FETCH_INC.
 */
#define P4CAST_REGISTER(T, SIZE, NAME)                                       \
    Register<T, bit<32>>(SIZE) NAME;                                         \
    RegisterAction<T, bit<32>, T>(NAME) NAME##_fetch_inc = {                 \
        void apply(inout T value, out T rv) { rv = value; value = value + 1; } \
    }
#define P4CAST_REG_FETCH_INC(NAME, IDX, DST) \
    DST = NAME##_fetch_inc.execute((bit<32>)(IDX))
/* A separate read and write of one register cannot be one access on
 * Tofino: a feature that needs them gets a TNA control with its own
 * RegisterAction (as overlay_dedup.p4 and controls/heartbeat.p4 do). Using these is
 * a compile error on purpose. */
#define P4CAST_REG_READ(NAME, IDX, DST)  P4CAST_REG_READ_needs_a_RegisterAction_on_TNA
#define P4CAST_REG_WRITE(NAME, IDX, VAL) P4CAST_REG_WRITE_needs_a_RegisterAction_on_TNA

/* Indirect packets-and-bytes counters (64-bit packet and byte cells). */
#define P4CAST_COUNTER(SIZE, NAME) \
    Counter<bit<32>, bit<32>>(SIZE, CounterType_t.PACKETS_AND_BYTES) NAME
#define P4CAST_COUNT(NAME, IDX)             NAME.count((bit<32>)(IDX))
/* Direct packets-and-bytes counters: an action of the table counts. */
#define P4CAST_DIRECT_COUNTER(NAME) \
    DirectCounter<bit<32>>(CounterType_t.PACKETS_AND_BYTES) NAME
#define P4CAST_DIRECT_COUNT(NAME)           NAME.count()

/* Indirect two-rate three-colour byte meters (RFC 2698 in the meter ALU). */
#define P4CAST_METER(SIZE, NAME)            Meter<bit<32>>(SIZE, MeterType_t.BYTES) NAME
#define P4CAST_METER_EXECUTE(NAME, IDX, COLOUR) \
    COLOUR = (bit<2>)NAME.execute((bit<32>)(IDX))

/* TNA colour encoding (MeterColor_t): green 0, yellow 1, red 3. */
const bit<2> METER_GREEN  = 0;
const bit<2> METER_YELLOW = 1;
const bit<2> METER_RED    = 3;

/* ---- checksum units ---------------------------------------------------- */

/* checksums.p4's verify/compute controls are not used on TNA (the parser
 * verifies, the deparsers compute: see below and p4/tna/parser.p4); the
 * macros only keep that file compilable for its field-list macro. */
#define P4CAST_VERIFY_CSUM16(COND, FIELD, ...) {}
#define P4CAST_UPDATE_CSUM16(COND, FIELD, ...) {}

/* Incremental L4 checksum updates: no match-action checksum unit on TNA.
 * The deparsers recompute every L4 checksum the pipeline invalidated from
 * the parser's residual (the sum of every covered byte that did not change),
 * which gives the same result as csum16.p4's incremental update
 * (wrapper part below, "Checksums"). */
#define P4CAST_CSUM16_OF(RESULT, ...) {}

#endif /* P4CAST_TNA_ARCH_DEFS */

#else /* P4CAST_ARCH_WRAPPERS */
#ifndef P4CAST_TNA_ARCH_WRAPPERS
#define P4CAST_TNA_ARCH_WRAPPERS

/*************************************************************************
 ***************************  C H E C K S U M S  *************************
 *************************************************************************/

/*
 * Tofino 1 has six deparser checksum engines: two for each deparser and
 * four that either may use, i.e. at most 8 checksum updates for both
 * deparsers together, and bf-p4c spends one engine per update() call (per
 * destination field and field list). The v1model program changes six
 * checksum fields (outer and inner IPv4 header, UDP, TCP, ICMP, ICMPv6), in
 * ingress and in egress. So each is recomputed in one deparser only where
 * possible:
 *
 *   ingress deparser (3 engines)
 *     udp.checksum     heartbeat reflection (csum_hb_udp)
 *     icmp.checksum    ICMPv6 -> ICMP translation (csum_v4_icmp)
 *     icmpv6.checksum  ICMP -> ICMPv6 translation (csum_v6_icmp)
 *   egress deparser (5 engines)
 *     outer_ipv4.hdr_checksum, ipv4.hdr_checksum
 *                      every valid IPv4 header, from scratch, for the
 *                      changes of both pipelines (TTL, encapsulation,
 *                      translation, overlay and client addresses)
 *     udp.checksum, tcp.checksum, icmpv6.checksum
 *                      when ingress set bridged.l4_fix: UDP/TCP translation
 *                      (ingress) and last-hop client delivery (egress)
 *
 * The egress updates of an L4 checksum need the ingress parser's residual:
 * ingress writes it INTO the checksum field (the bytes travel with the
 * packet, no bridged field, no egress parser depth) and sets
 * bridged.l4_fix; the egress parser reads it back (md.l4_residual) and the
 * egress deparser adds the current addresses to it. Every packet whose
 * checksum field carries a residual gets its checksum back in egress, a
 * copy that egress did not change included. Ingress sets l4_fix for a
 * translated UDP (non-zero checksum) or TCP packet and for an accepted
 * p4cast packet at its last hop (its client copies are rewritten in
 * egress), UDP (non-zero checksum), TCP or ICMPv6, unless an IPv6
 * Hop-by-Hop header longer than egress parses hides the L4 header.
 *
 * On Tofino 1 a deparser checksum sums its fields whether or not their
 * header is valid (no per-field validity); a header the parser did not
 * extract holds zeros (all PHV containers are zeroed at the start of a
 * packet), and bf-p4c keeps other fields out of a checksum field's
 * containers. So the egress UDP/TCP lists name both the IPv4 and the IPv6
 * addresses: the family egress did not parse adds nothing.
 */

/*************************************************************************
 *****************  B R I D G E D   M E T A D A T A  *********************
 *************************************************************************/

/*
 * What egress needs from ingress (v1model keeps metadata across the traffic
 * manager; TNA does not): 8 octets in front of the packet between the
 * ingress deparser and the egress parser, never on the wire.
 */
const bit<8> BRIDGE_KIND_P4CAST = 0xB1;

header tna_bridged_h {
    bit<8>  kind;                 /* BRIDGE_KIND_P4CAST (mirrors would differ) */
    port_t  ingress_port;         /* meta.intrinsic.ingress_port; the same bit */
    @padding bit<7> _pad0;        /* positions as in packet_in_h (one ALU move) */
    bit<8>  punt_reason;          /* meta.pktio.punt_reason */
    bit<16> punt_aux;             /* meta.pktio.punt_aux */
    @padding bit<3> _pad1;
    bit<1>  l4_fix;               /* the L4 checksum field holds the residual */
    bit<1>  dedup_lasthop;        /* meta.dedup.lasthop */
    bit<1>  dedup_accept;         /* meta.dedup.accept */
    bit<2>  dedup_verdict;        /* meta.dedup.verdict */
    @padding bit<8> _reserved;
}

struct tna_ingress_headers_t {
    tna_bridged_h         bridged;
    pktgen_timer_header_t pktgen;     /* heartbeat timer packets (pktgen.p4) */
    headers_t             p4cast;
}

struct tna_egress_headers_t {
    tna_bridged_h bridged;
    headers_t     p4cast;
}

/* Per-pass metadata: the shared metadata_t plus what only TNA needs.
 * @pa_auto_init_metadata: bf-p4c zero-initialises every metadata field, as
 * BMv2 does (the parsers' `md = {...}` says the same to the front end). */
@pa_auto_init_metadata
struct tna_ingress_md_t {
    metadata_t p4cast;
    bit<16>    l4_residual;       /* parser: L4 checksum minus what may change */
    bit<1>     l4_fix;            /* the L4 checksum field holds the residual (bridged.l4_fix) */
    /* Which L4 checksum the ingress deparser recomputes (set after the
     * pipeline; deparser conditions must be metadata). */
    bool       csum_hb_udp;       /* heartbeat reflected                      */
    bool       csum_v4_icmp;      /* ICMPv6 echo translated to ICMP           */
    bool       csum_v6_icmp;      /* ICMP echo translated to ICMPv6           */
    /* Checksum terms of the packet as it arrived (copied before the
     * pipeline; a translated-away header is not read in the deparser). */
    bit<16>    orig_len6_neg;     /* ICMPv6 -> ICMP: ~payload length (pseudo-header out) */
    bit<16>    icmpv6_nh;         /* 58 (in) or ~58 (out): pseudo-header next header */
    bit<16>    hb_word_neg;       /* ~(heartbeat version, type, flags) as received */
    bit<64>    hb_reflect_ts_neg; /* ~heartbeat reflect_ts as received */
}

@pa_auto_init_metadata
struct tna_egress_md_t {
    metadata_t p4cast;
    bit<16>    l4_residual;       /* parser: the residual ingress left in the L4 checksum */
    bit<1>     l4_fix;            /* parser: bridged.l4_fix */
    bool       l4_unparsed;       /* parser: a long Hop-by-Hop header hides the L4 header */
}

#include "parser.p4"
#include "pktgen.p4"

/*************************************************************************
 ***********************  I N G R E S S  *********************************
 *************************************************************************/

/* bf-p4c: the packet generator's branch and the pipeline's share no metadata container (below). */
@pa_no_overlay("ingress", "md.p4cast.heartbeat.peer_index")
@pa_no_overlay("ingress", "md.p4cast.heartbeat.peer_known")
control TnaIngress(inout tna_ingress_headers_t hdr,
                   inout tna_ingress_md_t md,
                   in ingress_intrinsic_metadata_t ig_intr_md,
                   in ingress_intrinsic_metadata_from_parser_t ig_prsr_md,
                   inout ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md,
                   inout ingress_intrinsic_metadata_for_tm_t ig_tm_md) {
    @name(".ingress") P4castIngress() p4cast_ingress;
    @name(".pktgen")  HeartbeatPktgen() hb_pktgen;

    /*
     * What the traffic manager does with the packet, in the order of the
     * shared pipeline's end: a drop, an undecided packet or a tree hit on
     * group 0 (no replicas) is dropped, a group replicates, else the port.
     * One hidden constant-entry table instead of a chain of conditions (a
     * logical table per leaf on Tofino, 16 per stage).
     */
    @hidden action tm_drop() { ig_dprsr_md.drop_ctl = 1; }
    @hidden action tm_group() { ig_tm_md.mcast_grp_a = md.p4cast.fwd.mcast_grp; }
    @hidden action tm_port() { ig_tm_md.ucast_egress_port = md.p4cast.fwd.egress_port; }
    @hidden table tm_decision {
        key = {
            md.p4cast.fwd.drop       : ternary;
            md.p4cast.fwd.done       : ternary;
            md.p4cast.arch.tree_hit  : ternary;
            md.p4cast.fwd.mcast_grp  : ternary;
        }
        actions = { tm_drop; tm_group; tm_port; }
        const default_action = tm_group();
        size = 4;
        const entries = {
            (true, _, _, _):     tm_drop();
            (_, false, _, _):    tm_drop();
            (_, _, true, 0):     tm_drop();
            (_, _, _, 0):        tm_port();
        }
    }

    /*
     * L4 checksums (see "Checksums" above; the pipeline left the old value
     * in place: P4CAST_CSUM16_OF is empty on TNA). A UDP checksum of 0
     * (IPv4: none) stays 0. Which deparser update a packet takes:
     *   - a reflected heartbeat's UDP checksum (csum_hb_udp);
     *   - a translated ICMP message: ICMPv6 -> ICMP (csum_v4_icmp) or
     *     ICMP -> ICMPv6 (csum_v6_icmp);
     *   - to egress (bridged.l4_fix, the residual in the checksum field): a
     *     translated UDP/TCP packet, or an accepted p4cast packet at its last
     *     hop whose L4 header egress reaches (IPv6 Hop-by-Hop header of at
     *     most 16 octets, parser.p4: hdr_ext_len 0 or 1).
     * The cases exclude each other: a heartbeat is reflected only when it is
     * addressed to this switch, a translation only when it is not and it is
     * not a p4cast packet, a delivery only for a p4cast packet; one L4
     * header is valid. So one hidden constant-entry table decides (the
     * first entry that matches), on values the pipeline settled before its
     * end, not on the drop decision (a dropped packet's flags do not
     * matter).
     */
    @hidden action csum_none() { }
    @hidden action csum_hb() { md.csum_hb_udp = true; }
    @hidden action csum_to_icmp() {
        md.csum_v4_icmp = true;
        md.icmpv6_nh = ~(bit<16>)IP_PROTO_ICMPV6;
    }
    @hidden action csum_to_icmpv6() {
        md.csum_v6_icmp = true;
        md.icmpv6_nh = (bit<16>)IP_PROTO_ICMPV6;
    }
    @hidden action csum_fix_udp() {
        hdr.p4cast.udp.checksum = md.l4_residual;
        md.l4_fix = 1;
    }
    @hidden action csum_fix_tcp() {
        hdr.p4cast.tcp.checksum = md.l4_residual;
        md.l4_fix = 1;
    }
    @hidden action csum_fix_icmpv6() {
        hdr.p4cast.icmpv6.checksum = md.l4_residual;
        md.l4_fix = 1;
    }
    @hidden table csum_step {
        key = {
            md.p4cast.heartbeat.reflected      : ternary;
            hdr.p4cast.udp.isValid()           : ternary;
            hdr.p4cast.udp.checksum            : ternary;
            hdr.p4cast.tcp.isValid()           : ternary;
            hdr.p4cast.icmp.isValid()          : ternary;
            hdr.p4cast.icmpv6.isValid()        : ternary;
            md.p4cast.xlate.to_v4              : ternary;
            hdr.p4cast.ipv4.isValid()          : ternary;
            md.p4cast.xlate.to_v6              : ternary;
            hdr.p4cast.ipv6.isValid()          : ternary;
            hdr.p4cast.shim.isValid()          : ternary;
            md.p4cast.dedup.accept             : ternary;
            hdr.p4cast.ipv6_hbh.isValid()      : ternary;
            hdr.p4cast.ipv6_hbh.hdr_ext_len    : ternary;
        }
        actions = {
            csum_none; csum_hb; csum_to_icmp; csum_to_icmpv6;
            csum_fix_udp; csum_fix_tcp; csum_fix_icmpv6;
        }
        const default_action = csum_none();
        size = 16;
        /* reflected, udp, udp csum, tcp, icmp, icmpv6, to_v4, ipv4, to_v6,
         * ipv6, shim, accept, hbh, hbh len */
        const entries = {
            /* UDP checksum 0: none, stays 0 */
            (_, true, 0, _, _, _, _, _, _, _, _, _, _, _):                      csum_none();
            (true, true, _, _, _, _, _, _, _, _, _, _, _, _):                   csum_hb();
            (_, _, _, _, true, _, true, true, _, _, _, _, _, _):                csum_to_icmp();
            (_, _, _, _, _, true, _, _, true, true, _, _, _, _):                csum_to_icmpv6();
            /* translated */
            (_, true, _, _, _, _, true, true, _, _, _, _, _, _):                csum_fix_udp();
            (_, true, _, _, _, _, _, _, true, true, _, _, _, _):                csum_fix_udp();
            (_, _, _, true, _, _, true, true, _, _, _, _, _, _):                csum_fix_tcp();
            (_, _, _, true, _, _, _, _, true, true, _, _, _, _):                csum_fix_tcp();
            /* delivered at the last hop */
            (_, true, _, _, _, _, _, _, _, _, true, true, false, _):            csum_fix_udp();
            (_, true, _, _, _, _, _, _, _, _, true, true, true, 0 &&& 0xFE):    csum_fix_udp();
            (_, _, _, true, _, _, _, _, _, _, true, true, false, _):            csum_fix_tcp();
            (_, _, _, true, _, _, _, _, _, _, true, true, true, 0 &&& 0xFE):    csum_fix_tcp();
            (_, _, _, _, _, true, _, _, _, _, true, true, false, _):            csum_fix_icmpv6();
            (_, _, _, _, _, true, _, _, _, _, true, true, true, 0 &&& 0xFE):    csum_fix_icmpv6();
        }
    }

    apply {
        md.p4cast.intrinsic.ingress_port  = ig_intr_md.ingress_port;
        md.p4cast.intrinsic.ingress_ts    = ig_prsr_md.global_tstamp;   /* ns */
        /* No packet length before the traffic manager on TNA: IpValidate's
         * "IP length beyond the frame" test cannot fire in ingress. */
        md.p4cast.intrinsic.packet_length = 0xFFFFFFFF;
        /* The parser's own error flag (parser.p4: parse_error) or the
         * hardware's (truncation, ...). (Boolean expressions are assigned
         * through if statements: a Tofino action only moves and computes
         * bits.) The parser verified the IPv4 header checksums
         * (checksum_error, arch.outer_csum_err; IpValidate reads both). */
        md.orig_len6_neg = ~hdr.p4cast.ipv6.payload_len;
        md.hb_word_neg = ~(hdr.p4cast.heartbeat.version ++ hdr.p4cast.heartbeat.msg_type
                           ++ hdr.p4cast.heartbeat.flags);
        md.hb_reflect_ts_neg = ~hdr.p4cast.heartbeat.reflect_ts;
        if (ig_prsr_md.parser_err != 0) {
            md.p4cast.intrinsic.parser_error = true;
        }

        /* Exclusive branches, so that bf-p4c can place the two side by
         * side: as two if statements it ran them one after the other
         * (41 stages instead of 39). The @pa_no_overlay on TnaIngress keeps
         * it from a metadata overlay that stopped it otherwise (p4c
         * 34b86e9b: "Metadata initialization analysis incorrect. Live
         * ranges between cond-196 and tbl_session_encap125 overlap": the
         * heartbeat peer index in a container with a local of SessionEncap). */
        if (hdr.pktgen.isValid()) {
            hb_pktgen.apply(hdr.p4cast, md.p4cast, hdr.pktgen);
        } else {
            p4cast_ingress.apply(hdr.p4cast, md.p4cast);
        }
        hdr.pktgen.setInvalid();

        /* L4 checksums: csum_step (above). Ahead of tm_decision, which
         * waits for the last forwarding decision: the deparser's checksum
         * conditions wait for csum_step. */
        csum_step.apply();

        /* An undecided packet, or a tree hit on group 0 (no replicas), is
         * dropped (NO_ROUTE, counted by the pipeline: p4/tna/ingress.p4);
         * else the group or the port (tm_decision, above). */
        tm_decision.apply();

        /* The bridged header in one action: each field written once (its
         * one-bit fields share a container, and writes to one container by
         * several tables went to as many stages). */
        hdr.bridged.setValid();
        hdr.bridged.kind          = BRIDGE_KIND_P4CAST;
        hdr.bridged.ingress_port  = md.p4cast.intrinsic.ingress_port;
        hdr.bridged.punt_reason   = md.p4cast.pktio.punt_reason;
        hdr.bridged.punt_aux      = md.p4cast.pktio.punt_aux;
        hdr.bridged.l4_fix        = md.l4_fix;
        hdr.bridged.dedup_lasthop = (bit<1>)md.p4cast.dedup.lasthop;
        hdr.bridged.dedup_accept  = (bit<1>)md.p4cast.dedup.accept;
        hdr.bridged.dedup_verdict = md.p4cast.dedup.verdict;
    }
}

control TnaIngressDeparser(packet_out pkt,
                           inout tna_ingress_headers_t hdr,
                           in tna_ingress_md_t md,
                           in ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md) {
    Checksum() hb_csum;
    Checksum() v4_icmp_csum;
    Checksum() v6_icmp_csum;
    P4castDeparser() p4cast_deparser;

    apply {
        /* IPv4 header checksums: egress. L4: residual (parser) + the fields
         * that may have changed. */

        /* Heartbeat reflection: the addresses (swapped), and the type word
         * and reflect_ts with their old values taken out (copied before the
         * pipeline). The ports are swapped: their sum stays. */
        if (md.csum_hb_udp) {
            hdr.p4cast.udp.checksum = hb_csum.update({
                hdr.p4cast.ipv4.src_addr, hdr.p4cast.ipv4.dst_addr,
                hdr.p4cast.heartbeat.version, hdr.p4cast.heartbeat.msg_type,
                hdr.p4cast.heartbeat.flags, hdr.p4cast.heartbeat.reflect_ts,
                md.hb_word_neg, md.hb_reflect_ts_neg, md.l4_residual }, true);
        }
        /* ICMPv6 -> ICMP: residual = -(checksum, type word, IPv6 addresses);
         * the pseudo-header's length and next header come out too. */
        if (md.csum_v4_icmp) {
            hdr.p4cast.icmp.checksum = v4_icmp_csum.update({
                hdr.p4cast.icmp.msg_type, hdr.p4cast.icmp.code,
                md.orig_len6_neg, md.icmpv6_nh, md.l4_residual });
        }
        /* ICMP -> ICMPv6: residual = -(checksum, type word) (the IPv4
         * addresses are not subtracted for ICMP, parser.p4); the ICMPv6
         * pseudo-header and the new type word are added. */
        if (md.csum_v6_icmp) {
            hdr.p4cast.icmpv6.checksum = v6_icmp_csum.update({
                hdr.p4cast.icmpv6.msg_type, hdr.p4cast.icmpv6.code,
                hdr.p4cast.ipv6.src_addr, hdr.p4cast.ipv6.dst_addr,
                hdr.p4cast.ipv6.payload_len, md.icmpv6_nh, md.l4_residual });
        }

        pkt.emit(hdr.bridged);
        p4cast_deparser.apply(pkt, hdr.p4cast);
    }
}

/*************************************************************************
 ***********************  E G R E S S  ***********************************
 *************************************************************************/

control TnaEgress(inout tna_egress_headers_t hdr,
                  inout tna_egress_md_t md,
                  in egress_intrinsic_metadata_t eg_intr_md,
                  in egress_intrinsic_metadata_from_parser_t eg_prsr_md,
                  inout egress_intrinsic_metadata_for_deparser_t eg_dprsr_md,
                  inout egress_intrinsic_metadata_for_output_port_t eg_oport_md) {
    @name(".egress") P4castEgress() p4cast_egress;

    apply {
        md.p4cast.intrinsic.egress_port   = eg_intr_md.egress_port;
        md.p4cast.intrinsic.egress_rid    = eg_intr_md.egress_rid;
        md.p4cast.intrinsic.packet_length = (bit<32>)eg_intr_md.pkt_length;
        md.p4cast.intrinsic.ingress_ts    = eg_prsr_md.global_tstamp;
        md.p4cast.intrinsic.ingress_port  = hdr.bridged.ingress_port;
        md.p4cast.pktio.punt_reason       = hdr.bridged.punt_reason;
        md.p4cast.pktio.punt_aux          = hdr.bridged.punt_aux;
        md.p4cast.dedup.verdict           = hdr.bridged.dedup_verdict;
        if (hdr.bridged.dedup_lasthop == 1) {
            md.p4cast.dedup.lasthop = true;
        }
        if (hdr.bridged.dedup_accept == 1) {
            md.p4cast.dedup.accept = true;
        }
        hdr.bridged.setInvalid();

        p4cast_egress.apply(hdr.p4cast, md.p4cast);

        /* A client copy whose L4 header egress could not reach (IPv6
         * Hop-by-Hop header longer than 16 octets) would leave with a
         * checksum for the old destination: dropped too (not in
         * egress_drop_counter). */
        if (md.p4cast.fwd.drop || (md.l4_unparsed && md.p4cast.delivery.to_v6)) {
            eg_dprsr_md.drop_ctl = 1;
        }
    }
}

control TnaEgressDeparser(packet_out pkt,
                          inout tna_egress_headers_t hdr,
                          in tna_egress_md_t md,
                          in egress_intrinsic_metadata_for_deparser_t eg_dprsr_md) {
    Checksum() outer_ipv4_csum;
    Checksum() ipv4_csum;
    Checksum() udp_csum;
    Checksum() tcp_csum;
    Checksum() icmpv6_csum;
    P4castDeparser() p4cast_deparser;

    apply {
        /* Every IPv4 header leaving the switch gets a fresh checksum (the
         * options of a header without them add nothing). */
        hdr.p4cast.outer_ipv4.hdr_checksum = outer_ipv4_csum.update({
            P4CAST_IPV4_CSUM_FIELDS(hdr.p4cast.outer_ipv4) });
        hdr.p4cast.ipv4.hdr_checksum = ipv4_csum.update({
            P4CAST_IPV4_CSUM_FIELDS(hdr.p4cast.ipv4), hdr.p4cast.ipv4_options.data });

        /* L4, when ingress left the residual in the checksum field: the
         * residual + the current addresses (one family is valid, the other
         * adds nothing; see "Checksums"). */
        if (md.l4_fix == 1) {
            hdr.p4cast.udp.checksum = udp_csum.update({
                hdr.p4cast.ipv4.src_addr, hdr.p4cast.ipv4.dst_addr,
                hdr.p4cast.ipv6.src_addr, hdr.p4cast.ipv6.dst_addr,
                md.l4_residual }, true);
        }
        if (md.l4_fix == 1) {
            hdr.p4cast.tcp.checksum = tcp_csum.update({
                hdr.p4cast.ipv4.src_addr, hdr.p4cast.ipv4.dst_addr,
                hdr.p4cast.ipv6.src_addr, hdr.p4cast.ipv6.dst_addr,
                md.l4_residual });
        }
        if (md.l4_fix == 1) {
            hdr.p4cast.icmpv6.checksum = icmpv6_csum.update({
                hdr.p4cast.ipv6.src_addr, hdr.p4cast.ipv6.dst_addr,
                hdr.p4cast.icmpv6.msg_type, hdr.p4cast.icmpv6.code,
                md.l4_residual });
        }

        p4cast_deparser.apply(pkt, hdr.p4cast);
    }
}

#endif /* P4CAST_TNA_ARCH_WRAPPERS */
#endif /* P4CAST_ARCH_WRAPPERS */
