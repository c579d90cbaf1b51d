/**
 * A topology brought up in Mininet by mininet/p4cast_net.py: one Mininet
 * host (its own network namespace, addresses, routes, neighbours) per host,
 * one switch process per switch (simple_switch_grpc, or the embedded switch
 * on raw sockets) and one veth pair per link. This process drives it from
 * outside, as EmbeddedNetwork and Bmv2Network are driven:
 *
 * - hosts: a HostPort per host over a raw socket opened *inside* the host's
 *   namespace on its interface (RawSocketPort's netns option), so frames
 *   leave and enter through the Mininet host's own interface, next to its
 *   kernel stack; `exec` runs a program in the host (ping, a socket server).
 * - links: cut() puts the blackhole queueing discipline on both veth ends
 *   (frames dropped both ways, interfaces up; a veth taken down stalls
 *   simple_switch's transmit path on every port), restore() removes it.
 *
 * Needs root, Debian's mininet for /usr/bin/python3, the AF_PACKET addon,
 * dist/ built (the launcher reads the topology through the CLI), and
 * simple_switch_grpc for bmv2.
 */
import type { LinkControl } from "./link-control.js";
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HostPort } from "../switch/ports/virtual-link.js";
import {
  RawSocketPort,
  afpacketAddonPath,
  afpacketAvailable,
  AFPACKET_BUILD_COMMAND,
  type RawSocketStats,
} from "../switch/ports/raw-socket.js";
import { parsePortStats, type PortStats } from "../switch/ports/port.js";
import type { SwitchSpec, Topology } from "../controller/topology/schema.js";
import { linkId } from "../controller/topology/graph.js";
import { interfaceName } from "../controller/topology/addressing.js";
import { onPath } from "./on-path.js";

export type MininetSwitchKind = "bmv2" | "embedded";

/** src/lab and dist/lab are both two levels below the repository root. */
const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const LAUNCHER = join(REPO, "mininet", "p4cast_net.py");
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

let namespaceProbe: string | undefined | null = null;

/**
 * Why this machine cannot make network namespaces with veth pairs (a
 * container without CAP_SYS_ADMIN, say), or undefined. Probed once, in a
 * throwaway namespace that disappears with the probe.
 */
export function networkNamespacesUnavailable(): string | undefined {
  if (namespaceProbe !== null) return namespaceProbe;
  const r = spawnSync("unshare", ["--net", "--", "ip", "link", "add", "p4probe0", "type", "veth", "peer", "name", "p4probe1"], {
    encoding: "utf8",
  });
  namespaceProbe =
    r.status === 0
      ? undefined
      : "cannot make a network namespace with a veth pair here (unshare --net; ip link add … type veth): " +
        (r.stderr || r.error?.message || "").trim();
  return namespaceProbe;
}

/** Why a Mininet network of this switch kind cannot be built here, or undefined. */
export function mininetNetworkUnavailable(kind: MininetSwitchKind): string | undefined {
  if (process.platform !== "linux") return "Mininet needs Linux";
  if (process.getuid?.() !== 0) return "Mininet needs root";
  if (spawnSync(PYTHON, ["-c", "import mininet.net"], { stdio: "ignore" }).status !== 0) {
    return `Mininet is not installed for ${PYTHON} (apt-get install -y --no-install-recommends mininet)`;
  }
  if (!onPath("ethtool") || !onPath("tc") || !onPath("nsenter"))
    return "ethtool, tc and nsenter are needed (apt-get install -y ethtool iproute2 util-linux)";
  const ns = networkNamespacesUnavailable();
  if (ns) return ns;
  if (!afpacketAvailable()) return `the AF_PACKET addon is not built (${afpacketAddonPath()}); run ${AFPACKET_BUILD_COMMAND}`;
  if (kind === "bmv2" && !onPath("simple_switch_grpc")) return "simple_switch_grpc is not on PATH";
  // The launcher resolves the topology with the controller's CLI; the embedded switch is that CLI too.
  if (!existsSync(join(REPO, "dist", "cli", "main.js"))) return "dist/cli/main.js is missing: npm run build";
  return undefined;
}

/** The parts of the launcher's network.json this class uses. */
interface NetworkFile {
  switches: {
    name: string;
    grpc: string;
    thrift: string | null;
    log: string;
    pid: number | null;
    ports: { port: number; intf: string }[];
  }[];
  hosts: { name: string; intf: string; netns: string; pid: number }[];
}

/** One switch port's counters as its switch process reported them. */
export interface SwitchPortCounters {
  readonly switch: string;
  readonly port: number;
  readonly stats: PortStats;
}

/** A veth end's own drop counters (the kernel's, /sys/class/net/<if>/statistics): frames lost between two sockets. */
export interface InterfaceDrops {
  readonly node: string;
  readonly intf: string;
  readonly rxDropped: number;
  readonly txDropped: number;
}

export interface MininetNetworkOptions {
  readonly switch: MininetSwitchKind;
  /** Launcher state, logs (and pcaps with `pcap`); default: a fresh directory under the temporary directory. */
  readonly workdir?: string;
  /** Per-interface pcap files (default: off; they cost CPU at every frame). */
  readonly pcap?: boolean;
  /** Switch log level (default: warn). */
  readonly logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "off";
  /** Launcher progress lines (default: none). */
  readonly onOutput?: (line: string) => void;
  /**
   * One p4cast network runs per machine (the launcher holds a lock): wait up
   * to this long for another one to finish instead of failing (default 0).
   */
  readonly waitForOtherNetworkMs?: number;
}

export class MininetNetwork {
  readonly hosts = new Map<string, HostPort>();
  private readonly ports: RawSocketPort[] = [];
  private info: NetworkFile | undefined;
  private launcher: ChildProcess | undefined;
  private readonly output: string[] = [];
  /** Programs started in hosts by exec(); killed by stop(). */
  private readonly children = new Set<ChildProcess>();

  private constructor(
    readonly topology: Topology,
    readonly kind: MininetSwitchKind,
    private readonly dir: string,
    private readonly ownDir: boolean,
  ) {}

  static async start(topology: Topology, opts: MininetNetworkOptions): Promise<MininetNetwork> {
    const why = mininetNetworkUnavailable(opts.switch);
    if (why) throw new Error(why);
    const until = Date.now() + (opts.waitForOtherNetworkMs ?? 0);
    for (;;) {
      const dir = opts.workdir ?? mkdtempSync(join(tmpdir(), "p4cast-mininet-lab-"));
      const net = new MininetNetwork(topology, opts.switch, dir, opts.workdir === undefined);
      try {
        await net.launch(opts);
        net.openHosts();
        return net;
      } catch (e) {
        await net.stop();
        if (!(e instanceof OtherNetworkRunning) || Date.now() >= until) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async launch(opts: MininetNetworkOptions): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const topoFile = join(this.dir, "topology.json");
    writeFileSync(topoFile, JSON.stringify(this.topology, null, 1));
    const args = [
      LAUNCHER,
      "--topology",
      topoFile,
      "--switch",
      this.kind,
      "--workdir",
      join(this.dir, "net"),
      "--log-level",
      opts.logLevel ?? "warn",
    ];
    if (!opts.pcap) args.push("--no-pcap");
    const child = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"], cwd: REPO });
    this.launcher = child;
    const lines = createInterface({ input: child.stdout! });
    const errLines = createInterface({ input: child.stderr! });
    const keep = (l: string) => {
      this.output.push(l);
      if (this.output.length > 60) this.output.shift();
      opts.onOutput?.(l);
    };
    errLines.on("line", keep);
    const ready = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => {
        const text = this.output.slice(-25).join("\n");
        reject(
          text.includes("another p4cast network is running")
            ? new OtherNetworkRunning(text)
            : new Error(`the Mininet launcher exited (${code}) before the network was up:\n${text}`),
        );
      };
      child.once("exit", onExit);
      lines.on("line", (l) => {
        keep(l);
        const m = /^p4cast-net: ready: (.+)$/.exec(l);
        if (m) {
          child.off("exit", onExit);
          resolve(m[1]!);
        }
      });
    });
    this.info = JSON.parse(readFileSync(ready, "utf8")) as NetworkFile;
  }

  private openHosts(): void {
    for (const h of this.info!.hosts) {
      const port = new RawSocketPort(h.intf, { name: `${h.name}-eth0`, netns: `/proc/${h.pid}/ns/net` });
      this.ports.push(port);
      this.hosts.set(h.name, new HostPort(port));
    }
  }

  private switchInfo(name: string): NetworkFile["switches"][number] {
    const s = this.info?.switches.find((x) => x.name === name);
    if (!s) throw new Error(`no switch "${name}" in the Mininet network`);
    return s;
  }

  /** The P4Runtime address of a switch (for ControllerOptions.grpcAddress). */
  grpcAddress = (s: SwitchSpec): string => this.switchInfo(s.name).grpc;

  /** simple_switch_grpc's Thrift address (bmv2 only). */
  thriftAddress = (s: SwitchSpec): { host: string; port: number } => {
    const t = this.switchInfo(s.name).thrift;
    if (!t) throw new Error(`switch "${s.name}" has no Thrift server (${this.kind})`);
    const i = t.lastIndexOf(":");
    return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
  };

  /** A switch's log file (the launcher's --log-console output). */
  logFile(name: string): string {
    return this.switchInfo(name).log;
  }

  /**
   * A link between switches: cut() drops its frames both ways with the
   * blackhole queueing discipline on both veth ends (interfaces stay up), or
   * with `carrier` also takes both ends down; restore() undoes either.
   */
  link(nameOrIndex: string | number): LinkControl {
    const i = typeof nameOrIndex === "number" ? nameOrIndex : this.topology.links.findIndex((l) => linkId(l) === nameOrIndex);
    const l = this.topology.links[i];
    if (!l) throw new Error(`no link "${nameOrIndex}"`);
    const intfs = l.ends.map((e) => interfaceName(this.topology.switches.find((x) => x.name === e.switch)!, e.port));
    return {
      cut: (opts = {}) => {
        for (const f of intfs) tc("qdisc", "replace", "dev", f, "root", "blackhole");
        if (opts.carrier) for (const f of intfs) ipLink(f, "down");
      },
      restore: () => {
        for (const f of intfs) ipLink(f, "up");
        for (const f of intfs) tc("qdisc", "del", "dev", f, "root");
      },
    };
  }

  /**
   * Runs a program inside a host's network namespace (ping, a socket
   * server, node -e ...). The child is killed when the network stops.
   */
  exec(host: string, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const h = this.info?.hosts.find((x) => x.name === host);
    if (!h) throw new Error(`no host "${host}" in the Mininet network`);
    const child = spawn("nsenter", [`--net=/proc/${h.pid}/ns/net`, "--", command, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      ...options,
    });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    return child;
  }

  /**
   * Embedded switches: every port's counters (frames in and out, the
   * kernel's receive-queue drops, send failures), asked of each switch
   * process with SIGUSR2 and read back from its log. simple_switch_grpc has
   * no such counters: an empty list.
   */
  async switchCounters(timeoutMs = 5000): Promise<SwitchPortCounters[]> {
    if (this.kind !== "embedded" || !this.info) return [];
    const out: SwitchPortCounters[] = [];
    await Promise.all(
      this.info.switches.map(async (sw) => {
        if (!sw.pid) return;
        const from = fileSize(sw.log);
        try {
          process.kill(sw.pid, "SIGUSR2");
        } catch (e) {
          throw new Error(`switch ${sw.name} (pid ${sw.pid}) cannot be asked for its counters: ${(e as Error).message}`);
        }
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const text = readFrom(sw.log, from);
          const end = new RegExp(`^\\[${sw.name}\\] stats #(\\d+) end`, "m").exec(text);
          if (end) {
            const re = new RegExp(`^\\[${sw.name}\\] stats #${end[1]} port=(\\d+) (.*)$`, "gm");
            for (const m of text.matchAll(re)) out.push({ switch: sw.name, port: Number(m[1]), stats: parsePortStats(m[2]!) });
            return;
          }
          if (Date.now() > deadline)
            throw new Error(`switch ${sw.name} printed no counters within ${timeoutMs} ms of SIGUSR2 (log ${sw.log})`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    return out.sort((a, b) => a.switch.localeCompare(b.switch, "en", { numeric: true }) || a.port - b.port);
  }

  /** The counters of this process's raw sockets in the hosts (the frames it sent and captured as each host). */
  hostCounters(): Map<string, RawSocketStats> {
    return new Map(this.ports.map((p, i) => [this.info!.hosts[i]!.name, p.stats()]));
  }

  /**
   * The kernel's own drop counters of every veth end (switch side in this
   * namespace, host side in the host's): a veth counts a frame it could not
   * hand to the other end (the receiving CPU's backlog full).
   */
  interfaceDrops(): InterfaceDrops[] {
    if (!this.info) return [];
    const out: InterfaceDrops[] = [];
    for (const sw of this.info.switches) {
      for (const p of sw.ports) {
        const st = (k: string) => Number(readIfExists(`/sys/class/net/${p.intf}/statistics/${k}`) ?? NaN);
        out.push({ node: sw.name, intf: p.intf, rxDropped: st("rx_dropped"), txDropped: st("tx_dropped") });
      }
    }
    for (const h of this.info.hosts) {
      const r = spawnSync("ip", ["-n", h.netns, "-s", "-j", "link", "show", "dev", h.intf], { encoding: "utf8" });
      const j =
        r.status === 0 ? (JSON.parse(r.stdout) as { stats64?: { rx?: { dropped?: number }; tx?: { dropped?: number } } }[])[0] : undefined;
      out.push({ node: h.name, intf: h.intf, rxDropped: j?.stats64?.rx?.dropped ?? NaN, txDropped: j?.stats64?.tx?.dropped ?? NaN });
    }
    return out;
  }

  /** The launcher's last output lines (for error messages). */
  get lastOutput(): string {
    return this.output.join("\n");
  }

  async stop(): Promise<void> {
    for (const c of this.children) c.kill("SIGKILL");
    for (const p of this.ports) p.close();
    this.hosts.clear();
    const child = this.launcher;
    if (child && child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await done;
      clearTimeout(t);
    }
    this.launcher = undefined;
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function fileSize(path: string): number {
  try {
    const fd = openSync(path, "r");
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}

/** A file's text from byte `offset` on ("" when missing). */
function readFrom(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** The launcher refused because another p4cast network holds the machine. */
class OtherNetworkRunning extends Error {}

function ipLink(intf: string, state: "up" | "down"): void {
  const r = spawnSync("ip", ["link", "set", "dev", intf, state], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip link set dev ${intf} ${state}: ${r.stderr.trim()}`);
}

function tc(...args: string[]): void {
  const r = spawnSync("tc", args, { encoding: "utf8" });
  if (r.status !== 0 && !(args[0] === "qdisc" && args[1] === "del" && /handle of zero|Cannot find|No such file/.test(r.stderr))) {
    throw new Error(`tc ${args.join(" ")}: ${r.stderr.trim()}`);
  }
}
