/**
 * A new last-hop session starts with empty dedup state: the controller's
 * reset list must name every state register of the dedup control in the
 * compiled program (p4/build), so a register added to the P4 control
 * cannot be left out of the reset.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadP4Info } from "../../src/p4runtime/p4info/load.js";
import { defaultBuildDir } from "../../src/controller/pipeline.js";
import { Bmv2Target, BMV2_DEDUP_REGISTERS } from "../../src/controller/targets/index.js";

describe("dedup reset on a new last-hop session (v1model)", () => {
  it("names every register of ingress.dedup in the compiled P4Info, once", async () => {
    const p4info = await loadP4Info(join(defaultBuildDir, "p4cast.p4info.txtpb"));
    const inProgram = p4info.registers.map((r) => r.preamble?.name ?? "").filter((n) => n.startsWith("ingress.dedup."));
    expect(inProgram.length).toBeGreaterThan(0);
    expect([...BMV2_DEDUP_REGISTERS].sort()).toEqual([...inProgram].sort());
  });

  it("the BMv2 target writes 0 to each of them at the session's index", () => {
    const writes = new Bmv2Target().dedupResetWrites(7);
    expect(writes).toEqual(BMV2_DEDUP_REGISTERS.map((register) => ({ register, index: 7, value: 0n })));
  });
});
