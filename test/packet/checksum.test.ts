/**
 * The incremental checksum arithmetic (same as p4/include/csum16.p4) must
 * agree with recomputing from scratch, for any data and any replaced words.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checksumVerifies,
  csum16Add,
  csum16Fold32,
  csum16FoldBigInt,
  csum16Replace,
  csum16ReplaceUdp,
  internetChecksum,
  onesComplementSum,
  writeU16,
} from "../../src/packet/index.js";

/** A buffer of 16-bit words with a checksum field at word `at`. */
const wordsWithChecksum = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 40 }), fc.nat())
  .map(([words, at]) => ({ words, at: at % words.length }));

function toBytes(words: readonly number[]): Uint8Array {
  const b = new Uint8Array(words.length * 2);
  for (const [i, w] of words.entries()) writeU16(b, 2 * i, w);
  return b;
}

describe("ones' complement helpers", () => {
  it("csum16Add is commutative and 0 is neutral", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (a, b) => {
        expect(csum16Add(a, b)).toBe(csum16Add(b, a));
        expect(csum16Add(a, 0)).toBe(a);
      }),
    );
  });

  it("folds equal the sum of the bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => {
        const b = Uint8Array.of(x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
        expect(csum16Fold32(x) % 0xffff).toBe(onesComplementSum(b) % 0xffff);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (x) => {
        const b = new Uint8Array(16);
        for (let i = 0; i < 16; i++) b[i] = Number((x >> BigInt(8 * (15 - i))) & 0xffn);
        expect(csum16FoldBigInt(x) % 0xffff).toBe(onesComplementSum(b) % 0xffff);
      }),
    );
  });

  it("a computed checksum verifies", () => {
    fc.assert(
      fc.property(wordsWithChecksum, ({ words, at }) => {
        const b = toBytes(words);
        writeU16(b, 2 * at, 0);
        writeU16(b, 2 * at, internetChecksum(b));
        expect(checksumVerifies(b)).toBe(true);
      }),
    );
  });

  it("RFC 1624 incremental update equals recomputation", () => {
    fc.assert(
      fc.property(
        wordsWithChecksum,
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        ({ words, at }, replacement, start) => {
          const b = toBytes(words);
          writeU16(b, 2 * at, 0);
          const hc = internetChecksum(b);
          // Replace a run of words that does not include the checksum field.
          const others = words.map((_, i) => i).filter((i) => i !== at);
          const idx = others.slice(start % others.length, (start % others.length) + replacement.length);
          let oldSum = 0;
          let newSum = 0;
          const changed = [...words];
          changed[at] = 0;
          idx.forEach((i, k) => {
            oldSum = csum16Add(oldSum, words[i] ?? 0);
            newSum = csum16Add(newSum, replacement[k] ?? 0);
            changed[i] = replacement[k] ?? 0;
          });
          // An all-zero message has no valid checksum other than 0xffff, which
          // eqn. 3 cannot produce (RFC 1624 section 3); real headers are never
          // all zero (addresses, protocol, length).
          fc.pre(changed.some((w, i) => i !== at && w !== 0));
          const incremental = csum16Replace(hc, oldSum, newSum);
          const withIncremental = toBytes(changed);
          writeU16(withIncremental, 2 * at, incremental);
          expect(checksumVerifies(withIncremental)).toBe(true);
        },
      ),
    );
  });

  it("UDP variant keeps 0 and never yields 0", () => {
    expect(csum16ReplaceUdp(0, 0x1234, 0x4321)).toBe(0);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (hc, o, n) => {
          expect(csum16ReplaceUdp(hc, o, n)).not.toBe(0);
        },
      ),
    );
  });
});
