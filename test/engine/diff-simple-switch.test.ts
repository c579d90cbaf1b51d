/**
 * Differential tests: the same JSON, configuration and packets through the
 * real simple_switch and through the engine; outputs compared byte for byte
 * per port. Skipped unless simple_switch, simple_switch_CLI and p4c-bm2-ss
 * are installed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipeline, type Engine } from "../../src/switch/engine/index.js";
import { basicWorkload, biggerWorkload } from "../../bench/switch.js";
import { runSimpleSwitch } from "./simple-switch-runner.js";
import { HAVE_P4C, HAVE_SIMPLE_SWITCH, compileP4 } from "./toolchain.js";
import { ipv4Packet } from "./fixtures.js";

function engineOutputs(e: Engine, port: number, packets: readonly Uint8Array[]): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  for (const p of packets)
    for (const o of e.process(port, p)) {
      const l = out.get(o.port) ?? [];
      l.push(o.data);
      out.set(o.port, l);
    }
  return out;
}

const hex = (m: Map<number, Uint8Array[]>) => Object.fromEntries([...m.entries()].sort((a, b) => a[0] - b[0]).map(([p, l]) => [p, l.map((d) => Buffer.from(d).toString("hex"))]));

describe.skipIf(!HAVE_SIMPLE_SWITCH)("engine vs simple_switch, byte for byte", () => {
  for (const w of [basicWorkload(), biggerWorkload()]) {
    it(w.name, async () => {
      const pkts = [...w.packets.slice(0, 64), ipv4Packet({ dst: 0x0b000001 }), ipv4Packet({ ttl: 1, dst: 0x0a000101 }), ipv4Packet({ ttl: 0, dst: 0x0a000201 })];
      const e = loadPipeline(w.json);
      w.setup(e);
      const ours = engineOutputs(e, 1, pkts);
      const theirs = await runSimpleSwitch(w.json, w.cli, 1, pkts, [1, 2, 3, 4]);
      expect([...theirs.values()].flat().length).toBeGreaterThan(pkts.length / 2);
      expect(hex(ours)).toEqual(hex(theirs));
    }, 60_000);
  }

  it.skipIf(!HAVE_P4C)("features.p4: unicast, multicast, clone, resubmit, recirculate, varbit, stacks", async () => {
    const json = compileP4(readFileSync(join(import.meta.dirname, "p4", "features.p4"), "utf8"), "features");
    const cli = [
      "table_add I.fwd I.set_port 0x0800 => 2",
      "table_add I.fwd I.do_mcast 0x0801 => 9",
      "table_add I.fwd I.do_clone 0x0802 => 4 3",
      "table_add I.fwd I.do_resubmit 0x0803 =>",
      "table_add I.fwd I.do_recirc 0x0804 => 2",
      "table_add I.fwd I.set_port 0x88b5 => 2",
      "table_add I.fwd I.set_port 0x88b6 => 2",
      "mc_mgrp_create 9",
      "mc_node_create 1 1 3",
      "mc_node_create 7 2",
      "mc_node_associate 9 0",
      "mc_node_associate 9 1",
      "mirroring_add 4 8",
    ];
    const e = loadPipeline(json);
    const add = (etype: number, action: string, ...args: number[]) => e.addEntry("I.fwd", { key: [{ kind: "exact", value: BigInt(etype) }], priority: 0, action: { kind: "action", call: { action, args: args.map(BigInt) } } });
    add(0x0800, "I.set_port", 2);
    add(0x0801, "I.do_mcast", 9);
    add(0x0802, "I.do_clone", 4, 3);
    add(0x0803, "I.do_resubmit");
    add(0x0804, "I.do_recirc", 2);
    add(0x88b5, "I.set_port", 2);
    add(0x88b6, "I.set_port", 2);
    e.setMulticastGroup(9, [
      { port: 1, rid: 1 },
      { port: 3, rid: 1 },
      { port: 2, rid: 7 },
    ]);
    e.setCloneSession(4, { replicas: [{ port: 8, rid: 0 }], truncateBytes: 0 });
    const frame = (etype: number, extra: number[] = []) => {
      const p = [2, 0, 0, 0, 0, 1, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, etype >> 8, etype & 0xff, ...extra];
      while (p.length < 40) p.push(p.length);
      return Uint8Array.from(p);
    };
    // the recirculating packet last: simple_switch may take later input packets through ingress before its second pass
    const pkts = [frame(0x0800), frame(0x0801), frame(0x0802), frame(0x0803), frame(0x88b5, [3, 1, 2, 3]), frame(0x88b5, [10, 1]), frame(0x88b6, [5, 7, 0, 9]), frame(0x9999), frame(0x0804)];
    const ours = engineOutputs(e, 0, pkts);
    const theirs = await runSimpleSwitch(json, cli, 0, pkts, [1, 2, 3, 5, 6, 8]);
    expect([...theirs.values()].flat().length).toBe(11);
    expect(hex(ours)).toEqual(hex(theirs));
  }, 60_000);
});
