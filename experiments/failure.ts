/**
 * Reliable multicast under failure (npx tsx experiments/failure.ts --target embedded|bmv2 [--short]).
 *
 * examples/mesh8.yaml with three sessions from the same source to the same
 * six clients, one per redundancy mode (tree-only, overlay-on-failure,
 * always-redundant). The source streams sequenced UDP into all three at a
 * fixed rate; a tree link (the last link of s6's branch) is cut a third of
 * the way in. Three runs, one after the other, one per way of repairing:
 *   controller  heartbeat mode fast: the controller judges the link and
 *               repairs the trees;
 *   dataplane   heartbeat mode dataplane: the switch next to the cut judges
 *               its peer and its backup replica takes the detour at once
 *               (switches that keep backups: the embedded switch); the
 *               controller repairs afterwards;
 *   carrier     as dataplane, but the cut takes the link's carrier too (a
 *               pulled cable rather than a silent path): the switch's port
 *               goes down at once and the backup needs no verdict.
 * Per run, client and mode: lost, duplicated, reordered, and the outage
 * (longest gap × rate).
 * In Mininet (--mininet) the source's frames leave through the src host's
 * own interface and every client's kernel receives them: UDP sockets in
 * each client host record the sequence numbers and arrival times.
 */
import { formatMac } from "../src/p4runtime/codec/values.js";
import { portMac } from "../src/controller/topology/addressing.js";
import { loadTopology } from "../src/controller/topology/load.js";
import type { FailoverReport } from "../src/controller/controller.js";
import { type PipelineDrop, dropsBetween, formatDrops, readDropCounters } from "../src/controller/drop-reasons.js";
import type { SessionSpec, Topology } from "../src/controller/topology/schema.js";
import { analyse, settle, streamFrame } from "../src/lab/stream.js";
import { decodeFrame } from "../src/packet/index.js";
import { MininetNetwork, type InterfaceDrops, type SwitchPortCounters } from "../src/lab/mininet-network.js";
import { hostDrops, type PortStats } from "../src/switch/ports/port.js";
import type { Adjacency } from "../src/controller/topology/graph.js";
import {
  REPO,
  RECORDER_RCVBUF,
  bringUp,
  udpRecorder,
  environment,
  type UdpKernelCounters,
  type UdpRecorder,
  isMain,
  parseOptions,
  printTable,
  progress,
  sleep,
  writeResults,
  type ExperimentOptions,
  type Row,
  type Target,
  runName,
} from "./lib.js";
import { join } from "node:path";

export const MODES = ["tree-only", "overlay-on-failure", "always-redundant"] as const;
export type Mode = (typeof MODES)[number];

/** The three ways a cut is repaired, compared in one run (see above). */
export const REPAIRS = ["controller", "dataplane", "carrier"] as const;
export type Repair = (typeof REPAIRS)[number];
/** The warm-up stream before each measured one: its length, and its first sequence number (above any measured one). */
const WARMUP_MS = 1000;
const WARMUP_SEQ = 1_000_000;

const REPAIR_HEARTBEAT: Record<Repair, Topology["heartbeat"]["mode"]> = {
  controller: "fast",
  dataplane: "dataplane",
  carrier: "dataplane",
};

export interface ClientResult {
  readonly repair: Repair;
  readonly mode: Mode;
  readonly session: number;
  readonly client: string;
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly reordered: number;
  readonly longestGap: number;
  readonly outageMs: number;
  /** The missing sequence numbers as ranges ("500-548 731"). */
  readonly missing: string;
  /** Longest time from a packet's send to its arrival at this client (ms): how far behind the switches ran. */
  readonly maxDelayMs: number;
}

/** "3-5 9" for [3, 4, 5, 9]. */
export function ranges(xs: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(j > i ? `${xs[i]}-${xs[j]}` : `${xs[i]}`);
    i = j + 1;
  }
  return out.join(" ");
}

/**
 * Mininet: where the host (rather than the protocol) could have lost
 * frames, counted by the kernel and the switches, so a loss can be told
 * apart from the protocol's.
 */
export interface HostCounters {
  /** Every port of every embedded switch (none for simple_switch_grpc). */
  readonly switchPorts: SwitchPortCounters[];
  /** The source host's raw socket (this process sends the stream through it). */
  readonly source: { host: string; txFrames: number; txNoBuffer: number; txLinkDown: number; txErrors: number };
  /** Per client: its kernel's UDP counters over the recording, and its sockets' receive buffer (bytes). */
  readonly udp: Record<string, UdpKernelCounters & { rcvbuf: number | null }>;
  /** Every veth end's own drop counters. */
  readonly interfaces: InterfaceDrops[];
  /** Per "session/client": the switch ports its packets cross ("s1:1"), tree and overlay, before the cut. */
  readonly paths: Record<string, string[]>;
}

/** One repair's run. */
export interface RepairRun {
  readonly repair: Repair;
  readonly heartbeat: Topology["heartbeat"];
  /** Whether the switches kept backup replicas (P4Runtime 1.5 servers: the embedded switch; simple_switch_grpc does not). */
  readonly backups: boolean;
  readonly cutLink: string;
  readonly detection: {
    /** From the cut to the controller's verdict. */
    cutToVerdictMs: number | null;
    seqAtVerdict: number | null;
    /**
     * Data-plane verdicts: the stream's position when the controller heard the cut link's upstream end (the
     * switch whose replica has the backup) judge it down. That switch marked the port down before it sent the
     * digest, so nothing it forwarded later went the cut way; null when it was not heard (other modes).
     */
    seqAtSwitchVerdict: number | null;
    seqAtRepair: number | null;
    failover: FailoverReport[];
  };
  readonly clients: ClientResult[];
  /**
   * What the switches' pipelines dropped while the measured stream ran (their drop counters, per gress and
   * reason; consumed heartbeat responses left out): a copy the protocol itself dropped says where and why.
   */
  readonly pipelineDrops: PipelineDrop[];
  /** Mininet only. */
  readonly hostCounters?: HostCounters;
}

export interface FailureResults {
  readonly experiment: "failure";
  readonly environment: Row;
  readonly settings: { rateMs: number; packets: number; cutAtSeq: number };
  readonly runs: RepairRun[];
  /** Repairs not run on this target, and why. */
  readonly skipped: { repair: Repair; why: string }[];
}

/**
 * Why a repair is not run on a target, if it is not. simple_switch_grpc in
 * Mininet: a switch interface set down (the carrier cut) stopped that
 * switch forwarding on every port (its other links were declared down and
 * c61 lost every packet after the cut, always-redundant included, in a run
 * of 3 December); simple_switch_grpc keeps no backups anyway.
 */
export function repairSkipped(opts: Pick<ExperimentOptions, "target" | "mininet">, repair: Repair): string | undefined {
  if (repair === "carrier" && opts.mininet && opts.target === "bmv2")
    return "a simple_switch_grpc interface set down stopped that switch forwarding on all its ports; it keeps no backups anyway";
  return undefined;
}

/**
 * One client's loss in words, for assertion messages: who, which mode, the
 * missing sequence numbers, and what the host counted on its path — so a
 * failure says whether an overloaded machine dropped the frames (and where)
 * or the protocol lost them.
 *   "c71 (overlay-on-failure, session 2) missed seq 120-130 (11); host drops on its path: s4 port 4 kernelDrops=11; …"
 */
export function lossReport(r: RepairRun, c: ClientResult): string {
  const missed = c.lost > 0 ? `seq ${c.missing} (${c.lost})` : "nothing";
  const duplicated = c.duplicated ? `, ${c.duplicated} duplicated` : "";
  const verdicts = r.detection.failover.map((f) => `${f.link} ${f.up ? "up" : "down"}`).join(", ") || "none";
  const who = `${c.client} (${c.mode}, session ${c.session}, ${c.repair} repair)`;
  const drops = formatDrops(r.pipelineDrops);
  const d = r.detection;
  const own = d.seqAtSwitchVerdict !== null ? `the upstream switch's own verdict heard at seq ${d.seqAtSwitchVerdict}, ` : "";
  const at = `${own}verdict at seq ${d.seqAtVerdict ?? "-"}, repair done at seq ${d.seqAtRepair ?? "-"}`;
  const context = `max delay ${c.maxDelayMs} ms; link verdicts: ${verdicts}; ${at}; pipeline drops: ${drops}`;
  const head = `${who} missed ${missed}${duplicated} (${context})`;
  const h = r.hostCounters;
  if (!h) return head;
  const path = new Set(h.paths[`${c.session}/${c.client}`] ?? []);
  const onPath = h.switchPorts
    .filter((p) => path.has(`${p.switch}:${p.port}`) && hostDrops(p.stats) > 0)
    .map((p) => `${p.switch} port ${p.port} ${dropText(p.stats)}`);
  const src =
    h.source.txNoBuffer + h.source.txLinkDown + h.source.txErrors > 0
      ? [`source ${h.source.host} send failures ${h.source.txNoBuffer + h.source.txLinkDown + h.source.txErrors}`]
      : [];
  const u = h.udp[c.client];
  const udp =
    u && u.rcvbufErrors + u.inErrors > 0
      ? [`${c.client} UDP RcvbufErrors=${u.rcvbufErrors} InErrors=${u.inErrors} (rcvbuf ${u.rcvbuf} bytes)`]
      : [];
  const veths = h.interfaces
    .filter((i) => i.rxDropped + i.txDropped > 0)
    .map((i) => `${i.intf} rx_dropped=${i.rxDropped} tx_dropped=${i.txDropped}`);
  const elsewhere = h.switchPorts
    .filter((p) => !path.has(`${p.switch}:${p.port}`) && hostDrops(p.stats) > 0)
    .map((p) => `${p.switch} port ${p.port} ${dropText(p.stats)}`);
  const counted = [...src, ...onPath, ...udp, ...veths];
  const ports = [...path].join(" ");
  const onItsPath =
    counted.length > 0
      ? `host drops on its path: ${counted.join("; ")}`
      : `no host drop counted on its path (switch ports ${ports || "-"}, the source's socket, ${c.client}'s UDP sockets, the veths)`;
  return `${head}; ${onItsPath}${elsewhere.length > 0 ? `; elsewhere: ${elsewhere.join("; ")}` : ""}`;
}

/**
 * Mininet: the frames the host itself counted as dropped where a client's
 * packets pass (the source's socket, the switch ports on its path, the
 * client's UDP sockets, the client's own veth), 0 when nothing was counted or
 * outside Mininet. A single-copy mode's loss up to this many frames is the
 * machine's, not the protocol's.
 */
export function hostDropsOnPath(r: RepairRun, c: ClientResult): number {
  const h = r.hostCounters;
  if (!h) return 0;
  const path = new Set(h.paths[`${c.session}/${c.client}`] ?? []);
  const n = (x: number) => (Number.isFinite(x) ? x : 0);
  const ports = h.switchPorts.filter((p) => path.has(`${p.switch}:${p.port}`)).reduce((sum, p) => sum + hostDrops(p.stats), 0);
  const u = h.udp[c.client];
  const udp = u ? n(u.rcvbufErrors) + n(u.inErrors) : 0;
  const veth = h.interfaces.filter((i) => i.node === c.client).reduce((sum, i) => sum + n(i.rxDropped) + n(i.txDropped), 0);
  return n(h.source.txNoBuffer + h.source.txLinkDown + h.source.txErrors) + ports + udp + veth;
}

function dropText(s: PortStats): string {
  return (["kernelDrops", "txNoBuffer", "txLinkDown", "txErrors", "droppedUnhandled", "droppedClosed"] as const)
    .filter((k) => s[k] > 0)
    .map((k) => `${k}=${s[k]}`)
    .join(" ");
}

/** The switch ports ("s1:2") a client's packets cross in a session's plan: source port, tree branch, overlay path, client port. */
function pathPorts(
  t: Topology,
  sp: {
    ingress: string;
    tree: { branch: ReadonlyMap<string, readonly Adjacency[]> };
    overlays: ReadonlyMap<string, { path: readonly Adjacency[] }>;
    standby: ReadonlyMap<string, { path: readonly Adjacency[] }>;
  },
  src: string,
  client: string,
): string[] {
  const h = t.hosts.find((x) => x.name === client)!;
  const s = t.hosts.find((x) => x.name === src)!;
  const lh = h.attach.switch;
  const arcs = [...(sp.tree.branch.get(lh) ?? []), ...(sp.overlays.get(lh)?.path ?? []), ...(sp.standby.get(lh)?.path ?? [])];
  const ports = new Set([
    `${s.attach.switch}:${s.attach.port}`,
    ...arcs.flatMap((a) => [`${a.from}:${a.port}`, `${a.to}:${a.peerPort}`]),
    `${lh}:${h.attach.port}`,
  ]);
  return [...ports];
}

export function failureTopology(target: Target, repair: Repair = "controller", mininet = false): Topology {
  const t = loadTopology(join(REPO, "examples/mesh8.yaml"));
  const base = t.sessions[0]!;
  const sessions: SessionSpec[] = MODES.map((redundancy, i) => ({
    ...base,
    id: i + 1,
    service: { address: `10.0.100.${i + 1}`, port: 5000 + i },
    group: `232.1.1.${i + 1}`,
    redundancy,
    meter: undefined,
  }));
  // Each repair's switches listen on their own ports: those of the run before may still be letting go of theirs.
  const shift = (address: string) => address.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + 100 * REPAIRS.indexOf(repair)}`);
  const switches = t.switches.map((x) => ({ ...x, grpc: shift(x.grpc), ...(x.thrift ? { thrift: shift(x.thrift) } : {}) }));
  // Eight simple_switch_grpc processes share the machine's cores: a longer heartbeat interval there; eight embedded
  // switch processes (Mininet) too, less so: at 50 ms a busy 2-core machine starved them into false verdicts.
  const intervalMs = target === "bmv2" ? 200 : mininet ? 100 : 50;
  const heartbeat = { intervalMs, missThreshold: 3, mode: REPAIR_HEARTBEAT[repair] };
  return { ...t, switches, heartbeat, sessions };
}

export async function main(opts: ExperimentOptions = parseOptions()): Promise<FailureResults> {
  // simple_switch_grpc forwards a few hundred packets per second per process on this machine: three sessions at 100/s each.
  const rateMs = opts.target === "bmv2" ? 10 : 4;
  const packets = opts.short ? 300 : opts.target === "bmv2" ? 1000 : 1500;
  const cutAtSeq = Math.floor(packets / 3);
  const settings = { rateMs, packets, cutAtSeq };
  const runs: RepairRun[] = [];
  const timeline: Row[] = [];
  const skipped = REPAIRS.flatMap((repair) => {
    const why = repairSkipped(opts, repair);
    return why ? [{ repair, why }] : [];
  });
  for (const s of skipped) if (!opts.quiet) process.stderr.write(`failure: the ${s.repair} run is skipped: ${s.why}\n`);
  for (const [i, repair] of REPAIRS.filter((r) => !repairSkipped(opts, r)).entries()) {
    // The run before's switch processes take a moment to end: not while this run's heartbeats start.
    if (i > 0) await sleep(opts.mininet || opts.target === "bmv2" ? 3000 : 500);
    const { run, c61 } = await runRepair(opts, repair, settings);
    runs.push(run);
    timeline.push(...c61);
  }
  const out: FailureResults = { experiment: "failure", environment: environment("failure", opts), settings, runs, skipped };
  const rows = runs.flatMap((r) => r.clients.map((c) => ({ ...c }) as unknown as Row));
  const colours = { field: "mode", type: "nominal", sort: [...MODES], scale: { range: ["#d62728", "#ff7f0e", "#2ca02c"] } };
  await writeResults(opts, "failure", out, rows, {
    title: {
      text: `Tree link ${runs[0]!.cutLink} cut at packet ${cutAtSeq} (${runName(opts)}, ${packets} packets every ${rateMs} ms per session)`,
    },
    vconcat: [
      {
        title: "packets lost per client, by repair",
        data: { values: rows },
        facet: { row: { field: "repair", type: "nominal", sort: [...REPAIRS], title: null } },
        spec: {
          width: 520,
          height: 120,
          mark: { type: "bar", tooltip: true },
          encoding: {
            x: { field: "client", type: "nominal", title: null },
            xOffset: { field: "mode", type: "nominal", sort: [...MODES] },
            y: { field: "lost", type: "quantitative", title: "lost packets" },
            color: colours,
          },
        },
      },
      {
        title: "sequence numbers received by c61 (behind the cut) over time, by repair; dashed: the cut",
        data: { values: timeline },
        facet: {
          row: { field: "repair", type: "nominal", sort: [...REPAIRS], title: null },
          column: { field: "mode", type: "nominal", sort: [...MODES], title: null },
        },
        spec: {
          width: 170,
          height: 90,
          layer: [
            {
              mark: { type: "point", size: 6, filled: true },
              encoding: {
                x: { field: "ms", type: "quantitative", title: "time from start (ms)" },
                y: { field: "seq", type: "quantitative", title: "sequence" },
                color: { ...colours, legend: null },
              },
            },
            {
              mark: { type: "rule", strokeDash: [4, 3], color: "black" },
              encoding: { x: { field: "cutMs", type: "quantitative", aggregate: "min" } },
            },
          ],
        },
      },
    ],
  });
  for (const r of runs) {
    const f = r.detection.failover.find((x) => x.link === r.cutLink && !x.up);
    const backups = r.repair === "controller" ? "" : r.backups ? ", backups kept" : ", backups not kept by the switches";
    printTable(
      opts,
      `failure (${runName(opts)}, ${r.repair} repair${backups}): ` +
        `link ${r.cutLink} cut at packet ${cutAtSeq}; verdict ${r.detection.cutToVerdictMs?.toFixed(0) ?? "-"} ms after the cut; ` +
        `overlay switched ${f?.overlayMs?.toFixed(1) ?? "-"} ms, new ways ready ${f?.readyMs.toFixed(0) ?? "-"} ms and old ones gone ` +
        `${f?.repairMs.toFixed(0) ?? "-"} ms after the verdict`,
      summarise(r.clients),
    );
  }
  return out;
}

/** One run: the network up with `repair`'s heartbeats, the stream, the cut, the clients' logs. */
async function runRepair(
  opts: ExperimentOptions,
  repair: Repair,
  { rateMs, packets, cutAtSeq }: FailureResults["settings"],
): Promise<{ run: RepairRun; c61: Row[] }> {
  const t = failureTopology(opts.target, repair, !!opts.mininet);
  const bar = progress(opts, `failure (${repair} repair)`, packets);
  bar.update(0, "starting the network");
  const lab = await bringUp(t, opts);
  try {
    const backups = (await Promise.all([...lab.ctl.clients.values()].map((c) => c.takesBackupReplicas()))).every(Boolean);
    const src = t.hosts.find((h) => h.name === t.sessions[0]!.source)!;
    const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
    const plan = lab.ctl.currentPlan!.sessions.get(1)!;
    const branch = plan.tree.branch.get("s6")!;
    const cut = branch[branch.length - 1]!.link;
    const cutLink = lab.ctl.graph.linkName(cut);
    // Per (session, client): the sequence numbers received, and when.
    const logs = new Map<string, { seqs: number[]; at: number[] }>();
    const ports = new Map(t.sessions.map((s) => [s.service.port, s.id]));
    const clients = [...new Set(t.sessions.flatMap((s) => s.clients))];
    const mn = lab.net instanceof MininetNetwork ? lab.net : undefined;
    const paths: Record<string, string[]> = {};
    for (const s of t.sessions)
      for (const c of s.clients) paths[`${s.id}/${c}`] = pathPorts(t, lab.ctl.currentPlan!.sessions.get(s.id)!, src.name, c);
    const recorders = mn ? new Map(clients.map((c) => [c, udpRecorder(mn, c, [...ports.keys()], RECORDER_RCVBUF)])) : undefined;
    if (recorders) await Promise.all([...recorders.values()].map((r) => r.ready));
    const t0 = performance.now();
    for (const c of clients) {
      for (const s of t.sessions) logs.set(`${s.id}/${c}`, { seqs: [], at: [] });
      if (mn) continue;
      lab.hosts.get(c)!.onFrame((f) => {
        const d = decodeFrame(f);
        if (d.ip?.l4.kind !== "udp") return;
        const sid = ports.get(d.ip.l4.header.dstPort);
        if (sid === undefined) return;
        const log = logs.get(`${sid}/${c}`)!;
        log.seqs.push(new DataView(d.ip.l4.payload.buffer, d.ip.l4.payload.byteOffset).getUint32(0));
        log.at.push(performance.now() - t0);
      });
    }
    const failover: FailoverReport[] = [];
    // The stream's position when the verdict fell and when the repair was done.
    let current = 0;
    let seqAtVerdict: number | null = null;
    let seqAtSwitchVerdict: number | null = null;
    let seqAtRepair: number | null = null;
    let verdictAt: number | undefined;
    let cutAt = 0;
    // Every failover is kept for the report; the cut link's after the cut (not a false alarm on a busy machine) times the run.
    lab.ctl.on("failover", (r) => {
      failover.push(r);
      if (r.link === cutLink && !r.up && cutAt > 0) seqAtRepair ??= current;
    });
    lab.ctl.on("linkDown", (e) => {
      if (e.link !== cut || cutAt === 0) return;
      verdictAt ??= performance.now();
      seqAtVerdict ??= current;
    });
    const host = lab.hosts.get(src.name)!;
    // Warm-up: V8 compiles a switch's code as it runs it. Streamed cold, the first packets crossed a busy 2-core
    // machine's eight switch processes in 300-500 ms (against a few ms warm), and heartbeat responses queued behind
    // them tripped live links. The same stream runs first for WARMUP_MS, numbered from WARMUP_SEQ (left out of the
    // logs), and drains before the heartbeats and the measured stream start.
    for (let i = 0, next = performance.now(); i < WARMUP_MS / rateMs; i++) {
      for (const s of t.sessions) host.send(streamFrame(src, gw, s, WARMUP_SEQ + i));
      next = Math.max(next, performance.now() - rateMs) + rateMs;
      await sleep(Math.max(0, next - performance.now()));
    }
    if (mn && recorders) await settleMininet(mn, [...recorders.values()]);
    else await settle(logs, 300);
    const dropsBefore = await readDropCounters(lab.ctl.clients);
    const hb = lab.ctl.startHeartbeats();
    const upstream = branch[branch.length - 1]!.from;
    hb.on("judged", (e) => {
      if (t.heartbeat.mode !== "dataplane" || cutAt === 0 || e.switch !== upstream || seqAtSwitchVerdict !== null) return;
      if (hb.watches().some((w) => w.switch === upstream && w.link === cut && w.down)) seqAtSwitchVerdict = current;
    });
    await sleep(5 * t.heartbeat.intervalMs);
    // The stream: one packet per session every rateMs, paced without catch-up bursts.
    const sentAt: number[] = [];
    let next = performance.now();
    for (let i = 0; i < packets; i++) {
      if (i === cutAtSeq) {
        lab.cut(cut, { carrier: repair === "carrier" });
        cutAt = performance.now();
      }
      current = i;
      next = Math.max(next, performance.now() - rateMs);
      sentAt[i] = performance.now() - t0;
      for (const s of t.sessions) host.send(streamFrame(src, gw, s, i));
      if (i % 25 === 0) bar.update(i, i < cutAtSeq ? "streaming" : verdictAt === undefined ? `link ${cutLink} cut` : `repaired`);
      next += rateMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
    bar.update(packets, "settling");
    const deadline = performance.now() + 10_000;
    while (seqAtRepair === null && performance.now() < deadline) await sleep(50);
    if (mn && recorders) {
      // Not a fixed pause: a loaded machine's switches may still be working through queued frames.
      await settleMininet(mn, [...recorders.values()]);
      for (const [c, r] of recorders) {
        for (const [port, log] of await r.stop()) {
          logs.set(`${ports.get(port)}/${c}`, { seqs: log.seqs, at: log.at.map((x) => x - t0) });
        }
      }
    } else {
      await settle(new Map([...logs].map(([k, v]) => [k, { seqs: v.seqs }])), 500);
    }
    for (const [k, l] of logs) {
      const measured = l.seqs.flatMap((q, i) => (q < WARMUP_SEQ ? [i] : []));
      logs.set(k, { seqs: measured.map((i) => l.seqs[i]!), at: measured.map((i) => l.at[i]!) });
    }
    hb.stop();
    const pipelineDrops = dropsBetween(dropsBefore, await readDropCounters(lab.ctl.clients));
    let hostCounters: HostCounters | undefined;
    if (mn && recorders) {
      const s = mn.hostCounters().get(src.name)!;
      hostCounters = {
        switchPorts: await mn.switchCounters(),
        source: { host: src.name, txFrames: s.txFrames, txNoBuffer: s.txNoBuffer, txLinkDown: s.txLinkDown, txErrors: s.txErrors },
        udp: Object.fromEntries(
          [...recorders].map(([c, r]) => [
            c,
            { ...(r.kernel ?? { inDatagrams: NaN, rcvbufErrors: NaN, inErrors: NaN }), rcvbuf: r.rcvbuf ?? null },
          ]),
        ),
        interfaces: mn.interfaceDrops(),
        paths,
      };
    }
    bar.stop();
    const results: ClientResult[] = [];
    for (const s of t.sessions) {
      for (const c of s.clients) {
        const log = logs.get(`${s.id}/${c}`)!;
        const st = analyse(log, packets);
        const got = new Set(log.seqs);
        const missing = ranges([...Array(packets).keys()].filter((q) => !got.has(q)));
        const maxDelayMs = log.seqs.reduce((m, q, k) => Math.max(m, log.at[k]! - (sentAt[q] ?? Infinity)), 0);
        results.push({
          repair,
          mode: s.redundancy as Mode,
          session: s.id,
          client: c,
          sent: packets,
          received: st.received,
          lost: st.lost,
          duplicated: st.duplicated,
          reordered: st.reordered,
          longestGap: st.longestGap,
          outageMs: st.longestGap * rateMs,
          missing,
          maxDelayMs: Math.round(maxDelayMs * 10) / 10,
        });
      }
    }
    const run: RepairRun = {
      repair,
      heartbeat: t.heartbeat,
      backups,
      cutLink,
      detection: {
        cutToVerdictMs: verdictAt !== undefined ? verdictAt - cutAt : null,
        seqAtVerdict,
        seqAtSwitchVerdict,
        seqAtRepair,
        failover,
      },
      clients: results,
      pipelineDrops,
      ...(hostCounters ? { hostCounters } : {}),
    };
    // Received sequence numbers over time for the clients behind the cut (thinned for the plot), with the cut's time.
    const c61: Row[] = [];
    const cutMs = Math.round(cutAt - t0);
    for (const s of t.sessions) {
      const log = logs.get(`${s.id}/c61`)!;
      const step = Math.max(1, Math.floor(log.seqs.length / 120));
      for (let i = 0; i < log.seqs.length; i += step)
        c61.push({ repair, mode: s.redundancy, ms: Math.round(log.at[i]!), seq: log.seqs[i]!, cutMs });
    }
    return { run, c61 };
  } finally {
    await lab.stop();
  }
}

/**
 * Mininet: waits until every switch has read all that is queued on its
 * ports and no client's count has changed for `quietMs` (at most `maxMs`).
 */
async function settleMininet(mn: MininetNetwork, recorders: readonly UdpRecorder[], quietMs = 500, maxMs = 30_000): Promise<void> {
  const end = performance.now() + maxMs;
  let last = -1;
  let quietSince = performance.now();
  while (performance.now() < end) {
    const total = (await Promise.all(recorders.map((r) => r.count()))).reduce((a, b) => a + b, 0);
    const queued = (await mn.switchCounters()).some((p) => p.stats.kernelPackets > p.stats.rxFrames + p.stats.kernelDrops);
    if (total !== last || queued) {
      last = total;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= quietMs) return;
    await sleep(100);
  }
}

/** Per mode: clients, lost (total and worst), duplicated, reordered, worst outage. */
export function summarise(results: readonly ClientResult[]): Row[] {
  return MODES.map((mode) => {
    const rs = results.filter((r) => r.mode === mode);
    const worst = rs.reduce((a, b) => (b.lost > a.lost ? b : a), rs[0]!);
    return {
      mode,
      clients: rs.length,
      "lost (all clients)": rs.reduce((n, r) => n + r.lost, 0),
      "worst client": worst.lost > 0 ? `${worst.client} (${worst.lost})` : "-",
      duplicated: rs.reduce((n, r) => n + r.duplicated, 0),
      reordered: rs.reduce((n, r) => n + r.reordered, 0),
      "max outage ms": Math.max(...rs.map((r) => r.outageMs)),
      "max delay ms": Math.max(...rs.map((r) => r.maxDelayMs)),
    };
  });
}

if (isMain(import.meta.url)) await main();
