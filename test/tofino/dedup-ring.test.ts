/**
 * The TNA dedup window (p4/tna/overlay_dedup.p4: dedup_valid, dedup_highest,
 * a ring of 64 sequence tags per session, dedup_gap) modelled RegisterAction
 * by RegisterAction, against the v1model reference
 * (test/features/support/overlay-dedup-model.ts): the same verdicts and gap
 * on random streams with duplicates, reordering, losses, jumps within and
 * beyond the span (resync runs) and the 2^32 boundary, except the
 * documented corners: q = 2^32 - 1 arriving behind into a never-written
 * slot, and a tag left from before a jump (the ring is never cleared) that
 * matches again when the window comes back to it. The advance's choice and
 * the window's decision are the constant entries of the program's own
 * hidden tables (dedup_advance_step, dedup_window), read from the P4 source
 * and matched here as the ternary tables match them.
 */
import { describe, expect, it } from "vitest";
import { DEDUP_RESYNC, DEDUP_SPAN, DedupWindow, type DedupVerdict } from "../features/support/overlay-dedup-model.js";
import { constEntries, lookup } from "../support/p4-const-entries.js";

const WINDOW = 64;

const ADVANCE_STEP = constEntries("tna/overlay_dedup.p4", "dedup_advance_step");
const WINDOW_STEP = constEntries("tna/overlay_dedup.p4", "dedup_window");

/** One session of the TNA layout; each method is one RegisterAction (one stage). */
class TnaRing {
  valid = 0;
  highest = 0;
  readonly slots = new Uint32Array(WINDOW);
  gap = 0;
  runLast = 0;
  runCount = 0;

  offer(q: number): DedupVerdict {
    q >>>= 0;
    const seqM1 = (q - 1) >>> 0;
    // stage 1: dedup_open, dedup_track_seq
    const wasOpen = this.valid;
    this.valid = 1;
    let step: number;
    if ((seqM1 - this.runLast) >>> 0 < WINDOW) {
      step = 1;
      this.runLast = q;
    } else if ((this.runLast - q) >>> 0 < WINDOW) {
      step = 0;
    } else {
      step = 2;
      this.runLast = q;
    }
    // stage 2: dedup_track_count
    if (step === 1) this.runCount = (this.runCount + 1) >>> 0;
    else if (step === 2) this.runCount = 1;
    // stage 3: dedup_advance_step picks dedup_advance_open, dedup_advance_jump
    // or dedup_advance; each returns d - 1 (d = q - H, old H)
    const dM1 = (seqM1 - this.highest) >>> 0;
    const advance = lookup(ADVANCE_STEP, [wasOpen, this.runCount], "NoAction()");
    if (advance === "advance_open()") this.highest = q;
    else if (advance === "advance_jump()") {
      if ((this.highest - q) >>> 0 > DEDUP_SPAN) this.highest = q;
    } else if (advance === "advance_on()") {
      if ((seqM1 - this.highest) >>> 0 < DEDUP_SPAN) this.highest = q;
    } else throw new Error(`dedup_advance_step: no entry for was_open ${wasOpen}, n ${this.runCount}`);
    // stage 4: dedup_window on d - 1 (d = 0, q = H, takes the slot: H's slot
    // holds H's tag, so dedup_mark finds it seen, a duplicate)
    const window = lookup(WINDOW_STEP, [wasOpen, dM1, this.runCount], "NoAction()");
    const ahead = window === "window_new()" || window === "window_new_gap()";
    const mark = ahead || window === "window_slot()";
    const gapInc = window === "window_new_gap()" ? dM1 : 0;
    if (!mark && window !== "window_too_old()" && window !== "window_out()") {
      throw new Error(`dedup_window: no entry for was_open ${wasOpen}, d - 1 ${dM1}, n ${this.runCount}`);
    }
    let verdict: DedupVerdict = window === "window_too_old()" ? "too-old" : window === "window_out()" ? "out-of-window" : "new";
    // stage 4 too: dedup_mark (in dedup_window's actions); stage 5: dedup_gap_add and the verdict
    if (mark) {
      const slot = q % WINDOW;
      const tag = this.slots[slot]!;
      let seen = 0;
      if ((tag - q) >>> 0 === 1) seen = 1;
      else this.slots[slot] = (q + 1) >>> 0;
      if (seen === 1 && !ahead) verdict = "duplicate";
    }
    if (ahead && gapInc !== 0) this.gap = (this.gap + gapInc) >>> 0;
    return verdict;
  }
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A stream of sequence numbers: mostly increasing, with duplicates, reordering, losses and jumps. */
function stream(seed: number, start: number, n: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  let next = start >>> 0;
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.55) out.push(next++ >>> 0);
    else if (x < 0.7 && out.length)
      out.push(out[Math.floor(r() * out.length)]!); // duplicate of anything seen
    else if (x < 0.82)
      out.push((next - 1 - Math.floor(r() * 80)) >>> 0); // late, maybe too old
    else if (x < 0.92)
      next = (next + 1 + Math.floor(r() * 10)) >>> 0; // loss
    else if (x < 0.96)
      next = (next + 60 + Math.floor(r() * 20)) >>> 0; // jump around the window size
    else if (x < 0.98)
      next = (next + 900 + Math.floor(r() * 300)) >>> 0; // jump around the span
    // A far jump: out of window until a run resyncs (the stream stays well below one 2^32 wrap).
    else next = (next + Math.floor(r() * 2 ** 20)) >>> 0;
    next >>>= 0;
  }
  return out;
}

describe("TNA dedup ring vs the v1model window", () => {
  for (const [seed, start] of [
    [1, 0],
    [2, 1000],
    [3, 0xffffff00], // wraps through 2^32
    [4, 0x7fffffc0],
    [5, 12345678],
  ] as const) {
    it(`same verdicts and gap (seed ${seed}, start ${start.toString(16)})`, () => {
      const ref = new DedupWindow();
      const tna = new TnaRing();
      const seqs = stream(seed, start, 20000);
      const diffs: string[] = [];
      for (const q of seqs) {
        const a = ref.offer(q);
        const b = tna.offer(q);
        if (a !== b && !(q === 0xffffffff && a === "new")) diffs.push(`${q}: ${a} vs ${b}`);
      }
      expect(diffs).toEqual([]);
      expect(BigInt(tna.gap)).toBe(ref.counters.gap & 0xffffffffn);
    });
  }

  it("corner: 2^32 - 1 arriving behind into an unused slot is taken for a duplicate", () => {
    // 0xffffffff is 6 behind 5 (serial arithmetic); never accepted before.
    const fresh = new TnaRing();
    const fref = new DedupWindow();
    fresh.offer(5);
    fref.offer(5);
    expect(fref.offer(0xffffffff)).toBe("new");
    expect(fresh.offer(0xffffffff)).toBe("duplicate");
  });

  it("corner: after a resync back below numbers accepted before, their old tags match again", () => {
    const ref = new DedupWindow();
    const tna = new TnaRing();
    // 5000..5009 accepted; the sender restarts at 0 (a run of N resyncs),
    // then climbs back in steps within the span that skip slot 5001 % 64,
    // and 5001 arrives late, 2 behind H: v1model cleared its history when
    // the window jumped, the ring still holds 5001's tag.
    const seqs: number[] = [];
    for (let q = 5000; q < 5010; q++) seqs.push(q);
    for (let q = 0; q < DEDUP_RESYNC; q++) seqs.push(q);
    seqs.push(1003, 2003, 3003, 4003, 5003);
    const got = seqs.map((q) => [ref.offer(q), tna.offer(q)]);
    expect(got.every(([a, b]) => a === b)).toBe(true);
    expect(got.slice(10, 10 + DEDUP_RESYNC).map(([a]) => a)).toEqual([...Array(DEDUP_RESYNC - 1).fill("out-of-window"), "new"]);
    expect([ref.offer(5001), tna.offer(5001)]).toEqual(["new", "duplicate"]);
  });
});
