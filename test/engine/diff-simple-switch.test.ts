/**
 * Differential tests: the same JSON, configuration and packets through the
 * real simple_switch and through the engine; outputs compared byte for byte
 * per port. Skipped unless simple_switch, simple_switch_CLI and p4c-bm2-ss
 * are installed.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { loadEngine, type Engine } from "../../src/switch/engine/index.js";
import { basicWorkload, biggerWorkload } from "../../bench/switch.js";
import { runSimpleSwitch } from "./simple-switch-runner.js";
import { NEED_P4C, NEED_SIMPLE_SWITCH, compileP4 } from "./toolchain.js";
import { describeWith, skipUnless } from "../support/skips.js";
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

const hex = (m: Map<number, Uint8Array[]>) =>
  Object.fromEntries([...m.entries()].sort((a, b) => a[0] - b[0]).map(([p, l]) => [p, l.map((d) => Buffer.from(d).toString("hex"))]));

describeWith("engine vs simple_switch, byte for byte", [NEED_SIMPLE_SWITCH], () => {
  for (const w of [basicWorkload(), biggerWorkload()]) {
    it(w.name, async () => {
      const pkts = [
        ...w.packets.slice(0, 64),
        ipv4Packet({ dst: 0x0b000001 }),
        ipv4Packet({ ttl: 1, dst: 0x0a000101 }),
        ipv4Packet({ ttl: 0, dst: 0x0a000201 }),
      ];
      const e = loadEngine(w.json);
      w.setup(e);
      const ours = engineOutputs(e, 1, pkts);
      const theirs = await runSimpleSwitch(w.json, w.cli, 1, pkts, [1, 2, 3, 4]);
      expect([...theirs.values()].flat().length).toBeGreaterThan(pkts.length / 2);
      expect(hex(ours)).toEqual(hex(theirs));
    }, 60_000);
  }

  it("features.p4: unicast, multicast, clone, resubmit, recirculate, varbit, stacks", async (ctx) => {
    skipUnless(ctx, [NEED_P4C]);
    const json = compileP4(readFileSync(join(import.meta.dirname, "p4", "features.p4"), "utf8"), "features");
    const cli = [
      "table_add I.fwd I.set_port 0x0800 => 2",
      "table_add I.fwd I.do_mcast 0x0801 => 9",
      "table_add I.fwd I.do_clone 0x0802 => 4 3",
      "table_add I.fwd I.do_resubmit 0x0803 =>",
      "table_add I.fwd I.do_recirc 0x0804 => 2",
      "table_add I.fwd I.set_port 0x88b5 => 2",
      "table_add I.fwd I.set_port 0x88b6 => 2",
      "table_add I.fwd I.do_clone 0x0806 => 5 3",
      "mirroring_add_mc 5 9",
      "mc_mgrp_create 9",
      "mc_node_create 1 1 3",
      "mc_node_create 7 2",
      "mc_node_associate 9 0",
      "mc_node_associate 9 1",
      "mirroring_add 4 8",
    ];
    const e = loadEngine(json);
    const add = (etype: number, action: string, ...args: number[]) =>
      e.addEntry("I.fwd", {
        key: [{ kind: "exact", value: BigInt(etype) }],
        priority: 0,
        action: { kind: "action", call: { action, args: args.map(BigInt) } },
      });
    add(0x0800, "I.set_port", 2);
    add(0x0801, "I.do_mcast", 9);
    add(0x0802, "I.do_clone", 4, 3);
    add(0x0803, "I.do_resubmit");
    add(0x0804, "I.do_recirc", 2);
    add(0x88b5, "I.set_port", 2);
    add(0x88b6, "I.set_port", 2);
    add(0x0806, "I.do_clone", 5, 3);
    e.setMulticastGroup(9, [
      { port: 1, rid: 1 },
      { port: 3, rid: 1 },
      { port: 2, rid: 7 },
    ]);
    e.setCloneSession(4, { replicas: [{ port: 8, rid: 0 }], truncateBytes: 0 });
    // a clone session through a multicast group (P4Runtime clone sessions with several replicas)
    e.setCloneSession(5, {
      replicas: [
        { port: 1, rid: 1 },
        { port: 3, rid: 1 },
        { port: 2, rid: 7 },
      ],
      truncateBytes: 0,
    });
    const frame = (etype: number, extra: number[] = []) => {
      const p = [2, 0, 0, 0, 0, 1, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, etype >> 8, etype & 0xff, ...extra];
      while (p.length < 40) p.push(p.length);
      return Uint8Array.from(p);
    };
    // the recirculating packet last: simple_switch may take later input packets through ingress before its second pass
    const pkts = [
      frame(0x0800),
      frame(0x0801),
      frame(0x0802),
      frame(0x0803),
      frame(0x88b5, [3, 1, 2, 3]),
      frame(0x88b5, [10, 1]),
      frame(0x88b6, [5, 7, 0, 9]),
      frame(0x9999),
      frame(0x0806),
      frame(0x0804),
    ];
    const ours = engineOutputs(e, 0, pkts);
    const theirs = await runSimpleSwitch(json, cli, 0, pkts, [1, 2, 3, 5, 6, 8]);
    expect([...theirs.values()].flat().length).toBe(15);
    expect(hex(ours)).toEqual(hex(theirs));
  }, 60_000);
});

describeWith("engine vs simple_switch on random traffic", [NEED_SIMPLE_SWITCH], () => {
  it("features.p4 with random frames (parser errors, stacks, varbit, hashes, selector, meter)", async (ctx) => {
    skipUnless(ctx, [NEED_P4C]);
    const json = compileP4(readFileSync(join(import.meta.dirname, "p4", "features.p4"), "utf8"), "features");
    const cli = [
      "table_add I.fwd I.set_port 0x0800 => 2",
      "table_add I.fwd I.do_mcast 0x0801 => 9",
      "table_add I.fwd I.set_port 0x88b5 => 3",
      "table_add I.fwd I.set_port 0x88b6 => 1",
      "mc_mgrp_create 9",
      "mc_node_create 4 1 2 3",
      "mc_node_associate 9 0",
    ];
    // an action selector group of five members, picked by crc16 of the source MAC
    for (let m = 0; m < 5; m++) cli.push(`act_prof_create_member I.as I.pick ${10 + m}`);
    cli.push("act_prof_create_group I.as");
    for (let m = 0; m < 5; m++) cli.push(`act_prof_add_member_to_group I.as ${m} 0`);
    cli.push("table_indirect_add_with_group I.sel_t 0x0800 => 0");
    // a meter that never refills: colours depend on the packet count only
    cli.push("meter_set_rates I.mt 0 0:20 0:60");
    const e = loadEngine(json);
    const add = (etype: number, action: string, ...args: number[]) =>
      e.addEntry("I.fwd", {
        key: [{ kind: "exact", value: BigInt(etype) }],
        priority: 0,
        action: { kind: "action", call: { action, args: args.map(BigInt) } },
      });
    add(0x0800, "I.set_port", 2);
    add(0x0801, "I.do_mcast", 9);
    add(0x88b5, "I.set_port", 3);
    add(0x88b6, "I.set_port", 1);
    e.setMulticastGroup(
      9,
      [1, 2, 3].map((port) => ({ port, rid: 4 })),
    );
    for (let m = 0; m < 5; m++) e.addMember("I.as", m, { action: "I.pick", args: [BigInt(10 + m)] });
    e.setGroup(
      "I.as",
      0,
      [0, 1, 2, 3, 4].map((member) => ({ member, weight: 1 })),
    );
    e.addEntry("I.sel_t", { key: [{ kind: "exact", value: 0x0800n }], priority: 0, action: { kind: "group", group: 0 } });
    e.setMeter("I.mt", 0, { cir: 0n, cburst: 20n, pir: 0n, pburst: 60n });
    let x = 12345;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const types = [0x0800, 0x0801, 0x88b5, 0x88b6, 0x1234];
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < 150; i++) {
      const len = 14 + rnd(40);
      const p = new Uint8Array(len);
      for (let k = 0; k < len; k++) p[k] = rnd(256);
      const t = types[rnd(types.length)]!;
      p[12] = t >> 8;
      p[13] = t & 0xff;
      if (t === 0x88b5 && len > 14) p[14] = rnd(12);
      if (t === 0x88b6) for (let k = 14; k < len; k++) if (rnd(3) === 0) p[k] = 0;
      pkts.push(rnd(10) === 0 ? p.subarray(0, rnd(14)) : p);
    }
    const ours = engineOutputs(e, 0, pkts);
    const theirs = await runSimpleSwitch(json, cli, 0, pkts, [1, 2, 3]);
    expect([...theirs.values()].flat().length).toBeGreaterThan(100);
    expect(hex(ours)).toEqual(hex(theirs));
  }, 60_000);
});

describeWith("engine vs simple_switch on the project's data plane", [NEED_SIMPLE_SWITCH], () => {
  const path = join(import.meta.dirname, "..", "..", "p4", "build", "p4cast.json");
  it("p4/build/p4cast.json: routes, multicast trees, session encapsulation, random frames", async (ctx) => {
    skipUnless(ctx, [{ tool: "p4/build/p4cast.json", missing: existsSync(path) ? undefined : "not built (make p4)" }]);
    const json = JSON.parse(readFileSync(path, "utf8"));
    const e = loadEngine(json);
    const cli: string[] = [];
    type K = { kind: "exact"; v: bigint } | { kind: "lpm"; v: bigint; len: number };
    const add = (table: string, keys: K[], action: string, args: bigint[]) => {
      e.addEntry(table, {
        key: keys.map((k) => (k.kind === "exact" ? { kind: "exact", value: k.v } : { kind: "lpm", value: k.v, prefixLength: k.len })),
        priority: 0,
        action: { kind: "action", call: { action, args } },
      });
      const keyText = keys.map((k) => (k.kind === "exact" ? `0x${k.v.toString(16)}` : `0x${k.v.toString(16)}/${k.len}`)).join(" ");
      cli.push(`table_add ${table} ${action} ${keyText} => ${args.map((a) => `0x${a.toString(16)}`).join(" ")}`);
    };
    add("ingress.l3.ipv4_lpm", [{ kind: "lpm", v: 0x0a000000n, len: 8 }], "ingress.l3.route_to_nexthop", [1n]);
    add("ingress.l3.ipv4_lpm", [{ kind: "lpm", v: 0x0a000100n, len: 24 }], "ingress.l3.route_to_nexthop", [2n]);
    add("ingress.l3.nexthop_exact", [{ kind: "exact", v: 1n }], "ingress.l3.forward_to_neighbor", [2n, 0x020000000001n, 0x020000000101n]);
    add("ingress.l3.nexthop_exact", [{ kind: "exact", v: 2n }], "ingress.l3.forward_to_neighbor", [3n, 0x020000000002n, 0x020000000202n]);
    add("ingress.tree.ipv4_mcast_exact", [{ kind: "exact", v: 0xe8010101n }], "ingress.tree.replicate_to_group", [7n]);
    add("egress.tree.mcast_replica_rid_exact", [{ kind: "exact", v: 5n }], "egress.tree.rewrite_replica_src_mac", [0x02000000aa05n]);
    add(
      "ingress.session.session_v4_exact",
      [
        { kind: "exact", v: 0x0a000105n },
        { kind: "exact", v: 5000n },
      ],
      "ingress.session.encap_session",
      [9n, 0xe8010101n, 0x0a0000fen, 7n, 10n],
    );
    e.setMulticastGroup(7, [
      { port: 2, rid: 5 },
      { port: 3, rid: 5 },
    ]);
    cli.push("mc_mgrp_create 7", "mc_node_create 5 2 3", "mc_node_associate 7 0");
    let x = 777;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    const pkts: Uint8Array[] = [];
    const withUdp = (p: Uint8Array, dport: number) => {
      if (p.length >= 42) {
        p[23] = 17;
        p[36] = dport >> 8;
        p[37] = dport & 0xff;
        p[38] = (p.length - 34) >> 8;
        p[39] = (p.length - 34) & 0xff;
      }
      return p;
    };
    for (let i = 0; i < 60; i++) {
      const dst = [0x0a000105, 0x0a000201, 0xe8010101, 0x0b000001][rnd(4)]!;
      pkts.push(withUdp(ipv4Packet({ dst, ttl: 1 + rnd(4), payload: 8 + rnd(40) }), rnd(2) ? 5000 : 1234));
    }
    for (let i = 0; i < 40; i++) {
      const len = 14 + rnd(80);
      const p = new Uint8Array(len);
      for (let k = 0; k < len; k++) p[k] = rnd(256);
      const t = [0x0800, 0x86dd, 0x0806, rnd(65536)][rnd(4)]!;
      p[12] = t >> 8;
      p[13] = t & 0xff;
      if (t === 0x0800 && len > 14) p[14] = 0x45;
      if (t === 0x86dd && len > 14) p[14] = 0x60;
      pkts.push(p);
    }
    const ours = engineOutputs(e, 1, pkts);
    const theirs = await runSimpleSwitch(json, cli, 1, pkts, [1, 2, 3, 255]);
    expect([...theirs.values()].flat().length).toBeGreaterThan(20);
    expect(hex(ours)).toEqual(hex(theirs));
  }, 60_000);
});
