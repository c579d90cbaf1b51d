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

    /*
     * Step 3: the advance, one of the three RegisterActions of
     * dedup_highest chosen by a hidden constant-entry table (one table, one
     * stateful ALU, the instruction per action) instead of a condition per
     * leaf: the window empty (was_open 0), n < N (a run too short to
     * resync), else the jump.
     */
#if P4CAST_DEDUP_RESYNC != 4
#error "TNA dedup: dedup_advance_step's and dedup_window's n < N entries are written for P4CAST_DEDUP_RESYNC 4"
#endif
    @hidden action advance_open() {
        meta.arch.dedup_d_m1 = dedup_advance_open.execute((bit<32>)hdr.shim.session_id);
    }
    @hidden action advance_on() {
        meta.arch.dedup_d_m1 = dedup_advance.execute((bit<32>)hdr.shim.session_id);
    }
    @hidden action advance_jump() {
        meta.arch.dedup_d_m1 = dedup_advance_jump.execute((bit<32>)hdr.shim.session_id);
    }
    @hidden table dedup_advance_step {
        key = {
            meta.arch.dedup_was_open : ternary;
            meta.arch.dedup_run_n    : ternary;
        }
        actions = { advance_open; advance_on; advance_jump; NoAction; }
        /* Every packet matches an entry: a default action cannot address
         * a register through the hash unit (bf-p4c). */
        const default_action = NoAction();
        size = 3;
        const entries = {
            (0, _):                  advance_open();
            (_, 0 &&& 0xFFFFFFFC):   advance_on();        /* n < 4 */
            (_, _):                  advance_jump();
        }
    }

    /* dedup_slots' index s * 64 + (q mod 64), gathered by the hash unit
     * that addresses the register. */
#define P4CAST_DEDUP_SLOT (dedup_slot_of.get({hdr.shim.session_id[P4CAST_DEDUP_SESSION_BITS - 1:0], \
                                              hdr.shim.seq[P4CAST_DEDUP_WINDOW_BITS - 1:0]}))

    /*
     * Step 4: the window's decision on d - 1 (d_m1), one hidden
     * constant-entry table (the first entry that matches decides) instead
     * of nested conditions (a table per leaf on Tofino). With SPAN 1024 and
     * a window of 64:
     *   empty window                        -> new, no gap
     *   1 <= d <= SPAN: d_m1 < 1024         -> new, gap d - 1
     *   -64 < d <= 0: d_m1 >= 2^32 - 64     -> the slot decides (d = 0: H's
     *                 slot holds H's tag, so dedup_mark finds it seen)
     *   -SPAN <= d <= -64: d_m1 in 2^32 - 1025 .. 2^32 - 65 -> too old
     *   farther, n >= N                     -> resync: new, no gap
     *   farther, n < N                      -> out of window
     * Every action writes all four results (metadata is not reset between
     * the decisions of one packet on every target).
     */
#if P4CAST_DEDUP_SPAN != 1024 || P4CAST_DEDUP_WINDOW != 64
#error "TNA dedup: dedup_window's entries are written for P4CAST_DEDUP_SPAN 1024 and P4CAST_DEDUP_WINDOW 64"
#endif
    @hidden action window_new() {
        meta.arch.dedup_ahead = true;
        meta.arch.dedup_mark = true;
        meta.arch.dedup_too_old = false;
        meta.arch.dedup_gap_inc = 0;
        meta.arch.dedup_seen = dedup_mark.execute(P4CAST_DEDUP_SLOT);
    }
    @hidden action window_new_gap() {
        meta.arch.dedup_ahead = true;
        meta.arch.dedup_mark = true;
        meta.arch.dedup_too_old = false;
        meta.arch.dedup_gap_inc = meta.arch.dedup_d_m1;
        meta.arch.dedup_seen = dedup_mark.execute(P4CAST_DEDUP_SLOT);
    }
    @hidden action window_slot() {
        meta.arch.dedup_ahead = false;
        meta.arch.dedup_mark = true;
        meta.arch.dedup_too_old = false;
        meta.arch.dedup_gap_inc = 0;
        meta.arch.dedup_seen = dedup_mark.execute(P4CAST_DEDUP_SLOT);
    }
    @hidden action window_too_old() {
        meta.arch.dedup_ahead = false;
        meta.arch.dedup_mark = false;
        meta.arch.dedup_too_old = true;
        meta.arch.dedup_gap_inc = 0;
    }
    @hidden action window_out() {
        meta.arch.dedup_ahead = false;
        meta.arch.dedup_mark = false;
        meta.arch.dedup_too_old = false;
        meta.arch.dedup_gap_inc = 0;
    }
    @hidden table dedup_window {
        key = {
            meta.arch.dedup_was_open : ternary;
            meta.arch.dedup_d_m1     : ternary;
            meta.arch.dedup_run_n    : ternary;
        }
        actions = { window_new; window_new_gap; window_slot; window_too_old; window_out; NoAction; }
        /* Every packet matches an entry (the last: resync); a default
         * action cannot address a register through the hash unit. */
        const default_action = NoAction();
        size = 7;
        const entries = {
            (0, _, _):                                  window_new();       /* empty */
            (_, 0 &&& 0xFFFFFC00, _):                   window_new_gap();   /* d_m1 < 1024 */
            (_, 0xFFFFFFC0 &&& 0xFFFFFFC0, _):          window_slot();      /* d_m1 >= 2^32 - 64 */
            (_, 0xFFFFFC00 &&& 0xFFFFFC00, _):          window_too_old();   /* 2^32 - 1024 .. - 65 */
            (_, 0xFFFFFBFF, _):                         window_too_old();   /* 2^32 - 1025 */
            (_, _, 0 &&& 0xFFFFFFFC):                   window_out();       /* n < 4 */
            (_, _, _):                                  window_new();       /* n >= 4: resync */
        }
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
            /* The session's cell, used where it is needed (a copy into a
             * variable is a stage on Tofino). */
#define s    ((bit<32>)hdr.shim.session_id)

            meta.arch.dedup_was_open = dedup_open.execute(s);
            meta.arch.dedup_run_step = dedup_track_seq.execute(s);
            meta.arch.dedup_run_n = dedup_track_count.execute(s);
            dedup_advance_step.apply();      /* step 3 */
            dedup_window.apply();            /* steps 4 and 5 (dedup_mark) */

            /* Step 5: the gap. */
            if (meta.arch.dedup_ahead && meta.arch.dedup_gap_inc != 0) {
                dedup_gap_add.execute(s);
            }

            /* The verdict and its counter in one step. */
            if (meta.arch.dedup_mark) {
                if (meta.arch.dedup_seen[0:0] == 1 && !meta.arch.dedup_ahead) {   /* 0 or 1 */
                    P4CAST_COUNT(dedup_duplicate_counter, s);
                    meta.dedup.verdict = DEDUP_DUPLICATE;
                } else {
                    P4CAST_COUNT(dedup_delivered_counter, s);
                    meta.dedup.verdict = DEDUP_NEW;
                    meta.dedup.accept = true;
                }
            } else if (meta.arch.dedup_too_old) {
                P4CAST_COUNT(dedup_too_old_counter, s);
                meta.dedup.verdict = DEDUP_TOO_OLD;
            } else {
                P4CAST_COUNT(dedup_out_of_window_counter, s);
                meta.dedup.verdict = DEDUP_OUT_OF_WINDOW;
            }
#undef s
        }
    }
}

#undef P4CAST_DEDUP_SLOT
#endif /* P4CAST_CONTROL_OVERLAY_DEDUP_P4 */
