/**
 * The hand-written "basic" fixture against the same program compiled by the
 * real p4c-bm2-ss (p4/basic.p4): identical outputs on the same packets.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { loadEngine } from "../../src/switch/engine/index.js";
import { basicWorkload } from "../../bench/switch.js";
import { ipv4Packet } from "./fixtures.js";
import { NEED_P4C, compileP4 } from "./toolchain.js";
import { describeWith } from "../support/skips.js";

describeWith("basic.p4 compiled by p4c vs the hand-written fixture", [NEED_P4C], () => {
  it("produce the same packets", () => {
    const compiled = compileP4(readFileSync(join(import.meta.dirname, "p4", "basic.p4"), "utf8"), "basic");
    const w = basicWorkload();
    const a = loadEngine(w.json);
    const b = loadEngine(compiled);
    w.setup(a);
    w.setup(b);
    const pkts = [...w.packets.slice(0, 100)];
    for (let ttl = 0; ttl < 3; ttl++) pkts.push(ipv4Packet({ ttl, dst: 0x0a000105 }));
    pkts.push(ipv4Packet({ dst: 0x0c000001 }), Uint8Array.from([1, 2, 3]), new Uint8Array(14));
    for (const p of pkts) expect(b.process(1, p)).toEqual(a.process(1, p));
  });
});
