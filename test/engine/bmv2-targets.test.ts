/**
 * Ports of behavioral-model's own simple_switch tests (packet_redirect,
 * parser_error, recirc), run on the p4c-compiled JSON files of a
 * behavioral-model source tree named by BMV2_SRC (a checkout, or a git
 * directory read at HEAD). Without it the suites skip and say so; nothing
 * from behavioral-model is committed.
 */
import { expect, it } from "vitest";
import { loadEngine, type Engine, type MatchValue } from "../../src/switch/engine/index.js";
import { describeWith } from "../support/skips.js";
import { BMV2_SRC, NEED_BMV2_SRC } from "./toolchain.js";

const json = (p: string): unknown => {
  if (typeof BMV2_SRC === "string") throw new Error(BMV2_SRC);
  return JSON.parse(BMV2_SRC.read(p));
};
if (typeof BMV2_SRC !== "string") console.log(`[p4cast tests] behavioral-model tests from ${BMV2_SRC.describe()}`);

const ex = (v: number): MatchValue => ({ kind: "exact", value: BigInt(v) });
const tern = (v: number, m: number): MatchValue => ({ kind: "ternary", value: BigInt(v), mask: BigInt(m) });
const act = (action: string, ...args: number[]) => ({ kind: "action" as const, call: { action, args: args.map(BigInt) } });
const ports = (e: Engine, port: number, pkt: number[]) => e.process(port, Uint8Array.from(pkt));

describeWith("behavioral-model simple_switch tests: packet_redirect.json", [NEED_BMV2_SRC], () => {
  const load = () => {
    const e = loadEngine(json("targets/simple_switch/tests/testdata/packet_redirect.json"));
    // the C++ fixture's SetUp()
    e.setDefaultAction("t_ingress_1", act("_nop"));
    e.setDefaultAction("t_ingress_2", act("_nop"));
    e.setDefaultAction("t_egress", act("_nop"));
    e.setDefaultAction("t_exit", act("set_hdr"));
    return e;
  };

  it("Baseline: packet_length updated after remove_header", () => {
    const e = load();
    e.addEntry("t_ingress_1", { key: [ex(1), ex(0)], priority: 0, action: act("_set_port", 2) });
    const out = ports(e, 1, [1, 0, 0, 0]);
    expect(out.map((o) => o.port)).toEqual([2]);
    expect(out[0]!.data[1]).toBe(2);
  });

  it("Multicast: copies carry the updated packet_length", () => {
    const e = load();
    e.addEntry("t_ingress_1", { key: [ex(2), ex(0)], priority: 0, action: act("_multicast", 1) });
    e.setMulticastGroup(1, [
      { port: 1, rid: 1 },
      { port: 2, rid: 2 },
    ]);
    const out = ports(e, 1, [2, 0, 0, 0]);
    expect(out.map((o) => o.port).sort()).toEqual([1, 2]);
    for (const o of out) expect(o.data[1]).toBe(2);
  });

  it("CloneI2E: the clone is the original packet (length 4)", () => {
    const e = load();
    e.addEntry("t_ingress_1", { key: [ex(3), ex(0)], priority: 0, action: act("_set_port", 2) });
    e.addEntry("t_ingress_2", { key: [ex(3), tern(0, 0)], priority: 1, action: act("_clone_i2e", 1) });
    e.setCloneSession(1, { replicas: [{ port: 3, rid: 0 }], truncateBytes: 0 });
    const out = ports(e, 1, [3, 0, 0, 0]);
    expect(out.map((o) => o.port).sort()).toEqual([2, 3]);
    for (const o of out) expect(o.data[1]).toBe(o.port === 2 ? 2 : 4);
  });

  it("CloneE2E: the clone inherits the egress packet_length", () => {
    const e = load();
    e.addEntry("t_ingress_1", { key: [ex(4), ex(0)], priority: 0, action: act("_set_port", 2) });
    e.addEntry("t_egress", { key: [ex(4), tern(0, 0xffffffff), tern(0, 0xff)], priority: 1, action: act("_clone_e2e", 1) });
    e.setCloneSession(1, { replicas: [{ port: 3, rid: 0 }], truncateBytes: 0 });
    const out = ports(e, 1, [4, 0, 0, 0]);
    expect(out.map((o) => o.port).sort()).toEqual([2, 3]);
    for (const o of out) expect(o.data[1]).toBe(2);
  });

  it("Resubmit: the resubmitted metadata selects the second port", () => {
    const e = load();
    e.addEntry("t_ingress_1", { key: [ex(5), ex(0)], priority: 0, action: act("_set_port", 2) });
    e.addEntry("t_ingress_1", { key: [ex(5), ex(1)], priority: 0, action: act("_set_port", 3) });
    e.addEntry("t_ingress_2", { key: [ex(5), tern(0, 0xffffffff)], priority: 1, action: act("_resubmit") });
    const out = ports(e, 1, [5, 0, 0, 0]);
    expect(out.map((o) => o.port)).toEqual([3]);
    expect(out[0]!.data[1]).toBe(2);
  });

  it("Recirculate: the recirculated packet selects the second port", () => {
    const e = load();
    e.addEntry("t_ingress_1", { key: [ex(6), ex(0)], priority: 0, action: act("_set_port", 2) });
    e.addEntry("t_ingress_1", { key: [ex(6), ex(1)], priority: 0, action: act("_set_port", 3) });
    e.addEntry("t_egress", { key: [ex(6), tern(0, 0xffffffff), tern(0, 0xff)], priority: 1, action: act("_recirculate") });
    const out = ports(e, 1, [6, 0, 0, 0, 0, 0]);
    expect(out.map((o) => o.port)).toEqual([3]);
    expect(out[0]!.data[1]).toBe(2);
  });

  it("ExitIngress: exit skips the rest of ingress", () => {
    const e = load();
    e.addEntry("t_ingress_1", { key: [ex(7), ex(0)], priority: 0, action: act("_exit") });
    const out = ports(e, 1, [7, 0, 0, 0]);
    expect(out.map((o) => o.port)).toEqual([0]);
  });
});

describeWith("behavioral-model simple_switch tests: parser_error.json", [NEED_BMV2_SRC], () => {
  const e: Engine | undefined = loadEngine(json("targets/simple_switch/tests/testdata/parser_error.json"));
  it("NoError", () => {
    const out = ports(e!, 1, [0, 0, 0, 0]);
    expect(out.map((o) => [o.port, o.data.length, o.data[3]])).toEqual([[1, 4, 0]]);
  });
  it("PacketTooShort", () => {
    const out = ports(e!, 1, [0, 0]);
    expect(out.map((o) => [o.port, o.data.length, o.data[3]])).toEqual([[1, 6, 1]]);
  });
  it("CustomError", () => {
    const out = ports(e!, 1, [0, 0, 0, 0xab]);
    expect(out.map((o) => [o.port, o.data.length, o.data[3]])).toEqual([[1, 4, 2]]);
  });
});

describeWith("behavioral-model simple_switch tests: recirc.json", [NEED_BMV2_SRC], () => {
  it("Recirc", () => {
    const e = loadEngine(json("targets/simple_switch/tests/testdata/recirc.json"));
    const out = ports(e, 1, [0]);
    expect(out.map((o) => [o.port, o.data.length, o.data[1]])).toEqual([[1, 2, 0xab]]);
  });
});
