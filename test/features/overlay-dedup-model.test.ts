/**
 * Properties of the dedup window reference model (the switch's registers
 * must behave the same way): each sequence number is delivered at most once,
 * anything within 64 of the highest is judged exactly, wrap-around at 2^32
 * is invisible; nothing farther than DEDUP_SPAN moves the window except a
 * run of DEDUP_RESYNC agreeing packets.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEDUP_RESYNC, DEDUP_SPAN, DEDUP_WINDOW_BITS, DedupWindow, dedupStep, seqAfter, seqDiff } from "./support/overlay-dedup-model.js";

const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe("serial-number arithmetic", () => {
  it("wraps modulo 2^32", () => {
    expect(seqDiff(0, 0xffffffff)).toBe(1);
    expect(seqAfter(0, 0xffffffff)).toBe(true);
    expect(seqAfter(0xffffffff, 0)).toBe(false);
    expect(seqAfter(0x80000000, 0)).toBe(false); // undefined in RFC 1982: treated as not after
    expect(seqAfter(0x7fffffff, 0)).toBe(true);
  });
});

describe("dedup window", () => {
  it("fixed sequence: in order, duplicate, reorder, too old, gap", () => {
    const w = new DedupWindow();
    expect(w.offer(100)).toBe("new");
    expect(w.offer(101)).toBe("new");
    expect(w.offer(101)).toBe("duplicate");
    expect(w.offer(104)).toBe("new"); // skips 102, 103
    expect(w.counters.gap).toBe(2n);
    expect(w.offer(102)).toBe("new"); // late, fills a hole
    expect(w.offer(102)).toBe("duplicate");
    expect(w.offer(104 + 64)).toBe("new");
    expect(w.offer(104)).toBe("too-old"); // 64 behind
    expect(w.offer(105)).toBe("new"); // 63 behind, never seen
    expect(w.counters).toEqual({ delivered: 6, duplicate: 2, tooOld: 1, outOfWindow: 0, gap: 2n + 63n });
  });

  it("wraps around 2^32", () => {
    const w = new DedupWindow();
    expect(w.offer(0xfffffffe)).toBe("new");
    expect(w.offer(0xffffffff)).toBe("new");
    expect(w.offer(0)).toBe("new");
    expect(w.offer(1)).toBe("new");
    expect(w.offer(0xffffffff)).toBe("duplicate");
    expect(w.counters.gap).toBe(0n);
    expect(w.state.highest).toBe(1);
    expect(w.registers().history).toBe(0b1111n);
  });

  it("delivers each sequence number at most once, whatever the order and copies", () => {
    fc.assert(
      fc.property(u32, fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 300 }), (base, offsets) => {
        const w = new DedupWindow();
        const delivered = new Set<number>();
        for (const o of offsets) {
          const q = (base + o) >>> 0;
          if (w.offer(q) === "new") {
            expect(delivered.has(q)).toBe(false);
            delivered.add(q);
          }
        }
        expect(w.counters.delivered).toBe(delivered.size);
        expect(w.counters.delivered + w.counters.duplicate + w.counters.tooOld + w.counters.outOfWindow).toBe(offsets.length);
      }),
    );
  });

  it("in-window copies are judged exactly (no false duplicates, no false too-old)", () => {
    fc.assert(
      fc.property(u32, fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 200 }), (base, offsets) => {
        // Offsets within 40 of each other never leave the 64-wide window.
        const w = new DedupWindow();
        const seen = new Set<number>();
        for (const o of offsets) {
          const q = (base + o) >>> 0;
          const verdict = w.offer(q);
          expect(verdict).toBe(seen.has(q) ? "duplicate" : "new");
          seen.add(q);
        }
      }),
    );
  });

  it("is invariant under shifting all sequence numbers (wrap-around is invisible)", () => {
    fc.assert(
      fc.property(u32, u32, fc.array(u32, { maxLength: 100 }), (base, shift, seqs) => {
        const a = new DedupWindow();
        const b = new DedupWindow();
        for (const s of seqs) {
          const q = (base + (s % 1000)) >>> 0;
          expect(b.offer((q + shift) >>> 0)).toBe(a.offer(q));
        }
        expect(b.counters).toEqual(a.counters);
      }),
    );
  });

  it("bit 0 of the history is set once anything was accepted; the history fits 64 bits", () => {
    fc.assert(
      fc.property(fc.array(u32, { minLength: 1, maxLength: 100 }), (seqs) => {
        let state = { highest: 0, history: 0n };
        for (const q of seqs) {
          state = dedupStep(state, q).state;
          expect(state.history & 1n).toBe(1n);
          expect(state.history >> BigInt(DEDUP_WINDOW_BITS)).toBe(0n);
        }
      }),
    );
  });

  it("gap counts the numbers skipped by each advance", () => {
    fc.assert(
      fc.property(u32, fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 50 }), (start, steps) => {
        const w = new DedupWindow();
        w.offer(start);
        let q = start;
        let expected = 0n;
        for (const s of steps) {
          q = (q + s) >>> 0;
          w.offer(q);
          expected += BigInt(s - 1);
        }
        expect(w.counters.gap).toBe(expected);
      }),
    );
  });

  it("an out-of-window sequence number does not move the window; N agreeing ones resync", () => {
    const w = new DedupWindow();
    for (let q = 100; q < 110; q++) expect(w.offer(q)).toBe("new");
    // 2^31 ahead (the forged packet of the issue): dropped, H stays.
    expect(w.offer(100 + 0x80000000)).toBe("out-of-window");
    expect(w.state.highest).toBe(109);
    for (let q = 110; q < 160; q++) expect(w.offer(q), `seq ${q}`).toBe("new");
    // Just beyond the span ahead and behind: out of window; at the span: normal.
    expect(w.offer(159 + DEDUP_SPAN + 1)).toBe("out-of-window");
    expect(w.offer((159 - DEDUP_SPAN - 1) >>> 0)).toBe("out-of-window");
    expect(w.offer(159 - DEDUP_SPAN)).toBe("too-old");
    expect(w.state.highest).toBe(159);
    expect(w.offer(160)).toBe("new");
    // A run of N: the first N - 1 are dropped, the N-th resyncs, the rest follow.
    const far = 5_000_000;
    for (let i = 0; i < DEDUP_RESYNC - 1; i++) expect(w.offer(far + i)).toBe("out-of-window");
    expect(w.offer(far + DEDUP_RESYNC - 1)).toBe("new");
    expect(w.state.highest).toBe(far + DEDUP_RESYNC - 1);
    expect(w.offer(far + DEDUP_RESYNC)).toBe("new");
    // The run's earlier packets were dropped, not delivered: their late copies are new.
    expect(w.offer(far)).toBe("new");
    expect(w.counters.gap).toBe(0n);
  });

  it("a restarted sender (sequence back to 0) is followed after N packets, copies and reordering included", () => {
    const w = new DedupWindow();
    for (let q = 70_000; q < 70_100; q++) w.offer(q);
    const verdicts: string[] = [];
    for (const q of [0, 0, 1, 2, 1, 3, 3, 4, 5]) verdicts.push(w.offer(q));
    expect(verdicts).toEqual([
      "out-of-window",
      "out-of-window",
      "out-of-window",
      "out-of-window",
      "out-of-window",
      "new",
      "duplicate",
      "new",
      "new",
    ]);
  });

  it("too-old and out-of-window copies behind never move the window", () => {
    fc.assert(
      fc.property(u32, fc.array(fc.integer({ min: DEDUP_WINDOW_BITS, max: 0x7fffffff }), { maxLength: 50 }), (base, backs) => {
        const w = new DedupWindow();
        w.offer(base);
        w.offer((base + 1) >>> 0);
        for (const b of backs) {
          const v = w.offer((base + 1 - b) >>> 0);
          expect(v === "too-old" || v === "out-of-window" || v === "new").toBe(true);
          // Only a resync (a run of N far behind) may move it, and then it moved to that run.
          if (v !== "new") expect(w.state.highest).toBe((base + 1) >>> 0);
        }
      }),
    );
  });

  it("forged sequence numbers far from the stream, in bursts shorter than N, never cost a legitimate in-order packet", () => {
    const far = fc.integer({ min: DEDUP_SPAN + DEDUP_WINDOW_BITS + 1000, max: 0xffffffff - (DEDUP_SPAN + DEDUP_WINDOW_BITS + 1000) });
    fc.assert(
      fc.property(
        u32,
        fc.array(fc.tuple(fc.boolean(), fc.array(far, { maxLength: DEDUP_RESYNC - 1 })), { minLength: 1, maxLength: 120 }),
        (base, steps) => {
          // The first packet of an empty window sets it, whatever it is: that one
          // must come from a trusted neighbour (the trust tables' job).
          const w = new DedupWindow();
          expect(w.offer(base)).toBe("new");
          let next = (base + 1) >>> 0;
          for (const [copy, forged] of steps) {
            for (const f of forged) w.offer((next + f) >>> 0); // far from every legitimate number (< 200 of them)
            expect(w.offer(next), `legit ${next}`).toBe("new");
            if (copy) expect(w.offer(next)).toBe("duplicate"); // the other path's copy
            next = (next + 1) >>> 0;
          }
        },
      ),
    );
  });
});
