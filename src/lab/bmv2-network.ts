/**
 * A topology on switch processes joined by veth pairs (no Mininet, no
 * network namespaces): real simple_switch_grpc processes by default,
 * embedded switches as `p4cast switch --interface` processes (the fault
 * suite kills either kind with SIGKILL), or plain simple_switch processes
 * (no P4Runtime: a JSON given at start, entries through its Thrift CLI; the
 * benchmarks use it to measure an optimized BMv2 build). Every switch port
 * is one end of a veth pair. A host's other end is read and written with a raw socket
 * (HostPort over RawSocketPort); a switch-to-switch link joins the other
 * ends of two pairs through a relay in this process, so that cutting a link
 * drops its frames while both interfaces stay up (taking a veth down stalls
 * simple_switch's transmit path for all its ports, which is not how one
 * broken link behaves). Needs root and the AF_PACKET addon (and
 * simple_switch_grpc, or the built CLI in dist/). It offers what
 * EmbeddedNetwork offers, so the same end-to-end scenarios run on BMv2.
 */
import type { LinkControl } from "./link-control.js";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HostPort } from "../switch/ports/virtual-link.js";
import { RawSocketPort, afpacketAvailable } from "../switch/ports/raw-socket.js";
import { SWITCH_NODE_FLAGS } from "../switch/process-flags.js";
import { formatPortStats, hostDrops } from "../switch/ports/port.js";
import type { SwitchSpec, Topology } from "../controller/topology/schema.js";
import { linkId } from "../controller/topology/graph.js";
import { Bmv2ThriftClient } from "../client/thrift/bmv2-standard.js";
import { AddressInUseError, addressFree } from "./embedded-network.js";
import { onPath } from "./on-path.js";

/** Which program each switch process runs. */
export type SwitchProgram = "simple_switch_grpc" | "p4cast" | "simple_switch";

/** The plain simple_switch binary: $P4CAST_SIMPLE_SWITCH (e.g. an optimized build), else simple_switch on PATH. */
export function simpleSwitchBinary(): string | undefined {
  return process.env.P4CAST_SIMPLE_SWITCH || (onPath("simple_switch") ? "simple_switch" : undefined);
}

const here = dirname(fileURLToPath(import.meta.url));
/** The built CLI (dist/cli/main.js), whichever of src/ or dist/ this module runs from. */
export const CLI_MAIN = join(here, "..", "..", "dist", "cli", "main.js");

/** Why a network of `program` processes cannot be made here, or undefined. */
export function bmv2NetworkUnavailable(program: SwitchProgram = "simple_switch_grpc"): string | undefined {
  if (process.getuid?.() !== 0) return "switch-process networks need root (veth pairs, raw sockets)";
  if (!afpacketAvailable()) return "the AF_PACKET addon is not built (native/afpacket/build.sh)";
  if (!onPath("ip")) return "ip (iproute2) is not on PATH";
  if (!onPath("ethtool")) return "ethtool is not on PATH (apt-get install -y ethtool)";
  if (program === "simple_switch_grpc") {
    if (!onPath("simple_switch_grpc")) return "simple_switch_grpc is not on PATH";
  } else if (program === "simple_switch") {
    const bin = simpleSwitchBinary();
    if (!bin) return "simple_switch is not on PATH (nor P4CAST_SIMPLE_SWITCH)";
    if (bin.includes("/") && !existsSync(bin)) return `P4CAST_SIMPLE_SWITCH=${bin} does not exist`;
  } else if (!existsSync(CLI_MAIN)) {
    return "the CLI is not built (npm run build)";
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no free port"))));
    });
  });
}

/**
 * Packets each of simple_switch's egress queues holds (it starts with 64).
 * The machine stalls a switch process now and then (eight of them, the
 * controller and the hosts share two cores); when the process runs again it
 * replicates the packets that waited in its socket all at once, and 64 per
 * queue drop the tail of that burst on every port.
 */
export const BMV2_EGRESS_QUEUE_PACKETS = 1024;

/**
 * Sets every egress queue of a simple_switch_grpc to BMV2_EGRESS_QUEUE_PACKETS
 * through its Thrift server (retried while that server starts).
 */
export async function deepenEgressQueues(thrift: { host: string; port: number }, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const client = new Bmv2ThriftClient({ host: thrift.host, port: thrift.port, timeoutMs: 2_000 });
    try {
      await client.setAllEgressQueueDepths(BMV2_EGRESS_QUEUE_PACKETS);
      return;
    } catch (e) {
      if (Date.now() > end) throw new Error(`simple_switch_grpc's Thrift server at ${thrift.host}:${thrift.port}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.close();
    }
  }
}

/** How long a switch process may take to listen (eight of them start at once on a busy 2-core machine). */
const LISTEN_DEADLINE_MS = 60_000;

const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "pipe" });

/**
 * Checksum and segmentation offloads off: frames are what the switch sees
 * and sends. It also sizes simple_switch's receive rings: libpcap (in the
 * immediate mode BMv2 asks for) gives each captured frame a slot of the
 * interface's MTU when no offload is on, but of 64 KiB when one is, so its
 * 2 MiB ring holds about 1,300 frames, or only about 31: a switch process
 * the machine stalls for a few tens of milliseconds would lose what arrives
 * meanwhile on every port.
 */
const OFFLOADS_OFF = ["rx", "off", "tx", "off", "sg", "off", "tso", "off", "gso", "off", "gro", "off"];

function makeVeth(a: string, b: string, made?: string[]): void {
  ip("link", "add", a, "type", "veth", "peer", "name", b);
  made?.push(a, b);
  for (const i of [a, b]) {
    execFileSync("sysctl", ["-qw", `net.ipv6.conf.${i}.disable_ipv6=1`], { stdio: "pipe" });
    execFileSync("ethtool", ["-K", i, ...OFFLOADS_OFF], { stdio: "pipe" });
    ip("link", "set", i, "up");
  }
}

interface SwitchProcess {
  readonly spec: SwitchSpec;
  readonly args: string[];
  readonly grpcPort: number;
  readonly thriftPort: number;
  child: ChildProcess;
}

export class Bmv2Network {
  readonly hosts = new Map<string, HostPort>();
  private readonly procs = new Map<string, SwitchProcess>();
  private readonly veths: string[] = [];
  /** Relays of the inter-switch links, by index in the topology's `links`. */
  private readonly wires: { up: boolean; ports: RawSocketPort[] }[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), "p4cast-bmv2net-"));
  private readonly tag = Math.random().toString(36).slice(2, 5);
  /** Every veth end this network made (both ends of each pair), for the kernel's drop counters. */
  private readonly allIfs: string[] = [];
  private readonly softnetAtStart = softnetDrops();

  private constructor(
    readonly topology: Topology,
    readonly program: SwitchProgram,
    private readonly addressing: "random" | "topology",
    /** The JSON every plain simple_switch starts with. */
    private readonly json: string | undefined,
    private readonly links: "relayed" | "direct",
  ) {}

  /**
   * `program`: simple_switch_grpc (default), embedded switches as
   * `p4cast switch` processes, or plain simple_switch processes started
   * with `json`. `addresses`: "random" (default) picks free loopback ports;
   * "topology" uses every switch's `grpc` and `thrift` addresses from the
   * topology file (refused, naming the switch, when one is taken). `links`:
   * "relayed" (default) joins two switches through a relay in this process,
   * which link() can cut; "direct" through one veth pair, with nothing in
   * between (for benchmarks: no relay's cost; link() refuses).
   */
  static async start(
    topology: Topology,
    opts: { program?: SwitchProgram; addresses?: "random" | "topology"; json?: string; links?: "relayed" | "direct" } = {},
  ): Promise<Bmv2Network> {
    const program = opts.program ?? "simple_switch_grpc";
    const why = bmv2NetworkUnavailable(program);
    if (why) throw new Error(why);
    if (program === "simple_switch" && !opts.json)
      throw new Error("a network of plain simple_switch processes needs the JSON they start with");
    const net = new Bmv2Network(topology, program, opts.addresses ?? "random", opts.json, opts.links ?? "relayed");
    try {
      await net.build();
    } catch (e) {
      await net.stop();
      throw e;
    }
    return net;
  }

  private ifname(sw: number, port: number): string {
    return `b${this.tag}${sw}p${port}`;
  }

  private async build(): Promise<void> {
    const t = this.topology;
    const index = new Map(t.switches.map((s, i) => [s.name, i]));
    const ports = new Map<string, string[]>(t.switches.map((s) => [s.name, []]));
    for (const l of t.links) {
      const [a, b] = l.ends;
      const ia = this.ifname(index.get(a.switch)!, a.port);
      const ib = this.ifname(index.get(b.switch)!, b.port);
      ports.get(a.switch)!.push(`${a.port}@${ia}`);
      ports.get(b.switch)!.push(`${b.port}@${ib}`);
      if (this.links === "direct") {
        makeVeth(ia, ib, this.allIfs);
        this.veths.push(ia);
        continue;
      }
      const wa = `w${ia.slice(1)}`;
      const wb = `w${ib.slice(1)}`;
      makeVeth(ia, wa, this.allIfs);
      makeVeth(ib, wb, this.allIfs);
      this.veths.push(ia, ib);
      const pa = new RawSocketPort(wa);
      const pb = new RawSocketPort(wb);
      const wire = { up: true, ports: [pa, pb] };
      pa.onReceive((f) => wire.up && pb.send(f));
      pb.onReceive((f) => wire.up && pa.send(f));
      this.wires.push(wire);
    }
    const hostIfs = new Map<string, string>();
    for (const h of t.hosts) {
      const sw = this.ifname(index.get(h.attach.switch)!, h.attach.port);
      const host = `h${this.tag}${t.hosts.indexOf(h)}`;
      makeVeth(sw, host, this.allIfs);
      this.veths.push(sw);
      hostIfs.set(h.name, host);
      ports.get(h.attach.switch)!.push(`${h.attach.port}@${sw}`);
    }
    // Ports are picked one after another so that no two switches get the same.
    const taken = new Set<number>();
    const pick = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    const assigned = new Map<string, [number, number]>();
    if (this.addressing === "topology") {
      for (const s of t.switches) {
        const thrift = s.thrift ?? "127.0.0.1:9090";
        for (const a of [s.grpc, thrift]) {
          const why = await addressFree(a);
          if (why) throw new AddressInUseError(s.name, a, why);
        }
        assigned.set(s.name, [Number(s.grpc.slice(s.grpc.lastIndexOf(":") + 1)), Number(thrift.slice(thrift.lastIndexOf(":") + 1))]);
      }
    } else for (const s of t.switches) assigned.set(s.name, [await pick(), await pick()]);
    await Promise.all(
      t.switches.map(async (s) => {
        const [grpcPort, thriftPort] = assigned.get(s.name)!;
        const args =
          this.program === "p4cast"
            ? [
                CLI_MAIN,
                "switch",
                "--grpc",
                `${this.grpcHost(s)}:${grpcPort}`,
                "--device-id",
                String(s.deviceId),
                "--cpu-port",
                String(s.cpuPort),
                "--name",
                s.name,
                "--log-level",
                "error",
                ...ports.get(s.name)!.flatMap((p) => ["--interface", p]),
              ]
            : [
                ...(this.program === "simple_switch" ? [] : ["--no-p4"]),
                "--device-id",
                String(s.deviceId),
                "--thrift-port",
                String(thriftPort),
                "--log-file",
                join(this.dir, s.name),
                // The default level (trace) logs every step of every packet: far too slow.
                "--log-level",
                "warn",
                ...ports.get(s.name)!.flatMap((p) => ["-i", p]),
                ...(this.program === "simple_switch"
                  ? [this.json!]
                  : ["--", "--grpc-server-addr", `${this.grpcHost(s)}:${grpcPort}`, "--cpu-port", String(s.cpuPort)]),
              ];
        const proc: SwitchProcess = { spec: s, args, grpcPort, thriftPort, child: await this.launch(s.name, args, grpcPort, thriftPort) };
        this.procs.set(s.name, proc);
      }),
    );
    for (const [name, intf] of hostIfs) this.hosts.set(name, new HostPort(new RawSocketPort(intf)));
  }

  private async launch(name: string, args: string[], grpcPort: number, thriftPort: number): Promise<ChildProcess> {
    const binary =
      this.program === "p4cast" ? process.execPath : this.program === "simple_switch" ? simpleSwitchBinary()! : "simple_switch_grpc";
    const child = spawn(binary, this.program === "p4cast" ? [...SWITCH_NODE_FLAGS, ...args] : args, {
      stdio: ["ignore", "ignore", "pipe"],
    });
    // A plain simple_switch has no P4Runtime server: it is up when its Thrift server listens.
    const listenPort = this.program === "simple_switch" ? thriftPort : grpcPort;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + LISTEN_DEADLINE_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${this.program} for ${name} exited (${child.exitCode}): ${stderr}${this.tail(name)}`);
      const up = await new Promise<boolean>((resolve) => {
        const host = this.program === "simple_switch" ? "127.0.0.1" : this.grpcHost(this.topology.switches.find((x) => x.name === name)!);
        const s = connect(listenPort, host);
        s.once("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.once("error", () => resolve(false));
      });
      if (up) {
        if (this.program !== "p4cast") await deepenEgressQueues({ host: "127.0.0.1", port: thriftPort });
        return child;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill("SIGKILL");
    throw new Error(
      `${this.program} for ${name} did not listen on ${listenPort} in ${LISTEN_DEADLINE_MS / 1000} s: ${stderr}${this.tail(name)}`,
    );
  }

  private tail(name: string): string {
    try {
      return readFileSync(join(this.dir, `${name}.txt`), "utf8")
        .split("\n")
        .slice(-15)
        .join("\n");
    } catch {
      return "";
    }
  }

  private grpcHost(s: SwitchSpec): string {
    return this.addressing === "topology" ? s.grpc.slice(0, s.grpc.lastIndexOf(":")) : "127.0.0.1";
  }

  grpcAddress = (s: SwitchSpec): string => `${this.grpcHost(s)}:${this.procs.get(s.name)!.grpcPort}`;

  /** The process id of each switch's process, by switch name (for CPU accounting and signals). */
  switchPids(): Map<string, number> {
    return new Map([...this.procs].flatMap(([name, p]) => (p.child.pid === undefined ? [] : [[name, p.child.pid] as const])));
  }

  thriftAddress = (s: SwitchSpec): { host: string; port: number } => ({ host: "127.0.0.1", port: this.procs.get(s.name)!.thriftPort });

  /**
   * A link: cut() drops its frames both ways in the relay, or with `carrier`
   * also takes the relay's veth ends down (the switches' ends lose their
   * carrier); restore() carries them again.
   */
  link(nameOrIndex: string | number): LinkControl {
    const i = typeof nameOrIndex === "number" ? nameOrIndex : this.topology.links.findIndex((l) => linkId(l) === nameOrIndex);
    const wire = this.wires[i];
    if (this.links === "direct") throw new Error("this network's links are plain veth pairs, with no relay to cut them");
    if (!wire) throw new Error(`no link "${nameOrIndex}"`);
    return {
      cut: (opts = {}) => {
        wire.up = false;
        if (opts.carrier) for (const p of wire.ports) ip("link", "set", "dev", p.ifname, "down");
      },
      restore: () => {
        for (const p of wire.ports) ip("link", "set", "dev", p.ifname, "up");
        wire.up = true;
      },
    };
  }

  /**
   * Where this machine, not a switch, lost frames since the network started:
   * the relays' and hosts' raw sockets (full receive queue, no room to send),
   * the veths' own drop counters, and the kernel's input backlog (softnet).
   * Empty when the host lost nothing, so a loss elsewhere is the switches'.
   */
  hostLosses(): string[] {
    const out: string[] = [];
    this.wires.forEach((w, i) => {
      for (const p of w.ports)
        if (hostDrops(p.stats()) > 0) out.push(`link ${linkId(this.topology.links[i]!)} relay ${p.name}: ${formatPortStats(p.stats())}`);
    });
    for (const [name, h] of this.hosts) {
      const s = h.end.stats?.();
      if (s && hostDrops(s) > 0) out.push(`host ${name}: ${formatPortStats(s)}`);
    }
    for (const i of this.allIfs) {
      const rx = sysCounter(i, "rx_dropped");
      const tx = sysCounter(i, "tx_dropped");
      if (rx + tx > 0) out.push(`veth ${i}: rx_dropped=${rx} tx_dropped=${tx}`);
    }
    const softnet = softnetDrops() - this.softnetAtStart;
    if (softnet > 0) out.push(`kernel input backlog (softnet_stat): ${softnet} dropped`);
    return out;
  }

  /** Kills a switch (SIGKILL) and leaves it dead. */
  async killSwitch(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no switch "${name}"`);
    await kill(p.child);
  }

  /** Starts a killed switch again with the same ports and addresses (no pipeline). */
  async startSwitch(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no switch "${name}"`);
    if (p.child.exitCode === null && p.child.signalCode === null) throw new Error(`switch "${name}" is running`);
    p.child = await this.launch(name, p.args, p.grpcPort, p.thriftPort);
  }

  /** The process of a switch (its pid, to check it is alive). */
  process(name: string): ChildProcess | undefined {
    return this.procs.get(name)?.child;
  }

  /** Kills a switch and starts it again with the same ports and addresses (no pipeline). */
  async restartSwitch(name: string, downMs = 0): Promise<void> {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no switch "${name}"`);
    await kill(p.child);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    p.child = await this.launch(name, p.args, p.grpcPort, p.thriftPort);
  }

  async stop(): Promise<void> {
    for (const h of this.hosts.values()) h.end.close();
    for (const w of this.wires) for (const p of w.ports) p.close();
    await Promise.all([...this.procs.values()].map((p) => kill(p.child)));
    for (const v of this.veths) {
      try {
        ip("link", "del", v);
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sysCounter(ifname: string, counter: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/statistics/${counter}`, "utf8"));
  } catch {
    return 0;
  }
}

/** Frames the kernel dropped for a full per-CPU input backlog, all CPUs (second column of /proc/net/softnet_stat, hex). */
function softnetDrops(): number {
  try {
    return readFileSync("/proc/net/softnet_stat", "utf8")
      .trim()
      .split("\n")
      .reduce((n, line) => n + parseInt(line.split(/\s+/)[1] ?? "0", 16), 0);
  } catch {
    return 0;
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await done;
}
