/**
 * End-to-end forwarding: frames go in through a Linux interface and come out
 * through another, the switch being a process of its own, and the bench
 * process sends at fixed offered rates, then as fast as it can, and counts
 * what arrives on the far side.
 *
 * Switches: the embedded switch (`p4cast switch --interface`),
 * simple_switch_grpc, and a plain simple_switch ($P4CAST_SIMPLE_SWITCH, e.g.
 * an optimized build, else simple_switch on PATH; entries through its
 * Thrift CLI). Programs:
 * - basic: test/fixtures/p4/bench_tables.p4, an exact IPv4 table with one
 *   entry (every switch);
 * - p4cast: p4/build/p4cast.json deployed by the controller on two routers
 *   joined by a veth pair, with a session from h1 to its client h2: routes,
 *   the session's tree (encapsulation and replication at s1, the dedup
 *   window, decapsulation and delivery at s2) — the switches with a
 *   P4Runtime server. Every frame crosses both switch processes.
 *
 * What a figure includes: the kernel's veth pairs, the switch's port I/O and
 * pipeline, and this process's own raw sockets on both ends. The receiving
 * socket's kernel drops are counted separately, so a loss in the bench itself
 * is not charged to the switch.
 *
 * Needs root, the AF_PACKET addon, a built CLI (`npm run build`) and the
 * BMv2 binaries on PATH for their figures.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Controller } from "../src/controller/controller.js";
import { loadPipeline } from "../src/controller/pipeline.js";
import { portMac } from "../src/controller/topology/addressing.js";
import { parseTopology } from "../src/controller/topology/load.js";
import type { Topology } from "../src/controller/topology/schema.js";
import { Bmv2Network, bmv2NetworkUnavailable, type SwitchProgram } from "../src/lab/bmv2-network.js";
import { streamFrame } from "../src/lab/stream.js";
import { formatMac } from "../src/p4runtime/codec/values.js";
import { buildFrame } from "../src/packet/index.js";
import type { RawSocketPort } from "../src/switch/ports/raw-socket.js";
import { SS_CLI } from "../test/engine/toolchain.js";
import { fixture, programBenchTables } from "../test/support/fixtures.js";

export const OFFERED_RATES = [10_000, 50_000, 100_000, 200_000] as const;

/** The P4 program forwarded with. */
export type EndToEndProgram = "basic" | "p4cast";

export const SWITCH_LABEL: Record<SwitchProgram, string> = {
  p4cast: "embedded switch",
  simple_switch_grpc: "simple_switch_grpc",
  simple_switch: "simple_switch",
};

export interface RateFigure {
  /** Packets per second asked for; undefined: as fast as the sender goes. */
  readonly offeredPps: number | undefined;
  /** What the sender really sent per second. */
  readonly sentPps: number;
  readonly sent: number;
  readonly delivered: number;
  /** Frames the bench's own receiving socket lost in the kernel (not the switch's doing). */
  readonly lostAtReceiver: number;
  readonly deliveredFraction: number;
  /** CPU time of the switch processes (all of them, user + system), as a fraction of one core over the sending time. */
  readonly switchCpu: number;
  /** The same for this process (sender and receiver; the kernel's work for its sockets partly included). */
  readonly benchCpu: number;
}

export interface EndToEndResult {
  readonly switch: string;
  readonly program: EndToEndProgram;
  readonly figures: RateFigure[];
  /** The highest fixed offered rate delivered whole (every frame), if any. */
  readonly highestZeroDropPps: number | undefined;
}

const BASIC_TOPOLOGY = `
name: bench-end-to-end
switches:
  - { name: s1, deviceId: 1, grpc: "127.0.0.1:20001", loopback: { ipv4: 10.255.0.1 } }
hosts:
  - { name: h1, mac: "00:00:00:00:00:01", ipv4: 10.0.0.1/24, attach: { switch: s1, port: 1 } }
  - { name: h2, mac: "00:00:00:00:00:02", ipv4: 10.0.0.2/24, attach: { switch: s1, port: 2 } }
links: []
sessions: []
`;

/**
 * Two routers joined by one link: h1 sends session 1 into s1 (the ingress:
 * encapsulation, replication onto the tree), s2 is the last hop of its
 * client h2 (dedup window, decapsulation, delivery). No meter, so that the
 * rate is the switches'. (A client on the ingress router itself is not served.)
 */
const SESSION_TOPOLOGY = `
name: bench-end-to-end-session
switches:
  - { name: s1, deviceId: 1, grpc: "127.0.0.1:20001", loopback: { ipv4: 10.255.0.1, ipv6: "fd00:ff::1" } }
  - { name: s2, deviceId: 2, grpc: "127.0.0.1:20002", loopback: { ipv4: 10.255.0.2, ipv6: "fd00:ff::2" } }
hosts:
  - { name: h1, mac: "00:00:00:00:01:01", ipv4: 10.0.1.1/24, ipv6: "fd00:1::1/64", attach: { switch: s1, port: 1 } }
  - { name: h2, mac: "00:00:00:00:02:02", ipv4: 10.0.2.2/24, ipv6: "fd00:2::2/64", attach: { switch: s2, port: 1 } }
links:
  - { ends: [{ switch: s1, port: 2 }, { switch: s2, port: 2 }] }
sessions:
  - { id: 1, source: h1, service: { address: 10.0.100.1, port: 5000 }, group: 232.1.1.1, clients: [h2], redundancy: tree-only }
`;

/** Why `program` cannot be measured end to end on `sw` here, or undefined. */
export function endToEndUnavailable(sw: SwitchProgram, program: EndToEndProgram = "basic"): string | undefined {
  if (sw === "simple_switch") {
    if (program === "p4cast") return "a plain simple_switch has no P4Runtime server for the controller (simple_switch_grpc has)";
    if (!SS_CLI) return "simple_switch_CLI is not on PATH (nor P4CAST_SIMPLE_SWITCH_CLI)";
  }
  return bmv2NetworkUnavailable(sw);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `frame` at `pps` (or flat out) for `seconds`; returns the frames given to the socket and in how long. */
async function offer(
  port: RawSocketPort,
  frame: Uint8Array,
  pps: number | undefined,
  seconds: number,
): Promise<{ sent: number; ms: number }> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    // Frames due by now at the offered rate; flat out, a chunk at a time so the receiver gets turns.
    const due = pps === undefined ? sent + 512 : Math.floor(((now - t0) / 1000) * pps);
    while (sent < due) {
      port.send(frame);
      sent++;
    }
    await new Promise<void>((r) => (pps === undefined ? setImmediate(r) : setTimeout(r, 1)));
  }
  return { sent, ms: performance.now() - t0 };
}

/** A switch programmed and ready: the frame to offer, the two host sockets, the switch processes. */
interface Prepared {
  readonly frame: Uint8Array;
  readonly sender: RawSocketPort;
  readonly receiver: RawSocketPort;
  readonly pids: readonly number[];
  close(): Promise<void>;
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Runs simple_switch_CLI commands against a switch's Thrift port; throws with its output when one fails. */
function runCli(thriftPort: number, commands: string[]): void {
  const [cmd, ...args] = SS_CLI!;
  const r = spawnSync(cmd!, [...args, "--thrift-port", String(thriftPort)], { input: `${commands.join("\n")}\n`, encoding: "utf8" });
  if (r.status !== 0 || /error|invalid/i.test(r.stdout))
    throw new Error(`simple_switch_CLI: ${commands.join("; ")}: ${r.stdout}${r.stderr}`);
}

async function prepareBasic(sw: SwitchProgram): Promise<Prepared> {
  const topology = parseTopology(BASIC_TOPOLOGY, "bench end-to-end topology");
  const prog = fixture("bench_tables");
  const s1 = topology.switches[0]!;
  const dir = mkdtempSync(join(tmpdir(), "p4cast-bench-"));
  const jsonPath = join(dir, "bench_tables.json");
  writeFileSync(jsonPath, prog.deviceConfig);
  const net = await Bmv2Network.start(topology, { program: sw, json: jsonPath });
  const closeAll = async () => {
    await net.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (sw === "simple_switch") runCli(net.thriftAddress(s1).port, ["table_add host_exact set_port 10.0.0.2 => 2"]);
    else await programBenchTables(net.grpcAddress(s1));
  } catch (e) {
    await closeAll();
    throw e;
  }
  const frame = buildFrame({
    ethernet: { src: "00:00:00:00:00:01", dst: "00:00:00:00:00:02" },
    packet: {
      ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2", ttl: 64 },
      l4: { kind: "udp", udp: { srcPort: 40000, dstPort: 5000 }, payload: new Uint8Array(18) },
    },
  });
  return hostsOf(net, frame, closeAll);
}

async function prepareSession(sw: SwitchProgram): Promise<Prepared> {
  const topology: Topology = parseTopology(SESSION_TOPOLOGY, "bench end-to-end session topology");
  const net = await Bmv2Network.start(topology, { program: sw, links: "direct" });
  const ctl = new Controller({
    topology,
    pipeline: await loadPipeline(),
    grpcAddress: net.grpcAddress,
    ...(sw === "simple_switch_grpc" ? { thriftAddress: net.thriftAddress } : {}),
  });
  const closeAll = async () => {
    await ctl.close();
    await net.stop();
  };
  try {
    await ctl.connect();
    await ctl.deploy();
  } catch (e) {
    await closeAll();
    throw e;
  }
  const session = topology.sessions[0]!;
  const src = topology.hosts.find((h) => h.name === session.source)!;
  const gatewayMac = formatMac(portMac(topology.switches.find((s) => s.name === src.attach.switch)!, src.attach.port));
  return hostsOf(net, streamFrame(src, gatewayMac, session, 0), closeAll);
}

function hostsOf(net: Bmv2Network, frame: Uint8Array, close: () => Promise<void>): Prepared {
  return {
    frame,
    sender: net.hosts.get("h1")!.end as RawSocketPort,
    receiver: net.hosts.get("h2")!.end as RawSocketPort,
    pids: [...net.switchPids().values()],
    close,
  };
}

export async function measureEndToEnd(
  sw: SwitchProgram,
  opts: { program?: EndToEndProgram; seconds?: number; rates?: readonly number[] } = {},
): Promise<EndToEndResult> {
  const program = opts.program ?? "basic";
  const seconds = opts.seconds ?? 2;
  const rates = opts.rates ?? OFFERED_RATES;
  const why = endToEndUnavailable(sw, program);
  if (why) throw new Error(why);
  const { frame, sender, receiver, pids, close } = program === "basic" ? await prepareBasic(sw) : await prepareSession(sw);
  const switchCpuSeconds = () => pids.reduce((t, pid) => t + cpuSeconds(pid), 0);
  try {
    // One frame through first: the switch is programmed and the path works; what comes out is what gets counted.
    let outLength = -1;
    receiver.onReceive((f) => {
      if (outLength < 0) outLength = f.length;
    });
    for (let i = 0; i < 50 && outLength < 0; i++) {
      sender.send(frame);
      await sleep(100);
    }
    if (outLength < 0) throw new Error(`${SWITCH_LABEL[sw]} (${program}): the first frame did not come out of port 2`);
    await sleep(200);
    // From here on the receiving socket only counts frames of that length (anything else the switch sends is not ours).
    let delivered = 0;
    receiver.onReceive((f) => {
      if (f.length === outLength) delivered++;
    });
    const figures: RateFigure[] = [];
    for (const pps of [...rates, undefined]) {
      delivered = 0;
      const dropsBefore = receiver.stats().kernelDrops;
      const txBefore = sender.stats().txFrames;
      const switchCpuBefore = switchCpuSeconds();
      const benchCpuBefore = process.cpuUsage();
      const { ms } = await offer(sender, frame, pps, seconds);
      const switchCpu = (switchCpuSeconds() - switchCpuBefore) / (ms / 1000);
      const benchUsage = process.cpuUsage(benchCpuBefore);
      const benchCpu = (benchUsage.user + benchUsage.system) / 1000 / ms;
      // What the kernel took from the sender (a full send queue refuses frames: not offered).
      const sent = sender.stats().txFrames - txBefore;
      // Wait until nothing more arrives (queues inside the switch drain).
      let last = -1;
      while (delivered !== last) {
        last = delivered;
        await sleep(300);
      }
      const lostAtReceiver = receiver.stats().kernelDrops - dropsBefore;
      figures.push({
        offeredPps: pps,
        sentPps: (sent * 1000) / ms,
        sent,
        delivered,
        lostAtReceiver,
        deliveredFraction: delivered / sent,
        switchCpu,
        benchCpu,
      });
      await sleep(200);
    }
    const whole = figures.filter((f) => f.offeredPps !== undefined && f.delivered + f.lostAtReceiver >= f.sent);
    return {
      switch: SWITCH_LABEL[sw],
      program,
      figures,
      highestZeroDropPps: whole.length ? Math.max(...whole.map((f) => f.offeredPps!)) : undefined,
    };
  } finally {
    await close();
  }
}
