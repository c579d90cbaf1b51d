/**
 * The TNA program's control-plane API against the v1model P4Info
 * (p4/build/p4cast.p4info.json). bf-p4c (which writes the TNA P4Info) is not
 * available, but p4test's mid-end output carries the fully qualified
 * @name of every table, action and extern instance, which is what P4Info
 * names are made of (@hidden ones are not control-plane objects). The only
 * differences allowed are the ones docs/tofino.md lists: the TNA dedup and
 * heartbeat registers, the pktgen objects, and the v1model-only objects of
 * the data-plane heartbeat verdicts. Skips like tna-p4test.test.ts without
 * p4test / tna.p4.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, expect, it } from "vitest";
import { describeWith } from "../support/skips.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const includeDir = process.env.TOFINO_INCLUDE ?? "";
const hasP4test = spawnSync("sh", ["-c", "command -v p4test"], { stdio: "ignore" }).status === 0;
const needs = [
  { tool: "p4test", missing: hasP4test ? undefined : "not on PATH (install p4c: https://github.com/p4lang/p4c)" },
  {
    tool: "TOFINO_INCLUDE",
    missing: !includeDir
      ? "not set (docs/tofino.md)"
      : !existsSync(join(includeDir, "tna.p4"))
        ? `no tna.p4 in ${includeDir} (docs/tofino.md)`
        : undefined,
  },
];

interface Api {
  tables: Map<string, { keys: string[]; actions: string[]; size: number }>;
  actions: Map<string, string[]>;
  registers: Map<string, { width: number; size: number }>;
  counters: Map<string, number>;
  meters: Map<string, number>;
}

/** The v1model API from p4c-bm2-ss's P4Info. */
function v1modelApi(): Api {
  interface J {
    tables: {
      preamble: { name: string };
      matchFields?: { name: string; bitwidth: number; matchType: string }[];
      actionRefs: { id: number }[];
      size: string;
    }[];
    actions: { preamble: { id: number; name: string }; params?: { name: string; bitwidth: number }[] }[];
    registers: { preamble: { name: string }; typeSpec: { bitstring: { bit: { bitwidth: number } } }; size: number }[];
    counters: { preamble: { name: string }; size: string }[];
    meters: { preamble: { name: string }; size: string }[];
  }
  const j = JSON.parse(readFileSync(join(root, "p4/build/p4cast.p4info.json"), "utf8")) as J;
  const byId = new Map(j.actions.map((a) => [a.preamble.id, a.preamble.name]));
  return {
    tables: new Map(
      j.tables.map((t) => [
        t.preamble.name,
        {
          keys: (t.matchFields ?? []).map((m) => `${m.name}:${m.matchType.toLowerCase()}:${m.bitwidth}`),
          actions: t.actionRefs.map((r) => byId.get(r.id)!).sort(),
          size: Number(t.size),
        },
      ]),
    ),
    actions: new Map(j.actions.map((a) => [a.preamble.name, (a.params ?? []).map((p) => `${p.name}:${p.bitwidth}`)])),
    registers: new Map(j.registers.map((r) => [r.preamble.name, { width: r.typeSpec.bitstring.bit.bitwidth, size: r.size }])),
    counters: new Map(j.counters.map((c) => [c.preamble.name, Number(c.size)])),
    meters: new Map(j.meters.map((m) => [m.preamble.name, Number(m.size)])),
  };
}

/** Width of a P4 type in the mid-end dump (bit<N>, or a typedef'd header field read from the key). */
function bits(type: string): number {
  const m = /bit<(\d+)>/.exec(type);
  if (!m) throw new Error(`not a bit<N> type: ${type}`);
  return Number(m[1]);
}

/** The TNA API from p4test's MidEndLast dump. */
function tnaApi(p4: string): Api {
  const actions = new Map<string, string[]>();
  const actionByLocal = new Map<string, string>();
  for (const [, hidden, name, local, paramList] of p4.matchAll(/(@hidden )?@name\("\.([^"]+)"\) action (\w+)\(([^\n]*?)\) \{/g)) {
    if (hidden) continue;
    const params = [...paramList!.matchAll(/@name\("(\w+)"\) (bit<\d+>)/g)].map((p) => `${p[1]}:${bits(p[2]!)}`);
    actions.set(name!, params);
    actionByLocal.set(local!, name!);
  }
  const tables = new Map<string, { keys: string[]; actions: string[]; size: number }>();
  for (const [, hidden, name, body] of p4.matchAll(/(@hidden )?@name\("\.([^"]+)"\) table \w+ \{([\s\S]*?)\n {4}\}/g)) {
    if (hidden) continue;
    const keyBlock = /key = \{([\s\S]*?)\}/.exec(body!)?.[1] ?? "";
    const keys = [...keyBlock.matchAll(/: (\w+) @name\("(\w+)"\)/g)].map((k) => `${k[2]}:${k[1]}`);
    const actionBlock = /actions = \{([\s\S]*?)\}/.exec(body!)?.[1] ?? "";
    const acts = [...actionBlock.matchAll(/(\w+)\(\)/g)].map((a) => actionByLocal.get(a[1]!) ?? a[1]!).sort();
    const size = Number(/size = (\d+)/.exec(body!)?.[1] ?? "0");
    tables.set(name!, { keys, actions: acts, size });
  }
  const registers = new Map<string, { width: number; size: number }>();
  for (const m of p4.matchAll(/@name\("\.([^"]+)"\) Register<(bit<\d+>), bit<32>>\(32w(\d+)\)/g))
    registers.set(m[1]!, { width: bits(m[2]!), size: Number(m[3]) });
  const counters = new Map<string, number>();
  for (const m of p4.matchAll(/@name\("\.([^"]+)"\) Counter<bit<\d+>, bit<32>>\(32w(\d+), CounterType_t\.PACKETS_AND_BYTES\)/g))
    counters.set(m[1]!, Number(m[2]));
  const meters = new Map<string, number>();
  for (const m of p4.matchAll(/@name\("\.([^"]+)"\) Meter<bit<32>>\(32w(\d+), MeterType_t\.BYTES\)/g)) meters.set(m[1]!, Number(m[2]));
  return { tables, actions, registers, counters, meters };
}

const diff = <T>(a: Map<string, T>, b: Map<string, T>) => [...a.keys()].filter((k) => !b.has(k)).sort();

/** The data-plane heartbeat verdicts' objects: v1model only (docs/tofino.md, "heartbeat.p4"). */
const v1modelOnly = {
  tables: ["ingress.heartbeat.heartbeat_tick_exact"],
  actions: ["ingress.heartbeat.heartbeat_request"],
  registers: ["ingress.heartbeat.hb_fanout_ts", "ingress.heartbeat.hb_state", "ingress.heartbeat.hb_tx_seq"],
};

describeWith("TNA control-plane API vs the v1model P4Info", needs, () => {
  let tna: Api;
  const v1 = v1modelApi();

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "p4cast-tna-dump-"));
    try {
      const run = spawnSync(
        "p4test",
        ["--std", "p4-16", "-D__TARGET_TOFINO__=1", "-I", includeDir, "p4/tna/p4cast_tna.p4", "--top4", "MidEndLast", "--dump", dir],
        { cwd: root, encoding: "utf8" },
      );
      expect(run.status, run.stderr).toBe(0);
      const file = readdirSync(dir).find((f) => f.includes("MidEndLast"))!;
      tna = tnaApi(readFileSync(join(dir, file), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("has every v1model table with the same keys, match kinds, actions and size; adds only the pktgen table", () => {
    expect(diff(v1.tables, tna.tables)).toEqual(v1modelOnly.tables);
    expect(diff(tna.tables, v1.tables)).toEqual(["pktgen.hb_pktgen_peer_exact"]);
    for (const [name, t] of v1.tables) {
      if (v1modelOnly.tables.includes(name)) continue;
      const u = tna.tables.get(name)!;
      expect(u.keys, name).toEqual(t.keys.map((k) => k.split(":").slice(0, 2).join(":")));
      expect(u.actions, name).toEqual(t.actions);
      expect(u.size, name).toBe(t.size);
    }
  });

  it("has every v1model action with the same parameters", () => {
    expect(diff(v1.actions, tna.actions)).toEqual(v1modelOnly.actions);
    for (const [name, params] of v1.actions) if (!v1modelOnly.actions.includes(name)) expect(tna.actions.get(name), name).toEqual(params);
    expect(diff(tna.actions, v1.actions)).toEqual(["pktgen.drop_unconfigured", "pktgen.hb_request_to_peer"]);
  });

  it("has the same counters and meters (plus pktgen's request counter)", () => {
    expect(diff(v1.counters, tna.counters)).toEqual([]);
    expect(diff(tna.counters, v1.counters)).toEqual(["pktgen.hb_request_counter"]);
    for (const [name, size] of v1.counters) expect(tna.counters.get(name), name).toBe(size);
    expect([...tna.meters]).toEqual([...v1.meters]);
  });

  it("differs in registers exactly as docs/tofino.md says", () => {
    expect(diff(v1.registers, tna.registers)).toEqual(["ingress.dedup.dedup_history", ...v1modelOnly.registers]);
    expect(diff(tna.registers, v1.registers)).toEqual(["ingress.dedup.dedup_slots", "ingress.dedup.dedup_valid", "pktgen.hb_tx_seq"]);
    const widths = Object.fromEntries(
      [...tna.registers]
        .filter(([n]) => v1.registers.has(n) && v1.registers.get(n)!.width !== tna.registers.get(n)!.width)
        .map(([n, r]) => [n, `${v1.registers.get(n)!.width}->${r.width}`]),
    );
    expect(widths).toEqual({ "ingress.dedup.dedup_gap": "64->32", "ingress.heartbeat.hb_last_seen_ts": "48->32" });
    expect(tna.registers.get("ingress.dedup.dedup_slots")).toEqual({ width: 32, size: 1024 * 64 });
    for (const [n, r] of tna.registers) expect(r.width, n).toBe(32); // every cell a 32-bit P4Runtime bitstring
  });
});
