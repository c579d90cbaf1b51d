/**
 * The TNA dedup window (p4/tna/overlay_dedup.p4: dedup_valid, dedup_highest,
 * a ring of 64 sequence tags per session, dedup_gap) modelled RegisterAction
 * by RegisterAction, against the v1model reference (src/packet/dedup-window.ts):
 * the same verdicts and gap on random streams with duplicates, reordering,
 * losses, big jumps and the 2^32 boundary, except the documented corners:
 * q = 2^32 - 1 arriving behind into a never-written slot, and a tag left
 * from a full 2^32 cycle earlier (the ring is never cleared on a jump).
 */
import { describe, expect, it } from "vitest";
import { DedupWindow, type DedupVerdict } from "../../src/packet/dedup-window.js";

const WINDOW = 64;

/** One session of the TNA layout; each method is one RegisterAction (one stage). */
class TnaRing {
  valid = 0;
  highest = 0;
  readonly slots = new Uint32Array(WINDOW);
  gap = 0;

  offer(q: number): DedupVerdict {
    q >>>= 0;
    // stage 1: dedup_open
    const wasOpen = this.valid;
    this.valid = 1;
    // stage 2: dedup_advance (serial comparison = sign of the 32-bit difference)
    let d: number;
    if (wasOpen === 0) {
      d = 1;
      this.highest = q;
    } else if ((((q - this.highest) | 0) > 0)) {
      d = (q - this.highest) >>> 0;
      this.highest = q;
    } else {
      d = (q - this.highest) >>> 0;
    }
    // stage 3: match-action verdict
    let verdict: DedupVerdict = "new";
    let ahead = false;
    let mark = false;
    let gapInc = 0;
    if (d === 0) verdict = "duplicate";
    else if (d >>> 31 === 0) {
      ahead = true;
      mark = true;
      gapInc = d - 1;
    } else if (((0 - d) >>> 0) >= WINDOW) verdict = "too-old";
    else mark = true;
    // stage 4: dedup_mark and dedup_gap_add
    if (mark) {
      const slot = q % WINDOW;
      const tag = this.slots[slot]!;
      let seen = 0;
      if (((tag - q) >>> 0) === 1) seen = 1;
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
    else if (x < 0.7 && out.length) out.push(out[Math.floor(r() * out.length)]!); // duplicate of anything seen
    else if (x < 0.82) out.push((next - 1 - Math.floor(r() * 80)) >>> 0); // late, maybe too old
    else if (x < 0.92) next = (next + 1 + Math.floor(r() * 10)) >>> 0; // loss
    else if (x < 0.97) next = (next + 60 + Math.floor(r() * 20)) >>> 0; // jump around the window size
    else next = (next + Math.floor(r() * 2 ** 20)) >>> 0; // far jump (the stream stays well below one 2^32 wrap)
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

  it("corner: a tag from one full 2^32 cycle earlier survives jumps and matches again", () => {
    const ref = new DedupWindow();
    const tna = new TnaRing();
    // 10 accepted, then the window jumps ahead (>= 64 each time) around the whole
    // sequence space without any acceptance in slot 10 mod 64, and 10 comes back
    // behind 12 (ahead packets are always new, as in v1model).
    const seqs = [10, 20, 0x40000000, 0x80000000 - 1, 0xc0000000, 0xfffffff0, 12, 10];
    const got = seqs.map((q) => [ref.offer(q), tna.offer(q)]);
    expect(got.at(-1)).toEqual(["new", "duplicate"]);
    expect(got.slice(0, -1).every(([a, b]) => a === b)).toBe(true);
  });
});
