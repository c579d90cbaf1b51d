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
 * Per packet (four stages after the table):
 *   1. dedup_open:    was = valid[s]; valid[s] = 1
 *   2. dedup_advance: empty -> d = 1, H = q; else d = q - H and H = q when
 *                     0 < d < 2^31 (serial-number comparison as the sign of
 *                     a 32-bit difference, a single ALU condition)
 *   3. match-action:  verdict from d: 0 duplicate; ahead -> new; behind by
 *                     b = -d: b >= 64 too old, else the slot decides
 *   4. dedup_mark:    tag - q == 1 ? seen : (tag = q + 1, new);
 *      dedup_gap_add: gap += d - 1 (ahead and d > 1)   -- same stage
 *
 * The controller resets a session by writing 0 to dedup_valid[s],
 * dedup_highest[s], dedup_gap[s] and the 64 cells dedup_slots[s*64 ..]
 * (src/controller/targets/tofino.ts, dedupResetWrites).
 */
#ifndef P4CAST_CONTROL_OVERLAY_DEDUP_P4
#define P4CAST_CONTROL_OVERLAY_DEDUP_P4

#define P4CAST_DEDUP_WINDOW      64
#define P4CAST_DEDUP_WINDOW_BITS 6
#define P4CAST_DEDUP_SLOTS       (P4CAST_MAX_SESSIONS * P4CAST_DEDUP_WINDOW)

control OverlayDedup(inout headers_t hdr, inout metadata_t meta) {
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_valid;
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_highest;
    Register<bit<32>, bit<32>>(P4CAST_DEDUP_SLOTS)  dedup_slots;
    Register<bit<32>, bit<32>>(P4CAST_MAX_SESSIONS) dedup_gap;

    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_delivered_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_duplicate_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_too_old_counter);

    /* Operands the stateful ALUs read are PHV fields computed one stage
     * earlier: meta.arch.dedup_was_open, meta.arch.dedup_gap_inc (arch.p4). */

    RegisterAction<bit<32>, bit<32>, bit<32>>(dedup_valid) dedup_open = {
        void apply(inout bit<32> value, out bit<32> was) {
            was = value;
            value = 1;
        }
    };

    RegisterAction<seq_t, bit<32>, seq_t>(dedup_highest) dedup_advance = {
        void apply(inout seq_t highest, out seq_t d) {
            if (meta.arch.dedup_was_open == 0) {
                d = 1;                               /* empty: new, no gap */
                highest = hdr.shim.seq;
            } else if ((int<32>)(hdr.shim.seq - highest) > 0) {
                d = hdr.shim.seq - highest;          /* ahead */
                highest = hdr.shim.seq;
            } else {
                d = hdr.shim.seq - highest;          /* equal or behind */
            }
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

    action accept_session(mcast_grp_t client_grp) {
        meta.dedup.lasthop = true;
        meta.dedup.client_grp = client_grp;
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
        lasthop_session_exact.apply();
        if (meta.dedup.lasthop && (bit<32>)hdr.shim.session_id >= P4CAST_MAX_SESSIONS) {
            meta.dedup.lasthop = false;   /* controller error: cannot index */
        }
        if (meta.dedup.lasthop) {
            bit<32> s = (bit<32>)hdr.shim.session_id;
            bit<32> slot = (s << P4CAST_DEDUP_WINDOW_BITS)
                         | (bit<32>)hdr.shim.seq[P4CAST_DEDUP_WINDOW_BITS - 1:0];

            meta.arch.dedup_was_open = dedup_open.execute(s);
            seq_t d = dedup_advance.execute(s);

            bit<2> verdict = DEDUP_NEW;
            bool ahead = false;
            bool mark = false;
            if (d == 0) {
                verdict = DEDUP_DUPLICATE;
            } else if (d[31:31] == 0) {
                ahead = true;
                mark = true;
                meta.arch.dedup_gap_inc = d - 1;
            } else if (0 - d >= P4CAST_DEDUP_WINDOW) {
                verdict = DEDUP_TOO_OLD;
            } else {
                mark = true;
            }

            if (mark) {
                bit<32> seen = dedup_mark.execute(slot);
                if (seen == 1 && !ahead) {
                    verdict = DEDUP_DUPLICATE;
                }
            }
            if (ahead && meta.arch.dedup_gap_inc != 0) {
                dedup_gap_add.execute(s);
            }

            if (verdict == DEDUP_NEW) {
                P4CAST_COUNT(dedup_delivered_counter, s);
            } else if (verdict == DEDUP_DUPLICATE) {
                P4CAST_COUNT(dedup_duplicate_counter, s);
            } else {
                P4CAST_COUNT(dedup_too_old_counter, s);
            }
            meta.dedup.verdict = verdict;
            meta.dedup.accept = verdict == DEDUP_NEW;
        }
    }
}

#endif /* P4CAST_CONTROL_OVERLAY_DEDUP_P4 */
