/**
 * The project's own data plane (p4/build/p4cast.json, compiled by p4c from
 * p4/): it loads, and random or malformed frames never make the engine throw.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { describeWith } from "../support/skips.js";
import { loadEngine } from "../../src/switch/engine/index.js";
import { ipv4Packet } from "./fixtures.js";

const PATH = join(import.meta.dirname, "..", "..", "p4", "build", "p4cast.json");

describeWith(
  "p4/build/p4cast.json",
  [{ tool: "p4/build/p4cast.json", missing: existsSync(PATH) ? undefined : "not built (make p4)" }],
  () => {
    const json = existsSync(PATH) ? JSON.parse(readFileSync(PATH, "utf8")) : undefined;
    it("loads, and every table is visible through the runtime API", () => {
      const e = loadEngine(json);
      for (const p of json.pipelines) for (const t of p.tables) expect(e.table(t.name).name).toBe(t.name);
    });
    it("never throws on random frames", () => {
      const e = loadEngine(json, { clock: () => 0n });
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 200 }),
          fc.integer({ min: 0, max: 255 }),
          fc.constantFrom(0x0800, 0x86dd, 0x0806, 0x88b5, -1),
          (bytes, port, etype) => {
            const b = bytes.length >= 14 ? Uint8Array.from(bytes) : Uint8Array.from([...bytes, ...new Uint8Array(14)]);
            if (etype >= 0) {
              b[12] = etype >> 8;
              b[13] = etype & 0xff;
            }
            if (etype === 0x0800 && b.length > 14) b[14] = 0x45;
            if (etype === 0x86dd && b.length > 14) b[14] = 0x60;
            e.process(port, b);
          },
        ),
        { numRuns: 1500 },
      );
      expect(() => e.process(1, ipv4Packet())).not.toThrow();
    });
  },
);
