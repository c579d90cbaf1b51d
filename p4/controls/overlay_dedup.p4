// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: redundant-overlay deduplication at a last-hop router.
 *
 * Every p4cast packet of a session served here (lasthop_session_exact hit)
 * -- the tree copy and each overlay unicast copy -- passes one sliding
 * window per session, kept in registers:
 *
 *   dedup_highest[s]  highest sequence number accepted so far (H)
 *   dedup_history[s]  64-bit history: bit i set <=> sequence H - i accepted;
 *                     0 <=> the window is empty (no packet seen yet)
 *
 * For sequence q, with d = q - H mod 2^32 (RFC 1982 serial arithmetic),
 * W = P4CAST_DEDUP_WINDOW (64), S = P4CAST_DEDUP_SPAN, N = P4CAST_DEDUP_RESYNC
 * (include/sizes.p4):
 *   empty window        -> new; H = q, history = 1
 *   d == 0              -> duplicate
 *   0 < d <= S          -> new and ahead: gap += d - 1; history shifted left
 *                          by d (cleared if d >= 64) | 1; H = q
 *   0 < b = -d <= S     -> behind: b >= W -> too old;
 *                          bit b set -> duplicate, else new (bit b set)
 *   otherwise           -> out of window (more than S away on either side):
 *                          dropped, the window does not move -- unless q
 *                          completes a run of N agreeing packets (below):
 *                          then resync: new, H = q, history = 1 (no gap).
 *
 * The run (dedup_resync_seq C, dedup_resync_count n) follows every packet of
 * the session: e = q - C; 0 < e <= W -> n += 1, C = q (the run goes on);
 * q within C - W + 1 .. C -> unchanged (a copy of the run's recent past);
 * otherwise -> n = 1, C = q (a new run starts). A steady stream keeps
 * n >= N, but a lone forged or corrupted sequence number starts its own run
 * of 1 and cannot move the window; a restarted ingress router (sequence
 * back to 0) or a loss longer than S on every path costs N - 1 packets.
 *
 * Nothing behind the window moves it: a too-old copy (b >= W) is counted and
 * dropped; an out-of-window one behind needs the same N-packet run.
 *
 * New packets are delivered to the session's local clients (egress,
 * lasthop_delivery.p4); duplicates and too-old packets are not. The
 * reference model is test/features/support/overlay-dedup-model.ts.
 */
#ifndef P4CAST_CONTROL_OVERLAY_DEDUP_P4
#define P4CAST_CONTROL_OVERLAY_DEDUP_P4

control OverlayDedup(inout headers_t hdr, inout metadata_t meta) {
    /*
     * dedup_highest[session_id] (bit<32>) and dedup_history[session_id]
     * (bit<64>): the window above. Read and written by the data plane of a
     * last-hop router; the controller writes history = 0 (and highest = 0)
     * to reset a session's window when it (re)installs the session.
     */
    P4CAST_REGISTER(seq_t, P4CAST_MAX_SESSIONS, dedup_highest);
    P4CAST_REGISTER(bit<64>, P4CAST_MAX_SESSIONS, dedup_history);

    /*
     * dedup_gap[session_id] (bit<64>): total of sequence numbers skipped when
     * the window advanced (d - 1 per advance; late arrivals that fill a hole
     * later are still counted here and also as delivered). Written by the
     * data plane; read (and reset) by the controller of a last-hop router.
     */
    P4CAST_REGISTER(bit<64>, P4CAST_MAX_SESSIONS, dedup_gap);

    /*
     * dedup_resync_seq[session_id] (bit<32>, C) and
     * dedup_resync_count[session_id] (bit<32>, n): the run of agreeing
     * sequence numbers above (n wraps after 2^32 agreeing packets). Written
     * by the data plane; the controller resets both to 0 with the window.
     */
    P4CAST_REGISTER(seq_t, P4CAST_MAX_SESSIONS, dedup_resync_seq);
    P4CAST_REGISTER(bit<32>, P4CAST_MAX_SESSIONS, dedup_resync_count);

    /*
     * dedup_{delivered,duplicate,too_old}_counter[session_id]: packets and
     * bytes accepted / dropped as duplicate / dropped as too old (>= 64 and
     * <= P4CAST_DEDUP_SPAN behind). Written by
     * the data plane; read by the controller (last-hop router role).
     */
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_delivered_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_duplicate_counter);
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_too_old_counter);
    /* dedup_out_of_window_counter[session_id]: copies dropped as out of
     * window (more than P4CAST_DEDUP_SPAN from H, no resync). */
    P4CAST_COUNTER(P4CAST_MAX_SESSIONS, dedup_out_of_window_counter);

    action accept_session(mcast_grp_t client_grp) {
        meta.dedup.lasthop = true;
        meta.dedup.client_grp = client_grp;
    }

    /* Sessions with local clients on this router (controller: last-hop
     * router role); client_grp is the PRE group with one replica per client
     * (rid in lasthop_client_rid_exact). */
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
            session_id_t s = hdr.shim.session_id;
            seq_t q = hdr.shim.seq;
            seq_t highest;
            bit<64> history;
            P4CAST_REG_READ(dedup_highest, s, highest);
            P4CAST_REG_READ(dedup_history, s, history);

            /* The run of agreeing sequence numbers (resync rule). */
            seq_t run_last;
            bit<32> run_n;
            P4CAST_REG_READ(dedup_resync_seq, s, run_last);
            P4CAST_REG_READ(dedup_resync_count, s, run_n);
            if (q - run_last - 1 < P4CAST_DEDUP_WINDOW) {
                run_n = run_n + 1;
                run_last = q;
            } else if (run_last - q >= P4CAST_DEDUP_WINDOW) {
                run_n = 1;
                run_last = q;
            }
            P4CAST_REG_WRITE(dedup_resync_seq, s, run_last);
            P4CAST_REG_WRITE(dedup_resync_count, s, run_n);

            bit<2> verdict = DEDUP_NEW;
            if (history == 0) {
                highest = q;
                history = 1;
            } else {
                seq_t d = q - highest;
                seq_t b = highest - q;
                if (d == 0) {
                    verdict = DEDUP_DUPLICATE;
                } else if (d <= P4CAST_DEDUP_SPAN) {
                    if (d > 1) {
                        bit<64> gap;
                        P4CAST_REG_READ(dedup_gap, s, gap);
                        P4CAST_REG_WRITE(dedup_gap, s, gap + (bit<64>)(d - 1));
                    }
                    if (d >= P4CAST_DEDUP_WINDOW) {
                        history = 1;
                    } else {
                        history = (history << (bit<8>)d) | 1;
                    }
                    highest = q;
                } else if (b <= P4CAST_DEDUP_SPAN) {
                    if (b >= P4CAST_DEDUP_WINDOW) {
                        verdict = DEDUP_TOO_OLD;
                    } else {
                        bit<64> bit_b = (bit<64>)1 << (bit<8>)b;
                        if ((history & bit_b) != 0) {
                            verdict = DEDUP_DUPLICATE;
                        } else {
                            history = history | bit_b;
                        }
                    }
                } else if (run_n >= P4CAST_DEDUP_RESYNC) {
                    highest = q;           /* resync: N agreeing packets */
                    history = 1;
                } else {
                    verdict = DEDUP_OUT_OF_WINDOW;
                }
            }

            if (verdict == DEDUP_NEW) {
                P4CAST_REG_WRITE(dedup_highest, s, highest);
                P4CAST_REG_WRITE(dedup_history, s, history);
                P4CAST_COUNT(dedup_delivered_counter, s);
            } else if (verdict == DEDUP_DUPLICATE) {
                P4CAST_COUNT(dedup_duplicate_counter, s);
            } else if (verdict == DEDUP_TOO_OLD) {
                P4CAST_COUNT(dedup_too_old_counter, s);
            } else {
                P4CAST_COUNT(dedup_out_of_window_counter, s);
            }
            meta.dedup.verdict = verdict;
            meta.dedup.accept = verdict == DEDUP_NEW;
        }
    }
}

#endif /* P4CAST_CONTROL_OVERLAY_DEDUP_P4 */
