/**
 * The fault suite's lab: a topology on switch processes (embedded switches
 * as `p4cast switch` processes, or simple_switch_grpc) joined by veth pairs,
 * and controllers as `p4cast deploy --run` processes, so that a fault is a
 * real process killed, stopped or started again. Controller log lines are
 * kept with the time they arrived, so a test can measure detection and
 * repair from the outside.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Bmv2Network, CLI_MAIN, bmv2NetworkUnavailable, type SwitchProgram } from "../../src/lab/bmv2-network.js";
import { analyse, recordClients, sendStream, settle, streamFrame, type ClientLog } from "../../src/lab/stream.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import type { SessionSpec, Topology } from "../../src/controller/topology/schema.js";
import { formatMac } from "../../src/p4runtime/codec/values.js";
import { portMac } from "../../src/controller/topology/addressing.js";

export type Kind = "embedded" | "bmv2";
export const PROGRAM: Record<Kind, SwitchProgram> = { embedded: "p4cast", bmv2: "simple_switch_grpc" };

/** The switch kinds the fault suite runs on here, each with why it does not when it does not. */
export function faultKinds(): { kinds: Kind[]; skipped: string[] } {
  const kinds: Kind[] = [];
  const skipped: string[] = [];
  for (const k of ["embedded", "bmv2"] as const) {
    const why = bmv2NetworkUnavailable(PROGRAM[k]);
    if (why) skipped.push(`${k}: ${why}`);
    else kinds.push(k);
  }
  return { kinds, skipped };
}

/** Heartbeats per kind: eight switch processes, the controller and the test share two busy cores. */
export const HEARTBEAT: Record<Kind, { intervalMs: number; missThreshold: number }> = {
  embedded: { intervalMs: 200, missThreshold: 3 },
  bmv2: { intervalMs: 200, missThreshold: 3 },
};

/** mesh8 with session 1 always-redundant and session 2 tree-only. */
export function faultTopology(kind: Kind): Topology {
  const t = loadTopology("examples/mesh8.yaml");
  return {
    ...t,
    heartbeat: { ...HEARTBEAT[kind], mode: "fast" },
    sessions: [
      { ...t.sessions[0]!, redundancy: "always-redundant", meter: undefined },
      { ...t.sessions[1]!, redundancy: "tree-only", meter: undefined },
    ],
  };
}

export interface LogLine {
  /** When this process read the line (performance.now()). */
  readonly atMs: number;
  /**
   * When the controller wrote it, on the same clock: from the line's own
   * ISO time stamp where it has one (else atMs). A busy test process reads
   * lines late; bounds are judged on the controller's time.
   */
  readonly loggedAtMs: number;
  readonly text: string;
}

export class ControllerProcess {
  readonly lines: LogLine[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private waiters: { re: RegExp; after: number; resolve: (l: LogLine) => void }[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const onLine = (text: string) => {
      const atMs = performance.now();
      const stamp = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) /.exec(text);
      const lag = stamp ? Date.now() - Date.parse(stamp[1]!) : 0;
      const line = { atMs, loggedAtMs: atMs - Math.max(0, lag), text };
      this.lines.push(line);
      if (process.env.P4CAST_DEBUG) console.log(`${line.atMs.toFixed(0)} ${name}: ${text}`);
      this.waiters = this.waiters.filter((w) => {
        if (line.atMs < w.after || !w.re.test(text)) return true;
        w.resolve(line);
        return false;
      });
    };
    createInterface({ input: child.stderr! }).on("line", onLine);
    createInterface({ input: child.stdout! }).on("line", onLine);
    child.once("exit", (code, signal) => (this.exit = { code, signal }));
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** The first line matching `re` that arrived at or after `after` (performance.now()), within `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs: number, after = 0): Promise<LogLine> {
    const seen = this.lines.find((l) => l.atMs >= after && re.test(l.text));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `${this.name}: no log line matching ${re} within ${timeoutMs} ms; ` +
              `${this.exit ? `it exited (${JSON.stringify(this.exit)})` : "it is running"}; last lines:\n` +
              this.lines
                .slice(-25)
                .map((l) => `  ${l.text}`)
                .join("\n"),
          ),
        );
      }, timeoutMs);
      const done = (l: LogLine) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ re, after, resolve: done });
    });
  }

  linesSince(after: number, re: RegExp): LogLine[] {
    return this.lines.filter((l) => l.atMs >= after && re.test(l.text));
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.alive) return;
    const done = new Promise((r) => this.child.once("exit", r));
    this.child.kill(signal);
    await done;
  }
}

export interface FaultLab {
  readonly kind: Kind;
  readonly topology: Topology;
  readonly net: Bmv2Network;
  readonly file: string;
  readonly controllers: ControllerProcess[];
  startController(electionId: number, name?: string): Promise<ControllerProcess>;
  stop(): Promise<void>;
}

export async function startFaultLab(kind: Kind, topology = faultTopology(kind)): Promise<FaultLab> {
  const net = await Bmv2Network.start(topology, { program: PROGRAM[kind] });
  const dir = mkdtempSync(join(tmpdir(), "p4cast-faults-"));
  // The controller processes find the switches where the lab started them.
  const placed: Topology = {
    ...topology,
    switches: topology.switches.map((s) => ({
      ...s,
      grpc: net.grpcAddress(s),
      ...(kind === "bmv2" ? { thrift: `127.0.0.1:${net.thriftAddress(s).port}` } : {}),
    })),
  };
  const file = join(dir, "topology.json");
  writeFileSync(file, JSON.stringify(placed, null, 2));
  const controllers: ControllerProcess[] = [];
  return {
    kind,
    topology: placed,
    net,
    file,
    controllers,
    async startController(electionId, name = `controller-${electionId}`) {
      const child = spawn(process.execPath, [CLI_MAIN, "deploy", "--run", "-t", file, "--election-id", String(electionId)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const c = new ControllerProcess(name, child);
      controllers.push(c);
      await c.waitFor(/^running: /, 60_000);
      return c;
    },
    async stop() {
      for (const c of controllers) await c.kill("SIGTERM").catch(() => undefined);
      await net.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A session's sequenced stream from its source, and what every client got. */
export function sessionStream(lab: FaultLab, s: SessionSpec, extraClients: readonly string[] = []) {
  const t = lab.topology;
  const src = t.hosts.find((h) => h.name === s.source)!;
  const gwMac = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
  const logs = recordClients(lab.net.hosts, [...s.clients, ...extraClients], s.service.port);
  return {
    session: s,
    logs,
    frame: (seq: number) => streamFrame(src, gwMac, s, seq),
    host: lab.net.hosts.get(src.name)!,
  };
}

export type SessionStream = ReturnType<typeof sessionStream>;

/** Sends every stream at once, packet i of each at the same time; `at(i)` runs before packet i. */
export async function sendStreams(
  streams: readonly SessionStream[],
  count: number,
  intervalMs: number,
  at?: (i: number) => Promise<void> | void,
): Promise<void> {
  const frames = (i: number) => streams.map((s) => s.frame(i));
  const first = streams[0]!;
  // One pacing loop; the other streams' frames go out right after the first's.
  await sendStream(
    first.host,
    (i) => frames(i)[0]!,
    count,
    intervalMs,
    async (i) => {
      await at?.(i);
      for (const s of streams.slice(1)) s.host.send(s.frame(i));
    },
  );
}

export async function settleAll(streams: readonly SessionStream[]): Promise<void> {
  const all = new Map<string, ClientLog>();
  for (const s of streams) for (const [c, l] of s.logs) all.set(`${s.session.id}/${c}`, l);
  await settle(all, 500, 15_000);
}

/**
 * "c61 (session 1, always-redundant) missed 12 (seq 200–211), duplicated 0"
 * for every client that lost (from sequence `from` on) or duplicated.
 */
export function lossReport(stream: SessionStream, sent: number, clients: readonly string[] = [...stream.logs.keys()], from = 0): string[] {
  const out: string[] = [];
  for (const c of clients) {
    const log = stream.logs.get(c)!;
    const st = analyse({ seqs: log.seqs.filter((x) => x >= from) }, sent);
    const got = new Set(log.seqs);
    const missing = [...Array(sent - from).keys()].map((k) => k + from).filter((x) => !got.has(x));
    if (missing.length === 0 && st.duplicated === 0) continue;
    out.push(
      `${c} (session ${stream.session.id}, ${stream.session.redundancy}) ` +
        `missed ${missing.length} (${ranges(missing)}), duplicated ${st.duplicated}`,
    );
  }
  return out;
}

/** What to print next to a loss: where this machine lost frames outside the switches, if anywhere. */
export function hostLossNote(lab: FaultLab): string {
  const where = lab.net.hostLosses();
  return where.length === 0
    ? "the host lost no frame outside the switches (relays, veths, backlog)"
    : `the host itself lost frames: ${where.join("; ")}`;
}

/** 3,4,5,9 → "seq 3–5, 9". */
export function ranges(xs: readonly number[]): string {
  if (xs.length === 0) return "none";
  const parts: string[] = [];
  let a = xs[0]!;
  let b = a;
  for (const x of xs.slice(1)) {
    if (x === b + 1) {
      b = x;
      continue;
    }
    parts.push(a === b ? `${a}` : `${a}–${b}`);
    a = b = x;
  }
  parts.push(a === b ? `${a}` : `${a}–${b}`);
  return `seq ${parts.slice(0, 12).join(", ")}${parts.length > 12 ? `, … (${parts.length} runs)` : ""}`;
}
