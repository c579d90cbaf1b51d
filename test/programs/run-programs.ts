/**
 * Runs P4 programs we did not write on the embedded switch and on
 * simple_switch_grpc and compares what comes out, byte for byte.
 *
 *   npm run conformance:programs -- <dir> [--only <name>] [--packets <n>]
 *
 * <dir> holds p4lang/tutorials-style exercises: <dir>/<name>/solution/<name>.p4
 * and runtime files <dir>/<name>/<topo>/sN-runtime.json. Each program is
 * compiled with p4c-bm2-ss, and for each runtime file both switches get the
 * pipeline and the entries over P4Runtime, four data ports (virtual links on
 * the embedded switch; veth pairs read with raw sockets on BMv2), and the
 * same packets, one at a time, on every port: IPv4 UDP/TCP/ICMP to every
 * address the entries mention and to random ones, the custom EtherTypes the
 * exercises use, random frames. A packet passes when both switches send the
 * same frames out of the same ports. The programs and their outputs stay
 * outside the repository; this script is the harness.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { P4RuntimeClient } from "../../src/client/client.js";
import { parseP4Info } from "../../src/p4runtime/p4info/load.js";
import { readRuntimeFile, tableEntryFromRuntime } from "../../src/cli/commands/runtime.js";
import { formatIPv4 } from "../../src/p4runtime/codec/values.js";
import { buildFrame } from "../../src/packet/frame.js";
import { bmv2DataPorts, startTarget, type TestTarget } from "../support/targets.js";
import type { HostPort } from "../../src/switch/ports/virtual-link.js";

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith("--"));
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const randomCount = Number(args.includes("--packets") ? args[args.indexOf("--packets") + 1] : 12);
if (!dir || !existsSync(dir)) {
  console.error("usage: npm run conformance:programs -- <dir with <name>/solution/<name>.p4> [--only name] [--packets n]");
  process.exit(2);
}
if (!bmv2DataPorts) {
  console.error(
    "simple_switch_grpc with data ports needs root, simple_switch_grpc on PATH and the AF_PACKET addon (native/afpacket/build.sh)",
  );
  process.exit(2);
}

const PORTS = [1, 2, 3, 4];
let seed = 0x5eed;
const rand = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) / 0x1000000;
};

/** Every IPv4 address the runtime file mentions (match values and parameters). */
function addresses(runtime: unknown): string[] {
  const out = new Set<string>();
  JSON.stringify(runtime, (_k, v: unknown) => {
    if (typeof v === "string" && /^\d+\.\d+\.\d+\.\d+$/.test(v)) out.add(v);
    return v;
  });
  return [...out];
}

function testFrames(runtime: unknown): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const dsts = [...addresses(runtime), ...Array.from({ length: 3 }, () => formatIPv4(BigInt(Math.floor(rand() * 2 ** 32))))];
  const eth = { src: "08:00:00:00:01:11", dst: "08:00:00:00:02:22" };
  for (const dst of dsts) {
    frames.push(
      buildFrame({
        ethernet: eth,
        packet: {
          ip: { version: 4, src: "10.0.1.1", dst, ttl: 64, dscp: 1 },
          l4: { kind: "udp", udp: { srcPort: 1234, dstPort: 5678 }, payload: new Uint8Array(16).fill(7) },
        },
      }),
    );
    frames.push(
      buildFrame({
        ethernet: eth,
        packet: {
          ip: { version: 4, src: "10.0.1.1", dst, ttl: 2, ecn: 1 },
          l4: { kind: "tcp", tcp: { srcPort: 4321, dstPort: 80, seq: 1, ack: 0, flags: 0x02, window: 1000 } },
        },
      }),
    );
    frames.push(
      buildFrame({
        ethernet: eth,
        packet: { ip: { version: 4, src: "10.0.2.2", dst, ttl: 64 }, l4: { kind: "icmp", icmp: { type: 8, code: 0, rest: 0x00010001 } } },
      }),
    );
  }
  // Custom EtherTypes of the exercises (tunnel 0x1212, calc/source routing 0x1234, mri options) and random frames.
  for (const etherType of [0x1212, 0x1234, 0x0806, 0x86dd]) {
    const body = Uint8Array.from({ length: 40 }, () => Math.floor(rand() * 256));
    frames.push(concat(macBytes(eth.dst), macBytes(eth.src), new Uint8Array([etherType >> 8, etherType & 0xff]), body));
  }
  for (let i = 0; i < randomCount; i++)
    frames.push(Uint8Array.from({ length: 14 + Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
  return frames;
}

function macBytes(m: string): Uint8Array {
  return Uint8Array.from(m.split(":").map((x) => parseInt(x, 16)));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function program(
  t: TestTarget,
  p4info: ReturnType<typeof parseP4Info>,
  json: Uint8Array,
  runtimePath: string,
): Promise<P4RuntimeClient> {
  const c = await P4RuntimeClient.connect({ address: t.address, deviceId: t.deviceId, electionId: 1n, reconnect: false });
  await c.setPipeline({ p4info, deviceConfig: json, cookie: 1n, force: true });
  const rt = readRuntimeFile(runtimePath);
  const updates = (rt.table_entries ?? []).map((e) => {
    const { type, entry } = tableEntryFromRuntime(c.index, e);
    return { type, entity: { kind: "tableEntry" as const, ...entry } };
  });
  for (const m of rt.multicast_group_entries ?? []) {
    updates.push({
      type: "insert",
      entity: {
        kind: "multicastGroup",
        groupId: m.multicast_group_id,
        replicas: m.replicas.map((r) => ({ port: r.egress_port, instance: r.instance ?? 0 })),
      } as never,
    });
  }
  if (updates.length) await c.write(updates as never);
  return c;
}

/** Sends one frame and collects what comes out of every port until quiet. */
async function exchange(hosts: ReadonlyMap<number, HostPort>, port: number, frame: Uint8Array, quietMs: number): Promise<string[]> {
  for (const h of hosts.values()) h.clear();
  hosts.get(port)!.send(frame);
  let last = -1;
  for (let waited = 0; waited < 2000; waited += 25) {
    await new Promise((r) => setTimeout(r, 25));
    const n = [...hosts.values()].reduce((s, h) => s + h.received.length, 0);
    if (n === last && waited >= quietMs) break;
    last = n;
  }
  return [...hosts].flatMap(([p, h]) => h.received.map((f) => `${p}:${Buffer.from(f).toString("hex")}`)).sort();
}

interface Result {
  readonly program: string;
  readonly runtime: string;
  readonly packets: number;
  readonly same: number;
  readonly firstDifference?: string;
  readonly error?: string;
}

const results: Result[] = [];
const work = mkdtempSync(join(tmpdir(), "p4cast-programs-"));
for (const name of readdirSync(dir).sort()) {
  if (only && name !== only) continue;
  const src = join(dir, name, "solution", `${name}.p4`);
  if (!existsSync(src)) continue;
  const out = join(work, name);
  try {
    execFileSync("mkdir", ["-p", out]);
    execFileSync(
      "p4c-bm2-ss",
      ["--std", "p4-16", "-o", join(out, `${name}.json`), "--p4runtime-files", join(out, `${name}.p4info.txtpb`), src],
      { stdio: "pipe" },
    );
  } catch (e) {
    results.push({
      program: name,
      runtime: "-",
      packets: 0,
      same: 0,
      error: `p4c: ${(e as { stderr?: Buffer }).stderr?.toString().split("\n")[0] ?? String(e)}`,
    });
    continue;
  }
  const p4info = parseP4Info(readFileSync(join(out, `${name}.p4info.txtpb`), "utf8"), "text");
  const json = new Uint8Array(readFileSync(join(out, `${name}.json`)));
  // Runtime files sit in the exercise folder or in a topology folder below it.
  const runtimeFiles = (d: string) =>
    readdirSync(d)
      .filter((f) => /^s\d+-runtime\.json$/.test(f))
      .map((f) => join(d, f));
  const runtimes = [
    ...runtimeFiles(join(dir, name)),
    ...readdirSync(join(dir, name), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => runtimeFiles(join(dir, name, d.name))),
  ]
    .sort()
    .slice(0, 2);
  if (runtimes.length === 0) runtimes.push("");
  for (const rt of runtimes) {
    const label = rt ? `${basename(join(rt, ".."))}/${basename(rt)}` : "(no entries)";
    let emb: TestTarget | undefined;
    let bm: TestTarget | undefined;
    const clients: P4RuntimeClient[] = [];
    try {
      emb = await startTarget("embedded", { ports: PORTS });
      bm = await startTarget("bmv2", { ports: PORTS });
      const runtimeJson = rt ? JSON.parse(readFileSync(rt, "utf8")) : {};
      if (rt) {
        clients.push(await program(emb, p4info, json, rt), await program(bm, p4info, json, rt));
      } else {
        for (const t of [emb, bm]) {
          const c = await P4RuntimeClient.connect({ address: t.address, deviceId: t.deviceId, electionId: 1n, reconnect: false });
          await c.setPipeline({ p4info, deviceConfig: json, cookie: 1n, force: true });
          clients.push(c);
        }
      }
      const frames = testFrames(runtimeJson);
      let same = 0;
      let first: string | undefined;
      let total = 0;
      for (const port of PORTS) {
        for (const f of frames) {
          total++;
          const a = await exchange(emb.hosts!, port, f, 50);
          const b = await exchange(bm.hosts!, port, f, 150);
          if (JSON.stringify(a) === JSON.stringify(b)) same++;
          else
            first ??=
              `in port ${port} frame ${Buffer.from(f).toString("hex").slice(0, 60)}…: ` +
              `embedded ${JSON.stringify(a).slice(0, 160)} vs bmv2 ${JSON.stringify(b).slice(0, 160)}`;
        }
      }
      results.push({ program: name, runtime: label, packets: total, same, ...(first ? { firstDifference: first } : {}) });
    } catch (e) {
      results.push({
        program: name,
        runtime: label,
        packets: 0,
        same: 0,
        error: e instanceof Error ? e.message.split("\n")[0]! : String(e),
      });
    } finally {
      for (const c of clients) c.close();
      await emb?.stop();
      await bm?.stop();
    }
    console.log(JSON.stringify(results[results.length - 1]));
  }
}
console.log("\nprogram              runtime                     same / packets");
for (const r of results)
  console.log(`${r.program.padEnd(20)} ${r.runtime.padEnd(27)} ${r.error ? `error: ${r.error}` : `${r.same} / ${r.packets}`}`);
const ok = results.filter((r) => !r.error && r.same === r.packets).length;
console.log(`\n${ok} of ${results.length} program/runtime pairs behave identically on both switches`);
