// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature, TNA version: redundant-overlay deduplication at a last-hop
 * router (the v1model version is p4/controls/overlay_dedup.p4; same table,
 * same counters, same verdicts). The TNA main includes this file before
 * p4/controls/ingress.p4 and defines the shared file's include guard, so
 * P4castIngress instantiates this control under the same name
 * (ingress.dedup.*).
 *
 * Why a separate control: on Tofino a register is read-modified-written by
 * ONE RegisterAction per packet in ONE stage, on a 32-bit (or 2 x 32-bit)
 * stateful ALU with two conditions, add/sub/logic ops and no variable
 * shift. The v1model window (H + a 64-bit history shifted left by d) needs
 * a variable shift and a read of two registers before either is written, so
 * the window is laid out differently here (docs/tofino.md, "Dedup window"):
 *
 *   dedup_valid[s]    1 once the session's window holds a packet (0 = empty)
 *   dedup_highest[s]  H, the highest sequence accepted
 *   dedup_slots[s*64 + (q mod 64)]
 *                     q + 1 for the last sequence q accepted in that slot
 *                     (0 = none): a ring of 64 tags instead of a shifted
 *                     bitmap. Inside the window (H - 63 .. H) a sequence was
 *                     accepted iff its slot holds its tag, like the v1model
 *                     history bit (up to two corners that need 2^32
 *                     sequence numbers, docs/tofino.md), and "advancing"
 *                     needs no shift.
 *   dedup_gap[s]      sequence numbers skipped when the window advanced
 *                     (32 bits: the stateful ALU has no 64-bit carry)
 *
 *   dedup_resync_seq[s], dedup_resync_count[s]
 *                     the run of agreeing sequence numbers of the resync
 *                     rule (shared controls/overlay_dedup.p4 explains it)
 *
 * Per packet (five dependent steps after the table):
 *   1. dedup_open:    was = valid[s]; valid[s] = 1
 *      dedup_track_seq (same stage, other register): C = resync_seq[s];
 *                     q - C in 1..64 -> run goes on (C = q);
 *                     C - q < 64 -> copy (unchanged); else new run (C = q)
 *   2. dedup_track_count: goes on -> n + 1; new run -> 1; copy -> n
 *   3. dedup_advance (window open and n < N), dedup_advance_jump (open,
 *                     n >= N) or dedup_advance_open (empty): d = q - H
 *                     (old H), returned as d - 1 (the tests of step 4 are
 *                     then constants);
 *                     advance:      H = q iff 0 < d <= SPAN
 *                     advance_jump: H = q iff H - q > SPAN (ahead in span,
 *                                   or out of window: resync)
 *                     advance_open: H = q
 *   4. match-action:  verdict from d: empty -> new; 1..SPAN ahead -> new;
 *                     0..SPAN behind: b >= 64 too old, else the slot
 *                     decides (d = 0 too: H's slot holds H's tag);
 *                     farther: resync (new) if n >= N, else out of window
 *   5. dedup_mark:    tag - q == 1 ? seen : (tag = q + 1, new);
 *      dedup_gap_add: gap += d - 1 (ahead and d > 1)   -- same stage
 *   6. the verdict (seen and not ahead: duplicate) and its counter
 *
 * The controller resets a session by writing 0 to dedup_valid[s],
 * dedup_highest[s], dedup_gap[s], dedup_resync_seq[s], dedup_resync_count[s]
 * and the 64 cells dedup_slots[s*64 ..]
 * (src/controller/targets/tofino.ts, dedupResetWrites).
 */
#ifndef P4CAST_CONTROL_OVERLAY_DEDUP_P4
#define P4CAST_CONTROL_OVERLAY_DEDUP_P4

/* P4CAST_DEDUP_WINDOW (64), _SPAN and _RESYNC: include/sizes.p4. The
 * verdict below compares d - 1 with the span in its low 12 bits (a Tofino
 * gateway compares at most 12 bits for order). */
#if P4CAST_DEDUP_SPAN >= 4096 || P4CAST_DEDUP_SPAN <= P4CAST_DEDUP_WINDOW
#error "TNA dedup: P4CAST_DEDUP_SPAN must be above the window and below 4096"
#endif
#if P4CAST_DEDUP_RESYNC >= 256
#error "TNA dedup: P4CAST_DEDUP_RESYNC must be below 256"
#endif
#define P4CAST_DEDUP_WINDOW_BITS 6
/* The slot index s * 64 + (q mod 64) as a concatenation, and s < MAX as
 * "the high bits are 0", for these sizes. */
#define P4CAST_DEDUP_SESSION_BITS 10
#if P4CAST_MAX_SESSIONS != (1 << P4CAST_DEDUP_SESSION_BITS) || P4CAST_DEDUP_WINDOW != (1 << P4CAST_DEDUP_WINDOW_BITS)
#error "TNA dedup: P4CAST_DEDUP_SESSION_BITS / _WINDOW_BITS must match P4CAST_MAX_SESSIONS / P4CAST_DEDUP_WINDOW"
#endif
#define P4CAST_DEDUP_SLOTS       (P4CAST_MAX_SESSIONS * P4CAST_DEDUP_WINDOW)

control OverlayDedup(inout headers_t hdr, inout metadata_t meta) {
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_valid;
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_highest;
    Register<bit<32>, bit<32>>(P4CAST_DEDUP_SLOTS)  dedup_slots;
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_gap;
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_resync_seq;
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_resync_count;

    /* s * 64 + (q mod 64), dedup_slots' index (an identity hash of the
     * two fields' bits). */
    Hash<bit<32>>(HashAlgorithm_t.IDENTITY) dedup_slot_of;

    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_delivered_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_duplicate_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_too_old_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_out_of_window_counter);

    /* Operands the stateful ALUs read are PHV fields computed one stage
     * earlier: meta.arch.dedup_was_open, dedup_gap_inc, dedup_seq_m1,
     * dedup_run_step (arch.p4). */

    RegisterAction<bit<32>, bit<32>, bit<32>>(dedup_valid) dedup_open = {
        void apply(inout bit<32> value, out bit<32> was) {
            was = value;
            value = 1;
        }
    };

    /* The resync run, step 1: where q stands relative to the run's last
     * sequence C (two conditions on one subtraction each). */
    RegisterAction<seq_t, bit<32>, bit<32>>(dedup_resync_seq) dedup_track_seq = {
        void apply(inout seq_t run_last, out bit<32> step) {
            if (meta.arch.dedup_seq_m1 - run_last < P4CAST_DEDUP_WINDOW) {
                step = 1;                            /* 1..64 ahead: goes on */
                run_last = hdr.shim.seq;
            } else if (run_last - hdr.shim.seq < P4CAST_DEDUP_WINDOW) {
                step = 0;                            /* a copy of its recent past */
            } else {
                step = 2;                            /* a new run starts */
                run_last = hdr.shim.seq;
            }
        }
    };

    /* The resync run, step 2: its length n (one stage after step 1). */
    RegisterAction<bit<32>, bit<32>, bit<32>>(dedup_resync_count) dedup_track_count = {
        void apply(inout bit<32> n, out bit<32> run_len) {
            if (meta.arch.dedup_run_step == 1) {
                n = n + 1;
            } else if (meta.arch.dedup_run_step == 2) {
                n = 1;
            }
            run_len = n;
        }
    };

    /* The window may only advance within the span. Both return d - 1
     * (d = q - H, old H): the tests on d below are then comparisons of a
     * field with constants, which is what a Tofino gateway does. */
    RegisterAction<seq_t, bit<32>, seq_t>(dedup_highest) dedup_advance = {
        void apply(inout seq_t highest, out seq_t d_m1) {
            d_m1 = meta.arch.dedup_seq_m1 - highest;
            if (meta.arch.dedup_seq_m1 - highest < P4CAST_DEDUP_SPAN) {
                highest = hdr.shim.seq;              /* 1..SPAN ahead */
            }
        }
    };

    /* The run is long enough to resync: H = q unless q is H or at most
     * SPAN behind it. */
    RegisterAction<seq_t, bit<32>, seq_t>(dedup_highest) dedup_advance_jump = {
        void apply(inout seq_t highest, out seq_t d_m1) {
            d_m1 = meta.arch.dedup_seq_m1 - highest;
            if (highest - hdr.shim.seq > P4CAST_DEDUP_SPAN) {
                highest = hdr.shim.seq;              /* ahead, or resync */
            }
        }
    };

    /* The window is empty: H = q. (Not a branch of dedup_advance_jump: the
     * three RegisterActions of a register share the stateful ALU's two PHV
     * inputs, seq - 1 and seq.) */
    RegisterAction<seq_t, bit<32>, seq_t>(dedup_highest) dedup_advance_open = {
        void apply(inout seq_t highest, out seq_t d_m1) {
            d_m1 = meta.arch.dedup_seq_m1 - highest;
            highest = hdr.shim.seq;
        }
    };

    RegisterAction<seq_t, bit<32>, bit<32>>(dedup_slots) dedup_mark = {
        void apply(inout seq_t tag, out bit<32> seen) {
            if (tag - hdr.shim.seq == 1) {          /* tag == q + 1 */
                seen = 1;
            } else {
                seen = 0;
                tag = hdr.shim.seq + 1;
            }
        }
    };

    RegisterAction<bit<32>, bit<32>, bit<32>>(dedup_gap) dedup_gap_add = {
        void apply(inout bit<32> value) {
            value = value + meta.arch.dedup_gap_inc;
        }
    };

    /* Looked up on every shim packet ahead of the decisions before it
     * (TNA ingress, p4/tna/ingress.p4); meta.dedup takes the result only
     * where the shared ingress applies this control (apply, below). */
    action accept_session(mcast_grp_t client_grp) {
        meta.arch.dedup_lh_hit = true;
        meta.arch.dedup_lh_grp = client_grp;
    }

    table lasthop_session_exact {
        key = {
            hdr.shim.session_id : exact @name("session_id");
        }
        actions = {
            accept_session;
            @defaultonly NoAction;
        }
        size = P4CAST_LASTHOP_SESSION_SIZE;
        default_action = NoAction();
    }

    apply {
        /* Ahead of the decisions (the TNA ingress applies this control on
         * every packet): the lookup and the operands, which only write
         * meta.arch. */
        if (hdr.shim.isValid()) {
            lasthop_session_exact.apply();
            meta.arch.dedup_seq_m1 = hdr.shim.seq - 1;
        }
        /* Where the shared ingress applies dedup: a shim packet no earlier
         * feature decided, addressed to this router or multicast. A session
         * id the arrays cannot hold is a controller error: not a last hop. */
        if (hdr.shim.isValid() && !meta.fwd.done
                && (meta.l3.is_local || meta.l3.dst4[31:28] == 0xE)
                && meta.arch.dedup_lh_hit) {
            meta.dedup.client_grp = meta.arch.dedup_lh_grp;
        }
        if (hdr.shim.isValid() && !meta.fwd.done
                && (meta.l3.is_local || meta.l3.dst4[31:28] == 0xE)
                && meta.arch.dedup_lh_hit
                && hdr.shim.session_id[15:P4CAST_DEDUP_SESSION_BITS] == 0) {
            meta.dedup.lasthop = true;
            /* The session's cell and its slot s * 64 + (q mod 64), used
             * where they are needed (a copy into a variable is a stage on
             * Tofino; the slot index is gathered by the hash unit that
             * addresses the register). */
#define s    ((bit<32>)hdr.shim.session_id)
#define slot (dedup_slot_of.get({hdr.shim.session_id[P4CAST_DEDUP_SESSION_BITS - 1:0], \
                                 hdr.shim.seq[P4CAST_DEDUP_WINDOW_BITS - 1:0]}))

            meta.arch.dedup_was_open = dedup_open.execute(s);
            meta.arch.dedup_run_step = dedup_track_seq.execute(s);
            bit<32> run_n = dedup_track_count.execute(s);
            /* n >= N, with the order comparison on 8 bits (gateway); written
             * out in each condition below instead of a flag (a flag is one
             * more stage on Tofino). */
#define P4CAST_DEDUP_RUN_LONG (run_n[31:8] != 0 || run_n[7:0] >= P4CAST_DEDUP_RESYNC)
            /* d - 1, so that  d == 0  <=>  d_m1 == 2^32 - 1,
             * 1 <= d <= SPAN  <=>  d_m1 < SPAN,  -SPAN <= d < 0  <=>
             * d_m1 >= ~SPAN, and within that -d >= 64  <=>  d_m1 <= ~64. */
            seq_t d_m1;
            if (meta.arch.dedup_was_open == 0) {
                d_m1 = dedup_advance_open.execute(s);
            } else if (P4CAST_DEDUP_RUN_LONG) {
                d_m1 = dedup_advance_jump.execute(s);
            } else {
                d_m1 = dedup_advance.execute(s);
            }

            bit<2> verdict = DEDUP_NEW;
            bool ahead = false;
            bool mark = false;
            /* Nested so that each gateway reads few bytes (a Tofino gateway
             * reads at most 4 bytes + 12 bits of PHV, and compares for order
             * only those 12 bits): with H12 = d_m1[31:12], L12 = d_m1[11:0],
             *   d_m1 < SPAN      <=>  H12 == 0 && L12 < SPAN
             *   d_m1 >= ~SPAN    <=>  H12 == 0xFFFFF && L12 >= ~SPAN & 0xFFF
             *   d_m1 <= ~WINDOW  (then)  <=>  L12 <= ~WINDOW & 0xFFF
             * d == 0 (d_m1 = 2^32 - 1, q = H) takes the slot test of the
             * window's past: H's slot holds H's tag (every new H was marked,
             * and only a sequence number 64 or more ahead could take its
             * slot), so dedup_mark finds it seen: a duplicate, as v1model's
             * d == 0 test says, and the verdict is then decided in one place
             * (below). */
            if (meta.arch.dedup_was_open == 0) {
                ahead = true;                        /* empty: new, no gap */
                mark = true;
            } else {
                if (d_m1[31:12] == 0 && d_m1[11:0] < P4CAST_DEDUP_SPAN) {
                    ahead = true;
                    mark = true;
                    meta.arch.dedup_gap_inc = d_m1;
                } else if (d_m1[31:12] == 0xFFFFF
                           && d_m1[11:0] >= (~(bit<12>)P4CAST_DEDUP_SPAN)) {
                    if (d_m1[11:0] <= (~(bit<12>)P4CAST_DEDUP_WINDOW)) {
                        verdict = DEDUP_TOO_OLD;
                    } else {
                        mark = true;
                    }
                } else if (P4CAST_DEDUP_RUN_LONG) {
                    ahead = true;                    /* resync: new, no gap */
                    mark = true;
                } else {
                    verdict = DEDUP_OUT_OF_WINDOW;
                }
            }

            bit<32> seen = 0;
            if (mark) {
                seen = dedup_mark.execute(slot);
            }
            if (ahead && meta.arch.dedup_gap_inc != 0) {
                dedup_gap_add.execute(s);
            }

            /* The verdict and its counter in one step. */
            if (mark) {
                if (seen[0:0] == 1 && !ahead) {      /* seen is 0 or 1 */
                    P4CAST_COUNT(dedup_duplicate_counter, s);
                    meta.dedup.verdict = DEDUP_DUPLICATE;
                } else {
                    P4CAST_COUNT(dedup_delivered_counter, s);
                    meta.dedup.verdict = DEDUP_NEW;
                    meta.dedup.accept = true;
                }
            } else if (verdict == DEDUP_TOO_OLD) {
                P4CAST_COUNT(dedup_too_old_counter, s);
                meta.dedup.verdict = DEDUP_TOO_OLD;
            } else {
                P4CAST_COUNT(dedup_out_of_window_counter, s);
                meta.dedup.verdict = DEDUP_OUT_OF_WINDOW;
            }
#undef P4CAST_DEDUP_RUN_LONG
#undef s
#undef slot
        }
    }
}

#endif /* P4CAST_CONTROL_OVERLAY_DEDUP_P4 */
