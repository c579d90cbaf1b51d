/**
 * Reference model of the last-hop dedup window of
 * p4/controls/overlay_dedup.p4, bit for bit: per session, the highest
 * accepted sequence number H and a 64-bit history (bit i <=> H - i was
 * accepted; 0 <=> nothing seen yet), with RFC 1982 serial-number arithmetic
 * on 32-bit sequence numbers.
 */

export const DEDUP_WINDOW_BITS = 64;
const MASK64 = (1n << 64n) - 1n;

export type DedupVerdict = "new" | "duplicate" | "too-old";

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
}

export interface DedupCounters {
  delivered: number;
  duplicate: number;
  tooOld: number;
  /** Sequence numbers skipped when the window advanced (sum of d - 1). */
  gap: bigint;
}

/** The pure step function: verdict and next state for sequence q. */
export function dedupStep(state: DedupState, q: number): { verdict: DedupVerdict; state: DedupState; skipped: number } {
  const seq = q >>> 0;
  if (state.history === 0n) {
    return { verdict: "new", state: { highest: seq, history: 1n }, skipped: 0 };
  }
  const d = seqDiff(seq, state.highest);
  if (d === 0) return { verdict: "duplicate", state, skipped: 0 };
  if (d < 0x80000000) {
    const history = d >= DEDUP_WINDOW_BITS ? 1n : ((state.history << BigInt(d)) | 1n) & MASK64;
    return { verdict: "new", state: { highest: seq, history }, skipped: d - 1 };
  }
  const back = seqDiff(state.highest, seq);
  if (back >= DEDUP_WINDOW_BITS) return { verdict: "too-old", state, skipped: 0 };
  const bit = 1n << BigInt(back);
  if ((state.history & bit) !== 0n) return { verdict: "duplicate", state, skipped: 0 };
  return { verdict: "new", state: { highest: state.highest, history: state.history | bit }, skipped: 0 };
}

/** One session's window with its counters, as a last-hop router keeps them. */
export class DedupWindow {
  private current: DedupState = { highest: 0, history: 0n };
  readonly counters: DedupCounters = { delivered: 0, duplicate: 0, tooOld: 0, gap: 0n };

  /** Offers sequence q; returns whether the copy is delivered. */
  offer(q: number): DedupVerdict {
    const { verdict, state, skipped } = dedupStep(this.current, q);
    this.current = state;
    if (verdict === "new") {
      this.counters.delivered++;
      this.counters.gap += BigInt(skipped);
    } else if (verdict === "duplicate") {
      this.counters.duplicate++;
    } else {
      this.counters.tooOld++;
    }
    return verdict;
  }

  get state(): DedupState {
    return this.current;
  }

  /** What the controller does when it (re)installs a session: history = 0. */
  reset(): void {
    this.current = { highest: 0, history: 0n };
  }

  /** The register values (dedup_highest, dedup_history) as bigints. */
  registers(): { highest: bigint; history: bigint } {
    return { highest: BigInt(this.current.highest >>> 0), history: this.current.history };
  }
}
