/**
 * Reference model of the last-hop dedup window of
 * p4/controls/overlay_dedup.p4, bit for bit: per session, the highest
 * accepted sequence number H and a 64-bit history (bit i <=> H - i was
 * accepted; 0 <=> nothing seen yet), with RFC 1982 serial-number arithmetic
 * on 32-bit sequence numbers; plus the resync run (last sequence C and
 * length n of the current run of agreeing sequence numbers).
 *
 * A sequence number more than DEDUP_SPAN from H (either side) is "out of
 * window": dropped without moving the window, unless it is the
 * DEDUP_RESYNC-th packet of a run in which each packet is 1..64 ahead of
 * the previous one; then the window jumps to it (resync).
 */

export const DEDUP_WINDOW_BITS = 64;
/** p4/include/sizes.p4 P4CAST_DEDUP_SPAN. */
export const DEDUP_SPAN = 1024;
/** p4/include/sizes.p4 P4CAST_DEDUP_RESYNC. */
export const DEDUP_RESYNC = 4;
const MASK64 = (1n << 64n) - 1n;

export type DedupVerdict = "new" | "duplicate" | "too-old" | "out-of-window";

/** (a - b) mod 2^32. */
export function seqDiff(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** RFC 1982: a is "after" b (0 < a - b < 2^31 mod 2^32). */
export function seqAfter(a: number, b: number): boolean {
  const d = seqDiff(a, b);
  return d !== 0 && d < 0x80000000;
}

export interface DedupState {
  readonly highest: number;
  readonly history: bigint;
  /** dedup_resync_seq: the last sequence number of the current run (C). */
  readonly runLast?: number;
  /** dedup_resync_count: the run's length (n), wraps at 2^32. */
  readonly runCount?: number;
}

export interface DedupCounters {
  delivered: number;
  duplicate: number;
  tooOld: number;
  outOfWindow: number;
  /** Sequence numbers skipped when the window advanced (sum of d - 1). */
  gap: bigint;
}

/** The run of agreeing sequence numbers after q: goes on, unchanged (a copy of its recent past) or restarts. */
export function dedupRun(runLast: number, runCount: number, q: number): { runLast: number; runCount: number } {
  const seq = q >>> 0;
  if (seqDiff(seq, runLast) - 1 < DEDUP_WINDOW_BITS && seqDiff(seq, runLast) !== 0) {
    return { runLast: seq, runCount: (runCount + 1) >>> 0 };
  }
  if (seqDiff(runLast, seq) < DEDUP_WINDOW_BITS) return { runLast, runCount };
  return { runLast: seq, runCount: 1 };
}

/** The pure step function: verdict and next state for sequence q. */
export function dedupStep(state: DedupState, q: number): { verdict: DedupVerdict; state: DedupState; skipped: number } {
  const seq = q >>> 0;
  const run = dedupRun(state.runLast ?? 0, state.runCount ?? 0, seq);
  const keep = (s: { highest: number; history: bigint }): DedupState => ({ ...s, runLast: run.runLast, runCount: run.runCount });
  if (state.history === 0n) {
    return { verdict: "new", state: keep({ highest: seq, history: 1n }), skipped: 0 };
  }
  const d = seqDiff(seq, state.highest);
  const back = seqDiff(state.highest, seq);
  if (d === 0) return { verdict: "duplicate", state: keep(state), skipped: 0 };
  if (d <= DEDUP_SPAN) {
    const history = d >= DEDUP_WINDOW_BITS ? 1n : ((state.history << BigInt(d)) | 1n) & MASK64;
    return { verdict: "new", state: keep({ highest: seq, history }), skipped: d - 1 };
  }
  if (back <= DEDUP_SPAN) {
    if (back >= DEDUP_WINDOW_BITS) return { verdict: "too-old", state: keep(state), skipped: 0 };
    const bit = 1n << BigInt(back);
    if ((state.history & bit) !== 0n) return { verdict: "duplicate", state: keep(state), skipped: 0 };
    return { verdict: "new", state: keep({ highest: state.highest, history: state.history | bit }), skipped: 0 };
  }
  if (run.runCount >= DEDUP_RESYNC) return { verdict: "new", state: keep({ highest: seq, history: 1n }), skipped: 0 };
  return { verdict: "out-of-window", state: keep(state), skipped: 0 };
}

/** One session's window with its counters, as a last-hop router keeps them. */
export class DedupWindow {
  private current: DedupState = { highest: 0, history: 0n, runLast: 0, runCount: 0 };
  readonly counters: DedupCounters = { delivered: 0, duplicate: 0, tooOld: 0, outOfWindow: 0, gap: 0n };

  /** Offers sequence q; returns whether the copy is delivered. */
  offer(q: number): DedupVerdict {
    const { verdict, state, skipped } = dedupStep(this.current, q);
    this.current = state;
    if (verdict === "new") {
      this.counters.delivered++;
      this.counters.gap += BigInt(skipped);
    } else if (verdict === "duplicate") {
      this.counters.duplicate++;
    } else if (verdict === "too-old") {
      this.counters.tooOld++;
    } else {
      this.counters.outOfWindow++;
    }
    return verdict;
  }

  get state(): DedupState {
    return this.current;
  }

  /** What the controller does when it (re)installs a session: every register 0. */
  reset(): void {
    this.current = { highest: 0, history: 0n, runLast: 0, runCount: 0 };
  }

  /** The register values (dedup_highest, dedup_history, dedup_resync_seq, dedup_resync_count) as bigints. */
  registers(): { highest: bigint; history: bigint; resyncSeq: bigint; resyncCount: bigint } {
    return {
      highest: BigInt(this.current.highest >>> 0),
      history: this.current.history,
      resyncSeq: BigInt((this.current.runLast ?? 0) >>> 0),
      resyncCount: BigInt((this.current.runCount ?? 0) >>> 0),
    };
  }
}
