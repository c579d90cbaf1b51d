/**
 * Properties of the dedup window reference model (the switch's registers
 * must behave the same way): each sequence number is delivered at most once,
 * anything within 64 of the highest is judged exactly, wrap-around at 2^32
 * is invisible.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEDUP_WINDOW_BITS, DedupWindow, dedupStep, seqAfter, seqDiff } from "../../src/packet/index.js";

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
    expect(w.counters).toEqual({ delivered: 6, duplicate: 2, tooOld: 1, gap: 2n + 63n });
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
        expect(w.counters.delivered + w.counters.duplicate + w.counters.tooOld).toBe(offsets.length);
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
});
