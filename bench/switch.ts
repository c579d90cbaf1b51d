/**
 * Packet-engine benchmark: packets per second of the embedded switch on a
 * plain IPv4 forwarding program (p4lang/tutorials "basic" style) and on a
 * bigger one (ACL, counters, UDP checksum, MAC rewrite). When simple_switch is
 * on PATH the same JSON and packets run through it (--use-files, logging
 * off) and the ratio is reported.
 *
 * Run: npx tsx bench/switch.ts, or npx vitest bench bench/switch.bench.ts --run
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadEngine, type Engine } from "../src/switch/engine/index.js";
import { readPcap as readPcapFile, writePcapFile } from "../src/switch/ports/pcap.js";
import { SS_BIN, SS_CLI } from "../test/engine/toolchain.js";
import { endToEndUnavailable, measureEndToEnd, SWITCH_LABEL, type EndToEndProgram, type EndToEndResult } from "./switch-end-to-end.js";
import {
  ETHERNET,
  IPV4,
  type J,
  assign,
  basicProgram,
  expr,
  f,
  headerType,
  hex,
  ipv4Packet,
  prim,
  rd,
  table,
} from "../test/engine/fixtures.js";

export interface Workload {
  readonly name: string;
  readonly json: J;
  /** Programs the engine. */
  readonly setup: (e: Engine) => void;
  /** The same, as simple_switch_CLI commands. */
  readonly cli: string[];
  readonly packets: Uint8Array[];
}

function packets(n: number, routes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++)
    out.push(ipv4Packet({ dst: 0x0a000000 + ((i % routes) << 8) + 1 + (i % 200), src: 0xc0a80000 + i, payload: 46 }));
  return out;
}

const nextHopMac = (r: number) => `00:00:00:00:01:${(r % 256).toString(16).padStart(2, "0")}`;

export function basicWorkload(): Workload {
  const routes = 64;
  const cli: string[] = [];
  for (let r = 0; r < routes; r++)
    cli.push(`table_add MyIngress.ipv4_lpm MyIngress.ipv4_forward 10.0.${r}.0/24 => ${nextHopMac(r)} ${1 + (r % 4)}`);
  return {
    name: "basic IPv4 forwarding",
    json: basicProgram(),
    setup: (e) => {
      for (let r = 0; r < routes; r++)
        e.addEntry("MyIngress.ipv4_lpm", {
          key: [{ kind: "lpm", value: BigInt(0x0a000000 + (r << 8)), prefixLength: 24 }],
          priority: 0,
          action: { kind: "action", call: { action: "MyIngress.ipv4_forward", args: [BigInt(0x100 + r), BigInt(1 + (r % 4))] } },
        });
    },
    cli,
    packets: packets(256, routes),
  };
}

/** basic + UDP header + a ternary ACL + per-port counters + MAC rewrite in egress. */
export function biggerProgram(): J {
  const j = basicProgram();
  j.header_types.push(
    headerType("udp_t", 4, [
      ["srcPort", 16, false],
      ["dstPort", 16, false],
      ["length_", 16, false],
      ["checksum", 16, false],
    ]),
  );
  j.header_types.push(
    headerType("meta_t", 5, [
      ["acl_hit", 1, false],
      ["nhop", 16, false],
      ["_pad", 7, false],
    ]),
  );
  j.headers.push({ name: "udp", id: 4, header_type: "udp_t", metadata: false });
  j.headers.push({ name: "meta", id: 5, header_type: "meta_t", metadata: true });
  j.parsers[0].parse_states[1].transition_key = [f("ipv4", "protocol")];
  j.parsers[0].parse_states[1].transitions = [
    { type: "hexstr", value: "0x11", mask: null, next_state: "parse_udp" },
    { type: "default", value: null, mask: null, next_state: null },
  ];
  j.parsers[0].parse_states.push({
    name: "parse_udp",
    id: 2,
    parser_ops: [{ op: "extract", parameters: [{ type: "regular", value: "udp" }] }],
    transitions: [{ type: "default", value: null, mask: null, next_state: null }],
    transition_key: [],
  });
  j.deparsers[0].order = ["ethernet", "ipv4", "udp"];
  j.counter_arrays = [{ name: "port_ctr", id: 0, is_direct: false, size: 512 }];
  j.actions.push(
    { name: "acl_permit", id: 3, runtime_data: [], primitives: [assign(f("meta", "acl_hit"), hex(1))] },
    { name: "acl_deny", id: 4, runtime_data: [], primitives: [prim("mark_to_drop", { type: "header", value: "standard_metadata" })] },
    {
      name: "rewrite",
      id: 5,
      runtime_data: [{ name: "smac", bitwidth: 48 }],
      primitives: [
        assign(f("ethernet", "srcAddr"), rd(0)),
        prim("count", { type: "counter_array", value: "port_ctr" }, f("standard_metadata", "egress_port")),
      ],
    },
    {
      name: "set_dscp",
      id: 6,
      runtime_data: [],
      primitives: [assign(f("ipv4", "diffserv"), expr("&", expr("|", f("ipv4", "diffserv"), hex(0x20)), hex(0xff)))],
    },
  );
  const ing = j.pipelines[0];
  ing.conditionals[0].true_next = "MyIngress.acl";
  ing.tables[0].base_default_next = "MyIngress.qos";
  ing.tables[0].next_tables = Object.fromEntries(Object.keys(ing.tables[0].next_tables).map((k) => [k, "MyIngress.qos"]));
  ing.tables.push(
    table(
      "MyIngress.acl",
      1,
      [
        { match_type: "ternary", name: "src", target: ["ipv4", "srcAddr"], mask: null },
        { match_type: "ternary", name: "dst", target: ["ipv4", "dstAddr"], mask: null },
        { match_type: "ternary", name: "proto", target: ["ipv4", "protocol"], mask: null },
        { match_type: "ternary", name: "dport", target: ["udp", "dstPort"], mask: null },
      ],
      [
        ["acl_permit", 3],
        ["acl_deny", 4],
      ],
      [3, []],
      "MyIngress.ipv4_lpm",
    ),
    table(
      "MyIngress.qos",
      2,
      [{ match_type: "exact", name: "proto", target: ["ipv4", "protocol"], mask: null }],
      [
        ["set_dscp", 6],
        ["NoAction", 0],
      ],
      [0, []],
      null,
    ),
  );
  j.pipelines[1].init_table = "MyEgress.smac";
  j.pipelines[1].tables.push(
    table(
      "MyEgress.smac",
      3,
      [{ match_type: "exact", name: "port", target: ["standard_metadata", "egress_port"], mask: null }],
      [
        ["rewrite", 5],
        ["NoAction", 0],
      ],
      [0, []],
      null,
    ),
  );
  j.calculations.push({
    name: "udp_ck",
    id: 1,
    algo: "csum16",
    input: [
      f("ipv4", "srcAddr"),
      f("ipv4", "dstAddr"),
      { type: "hexstr", value: "0x00", bitwidth: 8 },
      f("ipv4", "protocol"),
      f("udp", "length_"),
      f("udp", "srcPort"),
      f("udp", "dstPort"),
      f("udp", "length_"),
      { type: "payload", value: null },
    ],
  });
  j.checksums.push({
    name: "udp_cksum",
    id: 1,
    target: ["udp", "checksum"],
    type: "generic",
    calculation: "udp_ck",
    verify: false,
    update: true,
    if_cond: { type: "expression", value: { op: "d2b", left: null, right: f("udp", "$valid$") } },
  });
  void ETHERNET;
  void IPV4;
  return j;
}

export function biggerWorkload(): Workload {
  const base = basicWorkload();
  const cli = [...base.cli];
  const acl: [number, number, number, number, number, number, number, number, string][] = [];
  for (let i = 0; i < 16; i++) acl.push([0xc0a80000 + i * 16, 0xfffffff0, 0, 0, 6, 0xff, 0, 0, "acl_deny"]);
  acl.push([0, 0, 0x0a000000, 0xff000000, 17, 0xff, 0, 0, "acl_permit"]);
  for (const [i, a] of acl.entries())
    cli.push(`table_add MyIngress.acl ${a[8]} ${a[0]}&&&${a[1]} ${a[2]}&&&${a[3]} ${a[4]}&&&${a[5]} ${a[6]}&&&${a[7]} => ${100 - i}`);
  cli.push("table_add MyIngress.qos set_dscp 17 =>");
  for (let p = 1; p <= 4; p++) cli.push(`table_add MyEgress.smac rewrite ${p} => 00:00:00:00:aa:0${p}`);
  return {
    name: "bigger program (ACL, QoS, counters, UDP checksum)",
    json: biggerProgram(),
    setup: (e) => {
      base.setup(e);
      for (const [i, a] of acl.entries())
        e.addEntry("MyIngress.acl", {
          key: [
            { kind: "ternary", value: BigInt(a[0]), mask: BigInt(a[1]) },
            { kind: "ternary", value: BigInt(a[2]), mask: BigInt(a[3]) },
            { kind: "ternary", value: BigInt(a[4]), mask: BigInt(a[5]) },
            { kind: "ternary", value: BigInt(a[6]), mask: BigInt(a[7]) },
          ],
          priority: i + 1,
          action: { kind: "action", call: { action: a[8], args: [] } },
        });
      e.addEntry("MyIngress.qos", {
        key: [{ kind: "exact", value: 17n }],
        priority: 0,
        action: { kind: "action", call: { action: "set_dscp", args: [] } },
      });
      for (let p = 1; p <= 4; p++)
        e.addEntry("MyEgress.smac", {
          key: [{ kind: "exact", value: BigInt(p) }],
          priority: 0,
          action: { kind: "action", call: { action: "rewrite", args: [BigInt(0xaa00 + p)] } },
        });
    },
    cli,
    packets: base.packets,
  };
}

/** Packets per second of the engine over `ms` milliseconds. */
export function measureEngine(w: Workload, ms = 1000): { pps: number; outputs: number } {
  const e = loadEngine(w.json);
  w.setup(e);
  const pk = w.packets;
  let n = 0;
  let outputs = 0;
  for (let i = 0; i < 20000; i++) outputs += e.process(1, pk[i % pk.length]!).length; // warm-up
  outputs = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 1000; i++) outputs += e.process(1, pk[n++ % pk.length]!).length;
    t = performance.now();
  }
  return { pps: (n * 1000) / (t - t0), outputs };
}

// -- simple_switch comparison ------------------------------------------------------------

/** Packets and timestamps (µs) of a pcap simple_switch wrote. */
export function readPcap(path: string): { ts: number; data: Uint8Array }[] {
  return readPcapFile(path, { partial: true }).map((r) => ({ ts: Number(r.timeUs), data: r.data }));
}

/** simple_switch from PATH or P4CAST_SIMPLE_SWITCH / P4CAST_SIMPLE_SWITCH_CLI (see test/engine/toolchain.ts). */
export function simpleSwitchAvailable(): boolean {
  return SS_BIN !== undefined && SS_CLI !== undefined;
}

/**
 * Runs the workload through simple_switch --use-files and returns its packets
 * per second, from the output pcap's first and last timestamps.
 */
export async function measureSimpleSwitch(w: Workload, count = 20000): Promise<number | undefined> {
  if (!simpleSwitchAvailable()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "p4cast-bench-"));
  const jsonPath = join(dir, "prog.json");
  writeFileSync(jsonPath, JSON.stringify(w.json));
  const pkts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) pkts.push(w.packets[i % w.packets.length]!);
  writePcapFile(join(dir, "p1_in.pcap"), pkts);
  for (let p = 2; p <= 5; p++) writePcapFile(join(dir, `p${p}_in.pcap`), []);
  const port = 9090 + Math.floor(Math.random() * 500);
  const args = [
    "--use-files",
    "3",
    "--thrift-port",
    String(port),
    "--log-level",
    "off",
    "--notifications-addr",
    `ipc://${join(dir, "notifications.ipc")}`,
    "-i",
    `1@${join(dir, "p1")}`,
  ];
  for (let p = 2; p <= 5; p++) args.push("-i", `${p}@${join(dir, `p${p}`)}`);
  args.push(jsonPath);
  const sw = spawn(SS_BIN!, args, { stdio: "ignore", cwd: dir });
  try {
    await new Promise((r) => setTimeout(r, 800));
    const [cmd, ...pre] = SS_CLI!;
    execFileSync(cmd!, [...pre, "--thrift-port", String(port)], { input: `${w.cli.join("\n")}\n`, stdio: ["pipe", "ignore", "ignore"] });
    const deadline = Date.now() + 120_000;
    let last = -1;
    let stable = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      let total = 0;
      for (let p = 1; p <= 5; p++) {
        const f = join(dir, `p${p}_out.pcap`);
        if (existsSync(f)) total += readPcap(f).length;
      }
      if (total === last) stable++;
      else stable = 0;
      last = total;
      if (total >= count || (total > 0 && stable >= 4) || Date.now() > deadline) break;
    }
    const ts: number[] = [];
    for (let p = 1; p <= 5; p++) {
      const f = join(dir, `p${p}_out.pcap`);
      if (existsSync(f)) for (const x of readPcap(f)) ts.push(x.ts);
    }
    if (ts.length < 2) return undefined;
    ts.sort((a, b) => a - b);
    return ((ts.length - 1) * 1e6) / (ts[ts.length - 1]! - ts[0]!);
  } finally {
    sw.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  console.log("Engine alone, in memory (no ports), against the whole simple_switch process reading and writing pcap files:");
  for (const w of [basicWorkload(), biggerWorkload()]) {
    const ours = measureEngine(w, 3000).pps;
    const theirs = await measureSimpleSwitch(w);
    console.log(
      `[${w.name}] engine: ${Math.round(ours)} pkt/s` +
        (theirs ? `, simple_switch: ${Math.round(theirs)} pkt/s, ratio ${(ours / theirs).toFixed(1)}x` : ", simple_switch not available"),
    );
  }
  await endToEnd();
}

/** Delivered packets per second at top speed. */
const topSpeed = (r: EndToEndResult) => {
  const f = r.figures.at(-1)!;
  return f.deliveredFraction * f.sentPps;
};

/**
 * The end-to-end figures: every switch kind on the basic program, the ones
 * with P4Runtime on p4cast.json, then the ratios of the embedded switch's
 * highest zero-drop rate (and top-speed delivery) to each BMv2's.
 */
async function endToEnd(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 2);
  const programs: [EndToEndProgram, string][] = [
    ["basic", "bench_tables.p4, one exact entry"],
    ["p4cast", "p4cast.json deployed by the controller on two routers: routes, a session from h1 through s1 and s2 to client h2"],
  ];
  for (const [program, what] of programs) {
    console.log(`\nEnd to end (${what}): frames in through a veth, through the switch process, out through another veth:`);
    const results: EndToEndResult[] = [];
    for (const sw of ["p4cast", "simple_switch", "simple_switch_grpc"] as const) {
      const why = endToEndUnavailable(sw, program);
      if (why) {
        console.log(`[${SWITCH_LABEL[sw]}] not measured: ${why}`);
        continue;
      }
      const r = await measureEndToEnd(sw, { program, seconds });
      results.push(r);
      for (const f of r.figures) {
        const offered = f.offeredPps === undefined ? "top speed" : `${(f.offeredPps / 1000).toFixed(0)}k pkt/s offered`;
        const delivered = `delivered ${f.delivered}/${f.sent} (${(f.deliveredFraction * 100).toFixed(1)}%)`;
        const lost = f.lostAtReceiver ? `, ${f.lostAtReceiver} lost in the bench's receiving socket` : "";
        const cpu = `CPU: switch ${(f.switchCpu * 100).toFixed(0)}%, bench ${(f.benchCpu * 100).toFixed(0)}% of a core`;
        console.log(`[${r.switch}] ${offered}: sent ${Math.round(f.sentPps)} pkt/s, ${delivered}${lost}; ${cpu}`);
      }
      const highest = r.highestZeroDropPps === undefined ? "none" : `${r.highestZeroDropPps / 1000}k pkt/s`;
      console.log(`[${r.switch}] highest offered rate delivered whole: ${highest}`);
    }
    const ours = results.find((r) => r.switch === SWITCH_LABEL.p4cast);
    for (const theirs of results.filter((r) => r !== ours)) {
      if (!ours) break;
      const whole =
        ours.highestZeroDropPps && theirs.highestZeroDropPps
          ? `${(ours.highestZeroDropPps / theirs.highestZeroDropPps).toFixed(2)}x`
          : `${ours.highestZeroDropPps ?? 0} against ${theirs.highestZeroDropPps ?? 0} pkt/s`;
      console.log(
        `[${program}] embedded switch / ${theirs.switch}: highest whole rate ${whole}, ` +
          `top-speed delivery ${(topSpeed(ours) / topSpeed(theirs)).toFixed(2)}x`,
      );
    }
  }
}

// `npx tsx bench/switch.ts` runs the benchmark directly
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
