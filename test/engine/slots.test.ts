/**
 * Table entry slots (src/switch/engine/slots.ts): whatever the order of
 * takes and releases, the slot given out is the lowest free one, as BMv2's
 * handle manager does (property against a set of used slots).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SlotAllocator } from "../../src/switch/engine/slots.js";

describe("entry slots", () => {
  it("always the lowest free slot (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant("take" as const), fc.nat(60)), { maxLength: 400 }), (ops) => {
        const a = new SlotAllocator();
        const used = new Set<number>();
        for (const op of ops) {
          if (op === "take") {
            let lowest = 0;
            while (used.has(lowest)) lowest++;
            expect(a.take()).toBe(lowest);
            used.add(lowest);
          } else if (used.size > 0) {
            // Release one of the used slots, chosen by the number.
            const slot = [...used].sort((x, y) => x - y)[op % used.size]!;
            used.delete(slot);
            a.release(slot);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
