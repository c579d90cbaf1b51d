/**
 * What every experiment shares: the command line (--target, --mininet,
 * --short, --out), bringing a topology up on embedded switches or
 * simple_switch_grpc (directly, or as a Mininet network) with a deployed
 * controller, a progress bar, the summary table, and the result
 * files (results.json, results.csv, plot.svg rendered headless by Vega-Lite).
 */
import type { CutOptions } from "../src/lab/link-control.js";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { Controller } from "../src/controller/controller.js";
import { EmbeddedNetwork } from "../src/lab/embedded-network.js";
import { Bmv2Network, bmv2NetworkUnavailable } from "../src/lab/bmv2-network.js";
import { MininetNetwork, mininetNetworkUnavailable } from "../src/lab/mininet-network.js";
import { loadPipeline } from "../src/controller/pipeline.js";
import type { Topology } from "../src/controller/topology/schema.js";
import type { HostPort } from "../src/switch/ports/virtual-link.js";
import { LiveServer } from "../src/controller/live/server.js";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export type Target = "embedded" | "bmv2";

export interface ExperimentOptions {
  /** The switch: the embedded switch or simple_switch_grpc. */
  readonly target: Target;
  /**
   * Build the network in Mininet (hosts in their own namespaces, one switch
   * process per switch, veth links) instead of directly: in-process embedded
   * switches, or simple_switch_grpc processes on veth pairs.
   */
  readonly mininet?: boolean;
  readonly short: boolean;
  /** Results go to <out>/<experiment>/<target>/ (Mininet: <out>/<experiment>/mininet-<target>/). */
  readonly out: string;
  /** No progress bar, no table (tests). */
  readonly quiet: boolean;
  /** Re-renders the CSV, plot and tables from an existing results.json (experiments that support it). */
  readonly replot?: boolean;
  /** Mininet: the launcher's state, logs and pcaps (default: a fresh temporary directory). */
  readonly mininetWorkdir?: string;
  /** Mininet: wait this long for another p4cast network on the machine to finish (default: fail at once). */
  readonly waitForMininetMs?: number;
  /** Serve the controller's live view (page, /api/state, /metrics) on this loopback host:port while the experiment runs. */
  readonly http?: string;
}

export function parseOptions(argv: readonly string[] = process.argv.slice(2)): ExperimentOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      target: { type: "string", default: "embedded" },
      mininet: { type: "boolean", default: false },
      short: { type: "boolean", default: false },
      out: { type: "string", default: join(REPO, "results") },
      quiet: { type: "boolean", default: false },
      replot: { type: "boolean", default: false },
      http: { type: "string" },
    },
  });
  const target = values.target;
  if (target !== "embedded" && target !== "bmv2") throw new Error(`--target must be embedded or bmv2 (got ${target})`);
  return {
    target,
    mininet: !!values.mininet,
    short: !!values.short,
    out: resolve(values.out!),
    quiet: !!values.quiet,
    replot: !!values.replot,
    ...(values.http ? { http: values.http } : {}),
  };
}

/** Runs `main` when the module is the program (not when a test imports it). */
export function isMain(url: string): boolean {
  return !!process.argv[1] && resolve(process.argv[1]) === fileURLToPath(url);
}

/** Where results of these options go below <out>/<experiment>/, and how they are labelled. */
export function runName(opts: Pick<ExperimentOptions, "target" | "mininet">): string {
  return opts.mininet ? `mininet-${opts.target}` : opts.target;
}

export interface Lab {
  readonly net: EmbeddedNetwork | Bmv2Network | MininetNetwork;
  readonly ctl: Controller;
  readonly hosts: ReadonlyMap<string, HostPort>;
  cut(link: number, opts?: CutOptions): void;
  restore(link: number): void;
  stop(): Promise<void>;
}

/** Starts the network for `target` (in Mininet with `mininet`), connects a controller and deploys. */
export async function bringUp(
  topology: Topology,
  opts: Pick<ExperimentOptions, "target" | "mininet" | "mininetWorkdir" | "waitForMininetMs" | "http">,
): Promise<Lab> {
  const { target } = opts;
  const mininet = !!opts.mininet;
  const why = mininet ? mininetNetworkUnavailable(target) : target === "bmv2" ? bmv2NetworkUnavailable() : undefined;
  if (why) throw new Error(`--target ${target}${mininet ? " --mininet" : ""}: ${why}`);
  const net = mininet
    ? await MininetNetwork.start(topology, {
        switch: target,
        ...(opts.mininetWorkdir ? { workdir: opts.mininetWorkdir } : {}),
        ...(opts.waitForMininetMs ? { waitForOtherNetworkMs: opts.waitForMininetMs } : {}),
      })
    : target === "embedded"
      ? await EmbeddedNetwork.start(topology)
      : await Bmv2Network.start(topology);
  const ctl = new Controller({
    topology,
    pipeline: await loadPipeline(),
    grpcAddress: net.grpcAddress,
    ...(target === "bmv2" && !(net instanceof EmbeddedNetwork) ? { thriftAddress: net.thriftAddress } : {}),
  });
  let live: LiveServer | undefined;
  try {
    if (opts.http) {
      live = await LiveServer.start(ctl, { address: opts.http });
      process.stderr.write(`live view: ${live.url}\n`);
    }
    await ctl.connect();
    await ctl.deploy();
  } catch (e) {
    await live?.close();
    await ctl.close();
    await net.stop();
    throw e;
  }
  return {
    net,
    ctl,
    hosts: net.hosts,
    cut: (l, o) => net.link(l).cut(o),
    restore: (l) => net.link(l).restore(),
    stop: async () => {
      await live?.close();
      await ctl.close();
      await net.stop();
    },
  };
}

/** A progress bar on stderr (nothing when quiet). */
export function progress(
  opts: ExperimentOptions,
  title: string,
  total: number,
): { update(n: number, label?: string): void; increment(label?: string): void; stop(): void } {
  if (opts.quiet || !process.stderr.isTTY) {
    let shown = "";
    const show = (label: string | undefined) => {
      if (opts.quiet || !label || label === shown) return;
      shown = label;
      process.stderr.write(`${title}: ${label}\n`);
    };
    return {
      update: (_n, label) => show(label),
      increment: (label) => show(label),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {percentage}% {value}/{total} {label}`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label: "" });
  return {
    update: (n, label) => bar.update(n, label !== undefined ? { label } : {}),
    increment: (label) => bar.increment(1, label !== undefined ? { label } : {}),
    stop: () => bar.stop(),
  };
}

export type Row = Record<string, string | number | boolean | null>;

/** Prints rows as a table (columns = keys of the first row). */
export function printTable(opts: ExperimentOptions, title: string, rows: readonly Row[]): void {
  if (opts.quiet || rows.length === 0) return;
  const head = Object.keys(rows[0]!);
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(head.map((k) => fmt(r[k])));
  process.stdout.write(`${title}\n${t.toString()}\n`);
}

function fmt(v: Row[string] | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  return String(v);
}

export function toCsv(rows: readonly Row[]): string {
  if (rows.length === 0) return "";
  const head = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: Row[string] | undefined) => {
    if (v === null || v === undefined) return "";
    const s = typeof v === "number" && !Number.isInteger(v) ? String(Math.round(v * 1000) / 1000) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[head.join(","), ...rows.map((r) => head.map((k) => cell(r[k])).join(","))].join("\n")}\n`;
}

/** Renders a Vega-Lite spec to SVG without a browser. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  let vega: typeof import("vega");
  let vl: typeof import("vega-lite");
  try {
    vega = await import("vega");
    vl = await import("vega-lite");
  } catch (e) {
    throw new Error(
      `the plots need vega and vega-lite (npm install -D vega@^6.4.0 vega-lite@^6.5.0): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const compiled = vl.compile({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", background: "white", ...spec } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export interface Written {
  readonly dir: string;
  readonly json: string;
  readonly csv: string;
  readonly svg: string;
}

/** Writes results.json, results.csv and plot.svg under <out>/<experiment>/<target>/. */
export async function writeResults(
  opts: ExperimentOptions,
  experiment: string,
  json: unknown,
  csvRows: readonly Row[],
  plot: Record<string, unknown>,
): Promise<Written> {
  const dir = join(opts.out, experiment, runName(opts));
  mkdirSync(dir, { recursive: true });
  const w: Written = { dir, json: join(dir, "results.json"), csv: join(dir, "results.csv"), svg: join(dir, "plot.svg") };
  writeFileSync(w.json, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`);
  writeFileSync(w.csv, toCsv(csvRows));
  writeFileSync(w.svg, await renderSvg(plot));
  if (!opts.quiet) process.stdout.write(`results: ${w.json}, ${w.csv}, ${w.svg}\n`);
  return w;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The command that reproduces a run of `experiment` with these options (from the repository root). */
export function experimentCommand(experiment: string, opts: ExperimentOptions): string {
  return [
    "npx tsx",
    `experiments/${experiment}.ts`,
    "--target",
    opts.target,
    ...(opts.mininet ? ["--mininet"] : []),
    ...(opts.short ? ["--short"] : []),
  ].join(" ");
}

/** The checked-out commit (with "-dirty" when the tree has changes), or "unknown" outside a git checkout. */
function sourceCommit(): string {
  const run = (args: string[]) => spawnSync("git", ["-C", REPO, ...args], { encoding: "utf8" });
  const head = run(["rev-parse", "--short=12", "HEAD"]);
  if (head.status !== 0) return "unknown";
  const dirty = run(["status", "--porcelain", "--untracked-files=no"]).stdout.trim() !== "";
  return head.stdout.trim() + (dirty ? "-dirty" : "");
}

/** The environment a result was measured in, and how to measure it again (kept in results.json). */
export function environment(experiment: string, opts: ExperimentOptions): Row {
  return {
    command: experimentCommand(experiment, opts),
    commit: sourceCommit(),
    date: new Date().toISOString(),
    target: opts.target,
    network: opts.mininet ? "mininet" : opts.target === "embedded" ? "in-process" : "veth",
    short: opts.short,
    node: process.version,
    cores: availableParallelism(),
    loadAverage: loadavg()
      .map((x) => Math.round(x * 100) / 100)
      .join(" "),
  };
}

/**
 * What a host's UDP sockets received on one port: sequence numbers (first 4
 * bytes, big-endian) and arrival times (ms, this process's performance clock).
 */
export interface UdpLog {
  readonly seqs: number[];
  readonly at: number[];
}

/**
 * The host kernel's UDP counters over a recording (differences of
 * /proc/net/snmp in the host's namespace): datagrams delivered to sockets,
 * and datagrams its sockets had no room for (the recorder did not read in
 * time) or that were bad.
 */
export interface UdpKernelCounters {
  readonly inDatagrams: number;
  readonly rcvbufErrors: number;
  readonly inErrors: number;
}

/** The receive buffer the recorder asks for (the kernel caps it at net.core.rmem_max). */
export const RECORDER_RCVBUF = 4 * 1024 * 1024;

/**
 * Mininet: UDP sockets in `host` bound to `ports` (IPv4 and IPv6) record
 * every datagram its kernel accepts — sequence number and arrival time.
 * `ready` resolves once the sockets are bound; count() says how many
 * datagrams arrived so far; stop() ends the recording and returns the log
 * of each port, times converted to this process's performance.now() clock;
 * then `kernel` holds the host kernel's UDP counters over the recording.
 * `rcvbuf`: the sockets' receive buffer to ask for (default: the kernel's).
 */
export interface UdpRecorder {
  readonly ready: Promise<void>;
  count(): Promise<number>;
  stop(): Promise<Map<number, UdpLog>>;
  readonly kernel: UdpKernelCounters | undefined;
  /** The sockets' receive buffer as the kernel reports it (bytes). */
  readonly rcvbuf: number | undefined;
}

export function udpRecorder(mn: MininetNetwork, host: string, ports: readonly number[], rcvbuf?: number): UdpRecorder {
  // /proc/net/snmp is the namespace's: the host's kernel counts what its sockets dropped.
  const script = `
    const dgram = require("node:dgram");
    const fs = require("node:fs");
    const udp = () => {
      const lines = fs.readFileSync("/proc/net/snmp", "utf8").split("\\n").filter((l) => l.startsWith("Udp:"));
      const keys = lines[0].split(/\\s+/), vals = lines[1].split(/\\s+/).map(Number);
      const get = (k) => vals[keys.indexOf(k)] ?? 0;
      return { inDatagrams: get("InDatagrams"), rcvbufErrors: get("RcvbufErrors"), inErrors: get("InErrors") };
    };
    const logs = {};
    let bound = 0, before, rcvbuf = Infinity;
    for (const port of ${JSON.stringify(ports)}) {
      logs[port] = { seqs: [], at: [] };
      for (const type of ["udp4", "udp6"]) {
        const s = dgram.createSocket({ type, ipv6Only: type === "udp6"${rcvbuf ? `, recvBufferSize: ${rcvbuf}` : ""} });
        s.on("message", (m) => {
          if (m.length < 4) return;
          logs[port].seqs.push(m.readUInt32BE(0));
          logs[port].at.push(performance.timeOrigin + performance.now());
        });
        s.on("error", (e) => { process.stderr.write(String(e) + "\\n"); process.exit(1); });
        s.bind(port, () => {
          rcvbuf = Math.min(rcvbuf, s.getRecvBufferSize());
          if (++bound === ${2 * ports.length}) { before = udp(); process.stdout.write("ready\\n"); }
        });
      }
    }
    // A line on stdin: how many datagrams so far; end of stdin: the logs.
    const input = require("node:readline").createInterface({ input: process.stdin });
    input.on("line", () => process.stdout.write("count " + Object.values(logs).reduce((n, l) => n + l.seqs.length, 0) + "\\n"));
    input.on("close", () => {
      const after = udp();
      const kernel = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
      process.stdout.write("logs " + JSON.stringify({ logs, kernel, rcvbuf }) + "\\n");
      process.exit(0);
    });
  `;
  const child = mn.exec(host, process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const counts: ((n: number) => void)[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      const before = out.length;
      out += d.toString();
      if (out.includes("ready\n")) resolve();
      for (const m of out.slice(Math.max(0, out.lastIndexOf("\n", before - 1) + 1)).matchAll(/^count (\d+)\n/gm))
        counts.shift()?.(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`the UDP recorder in ${host} exited: ${err.trim()}`)));
  });
  let kernel: UdpKernelCounters | undefined;
  let rcvbufBytes: number | undefined;
  return {
    ready,
    count: () =>
      new Promise<number>((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null)
          return reject(new Error(`the UDP recorder in ${host} exited: ${err.trim()}`));
        counts.push(resolve);
        child.stdin!.write("?\n");
      }),
    stop: async () => {
      child.stdin!.end();
      await exited;
      const line = out.split("\n").find((l) => l.startsWith("logs "));
      if (!line) throw new Error(`the UDP recorder in ${host} printed no logs: ${err.trim()}`);
      const raw = JSON.parse(line.slice(5)) as { logs: Record<string, UdpLog>; kernel: UdpKernelCounters; rcvbuf: number };
      kernel = raw.kernel;
      rcvbufBytes = raw.rcvbuf;
      // Absolute (epoch) milliseconds from the host's process -> this process's performance clock.
      const shift = performance.timeOrigin;
      return new Map(Object.entries(raw.logs).map(([p, l]) => [Number(p), { seqs: l.seqs, at: l.at.map((t) => t - shift) }]));
    },
    get kernel() {
      return kernel;
    },
    get rcvbuf() {
      return rcvbufBytes;
    },
  };
}
