/**
 * Heartbeat offload (npx tsx experiments/heartbeat.ts --target embedded|bmv2 [--short]).
 *
 * 1. Cost: controller CPU time and P4Runtime messages per second in the
 *    three heartbeat modes, in one run: dataplane (one request per switch
 *    per interval, copied to every peer by the switch, verdicts in the data
 *    plane, one digest per change, no reads), fast (a request per link end,
 *    responses counted in the data plane, one counter read per switch per
 *    interval) and slow (a request per link end, one packet-in per
 *    response), as the number of watched links grows (star topologies: a
 *    hub and N leaves).
 *    Embedded: the switches run in a child process (startLabProcess), so the
 *    CPU is the controller's alone. BMv2: simple_switch_grpc processes; the
 *    relays of the links run in this process (a few frames per interval).
 * 2. Detection: a link is cut and the time from the cut to the linkDown
 *    verdict is measured for intervals × miss thresholds, with data-plane
 *    verdicts and with the fast path; the bound is (threshold + 1) ×
 *    interval.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Controller } from "../src/controller/controller.js";
import { startLabProcess } from "../src/lab/lab-process.js";
import { starTopology } from "../src/lab/generate.js";
import { loadPipeline } from "../src/controller/pipeline.js";
import { T } from "../src/controller/plan/intent.js";
import { minRequestGapUs } from "../src/controller/plan/heartbeat.js";
import { HeartbeatMonitor } from "../src/controller/runtime/heartbeat.js";
import type { HeartbeatSpec } from "../src/controller/topology/schema.js";
import {
  bringUp,
  environment,
  isMain,
  parseOptions,
  printTable,
  progress,
  sleep,
  writeResults,
  type ExperimentOptions,
  type Row,
  runName,
} from "./lib.js";

type Mode = HeartbeatSpec["mode"];
/** The modes compared, in every run. */
export const MODES: readonly Mode[] = ["dataplane", "fast", "slow"];
/** The modes whose detection is measured (the slow path times the same misses in the controller). */
const DETECTION_MODES: readonly Mode[] = ["dataplane", "fast"];
const MODE_COLOURS = { domain: [...MODES], range: ["#1f77b4", "#2ca02c", "#d62728"] };

export interface CostRow {
  readonly links: number;
  readonly mode: Mode;
  readonly cpuMsPerS: number;
  readonly packetOutsPerS: number;
  readonly readsPerS: number;
  readonly packetInsPerS: number;
  readonly digestsPerS: number;
  readonly messagesPerS: number;
  /** P4Runtime messages per interval per switch. */
  readonly messagesPerIntervalPerSwitch: number;
  readonly linksDown: number;
}

export interface DetectionRow {
  readonly mode: Mode;
  readonly intervalMs: number;
  readonly threshold: number;
  readonly rep: number;
  readonly detectionMs: number;
  /** Heartbeat intervals (ticks) the loop ran between the cut and the verdict. */
  readonly ticks: number;
  readonly boundMs: number;
  readonly withinBound: boolean;
}

export interface HeartbeatResults {
  readonly experiment: "heartbeat";
  readonly environment: Row;
  readonly settings: {
    costIntervalMs: number;
    costSeconds: number;
    peers: number[];
    intervals: number[];
    thresholds: number[];
    reps: number;
  };
  readonly cost: CostRow[];
  readonly detection: DetectionRow[];
  readonly detectionSummary: Row[];
}

async function measureCost(opts: ExperimentOptions, links: number, mode: Mode, intervalMs: number, seconds: number): Promise<CostRow> {
  const topology = starTopology(links, mode, intervalMs);
  let ctl: Controller;
  let stop: () => Promise<void>;
  if (opts.target === "embedded" && !opts.mininet) {
    // In a child process: the switches' CPU is not counted as the controller's.
    const lab = await startLabProcess(topology);
    ctl = new Controller({ topology, pipeline: await loadPipeline(), grpcAddress: (s) => lab.addresses.get(s.name)! });
    stop = async () => {
      await ctl.close();
      await lab.stop();
    };
    await ctl.connect();
    await ctl.deploy();
  } else {
    const lab = await bringUp(topology, opts);
    ctl = lab.ctl;
    stop = () => lab.stop();
  }
  try {
    const hb = ctl.startHeartbeats();
    await sleep(4 * intervalMs);
    const s0 = { ...hb.stats };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpu0);
    const dt = (performance.now() - t0) / 1000;
    const per = (k: keyof typeof s0) => (hb.stats[k] - s0[k]) / dt;
    // A read is a request and a response; a digest list (one digest each) and its acknowledgement.
    const messagesPerS = per("packetOuts") + 2 * per("reads") + per("packetIns") + 2 * per("digests");
    return {
      links,
      mode,
      cpuMsPerS: (cpu.user + cpu.system) / 1000 / dt,
      packetOutsPerS: per("packetOuts"),
      readsPerS: per("reads"),
      packetInsPerS: per("packetIns"),
      digestsPerS: per("digests"),
      messagesPerS,
      messagesPerIntervalPerSwitch: messagesPerS / topology.switches.length / (1000 / intervalMs),
      linksDown: hb.downLinks().length,
    };
  } finally {
    await stop();
  }
}

export async function main(opts: ExperimentOptions = parseOptions()): Promise<HeartbeatResults> {
  if (opts.replot) {
    const out = JSON.parse(readFileSync(join(opts.out, "heartbeat", runName(opts), "results.json"), "utf8")) as HeartbeatResults;
    await report(opts, out);
    return out;
  }
  // One switch process per peer on simple_switch_grpc and in Mininet: fewer peers there.
  const processes = opts.target === "bmv2" || !!opts.mininet;
  const peers = opts.short ? [1, 4] : processes ? [1, 2, 4, 8, 16] : [1, 10, 25, 50, 100];
  const costSeconds = opts.short ? 1 : 3;
  const costIntervalMs = 100;
  const intervals = opts.short ? [50, 100] : [50, 100, 200];
  const thresholds = opts.short ? [2, 3] : [2, 3, 5];
  const reps = opts.short ? 1 : 5;
  const bar = progress(
    opts,
    "heartbeat",
    peers.length * MODES.length + DETECTION_MODES.length * intervals.length * thresholds.length * reps,
  );
  const cost: CostRow[] = [];
  for (const n of peers) {
    for (const mode of MODES) {
      bar.increment(`${n} links, ${mode}`);
      cost.push(await measureCost(opts, n, mode, costIntervalMs, costSeconds));
    }
  }

  // Detection: one network (two switches, one link); a fresh monitor per grid point. The network is planned for
  // data-plane verdicts (their entries on top of what the fast path needs).
  const detection: DetectionRow[] = [];
  // Its own gRPC ports per kind of run: the switches of the run before (the same command on another target) may
  // still be letting go of theirs on a busy machine (a CPU-hog run once found 54000 still in use).
  const runs = ["embedded", "bmv2", "mininet-embedded", "mininet-bmv2"];
  const topology = starTopology(1, "dataplane", 100, 24000 + 10 * Math.max(0, runs.indexOf(runName(opts))));
  const lab = await bringUp(topology, opts);
  try {
    const peersPlan = lab.ctl.currentPlan!.peers;
    for (const mode of DETECTION_MODES) {
      for (const intervalMs of intervals) {
        for (const threshold of thresholds) {
          for (let rep = 0; rep < reps; rep++) {
            bar.increment(`detection (${mode}): interval ${intervalMs} ms, threshold ${threshold}, run ${rep + 1}`);
            lab.restore(0);
            // The data plane's miss threshold and request spacing are entries: rewritten for the grid point.
            if (mode === "dataplane") await setDataPlaneJudging(lab.ctl, threshold, intervalMs);
            const hb = new HeartbeatMonitor(lab.ctl.graph, lab.ctl.clients, peersPlan, { intervalMs, missThreshold: threshold, mode });
            const ticks: number[] = [];
            hb.on("tick", () => ticks.push(performance.now()));
            let cutAt: number | undefined;
            let downAt: number | undefined;
            hb.on("linkDown", (e) => {
              if (cutAt !== undefined) downAt ??= e.atMs;
            });
            hb.start();
            // Warm up: a few intervals with the link up (the last run's verdict undone), then cut at a random phase.
            await sleep(3 * intervalMs + Math.random() * intervalMs);
            const upBy = performance.now() + 20 * intervalMs;
            while (hb.downLinks().length > 0 && performance.now() < upBy) await sleep(intervalMs);
            lab.cut(0);
            cutAt = performance.now();
            const deadline = cutAt + 20 * intervalMs * threshold;
            while (downAt === undefined && performance.now() < deadline) await sleep(2);
            hb.stop();
            const detectionMs = downAt !== undefined ? downAt - cutAt : Number.NaN;
            const boundMs = (threshold + 1) * intervalMs;
            detection.push({
              mode,
              intervalMs,
              threshold,
              rep,
              detectionMs,
              ticks: downAt !== undefined ? ticks.filter((t) => t > cutAt! && t <= downAt!).length : -1,
              boundMs,
              withinBound: detectionMs <= boundMs,
            });
            await sleep(intervalMs);
          }
        }
      }
    }
  } finally {
    await lab.stop();
  }
  bar.stop();

  const detectionSummary: Row[] = [];
  for (const mode of DETECTION_MODES) {
    for (const intervalMs of intervals) {
      for (const threshold of thresholds) {
        const rs = detection.filter((d) => d.mode === mode && d.intervalMs === intervalMs && d.threshold === threshold);
        const ms = rs.map((r) => r.detectionMs);
        detectionSummary.push({
          mode,
          intervalMs,
          threshold,
          runs: rs.length,
          meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
          minMs: Math.min(...ms),
          maxMs: Math.max(...ms),
          maxTicks: Math.max(...rs.map((r) => r.ticks)),
          boundMs: (threshold + 1) * intervalMs,
          withinBound: rs.filter((r) => r.withinBound).length,
        });
      }
    }
  }
  const out: HeartbeatResults = {
    experiment: "heartbeat",
    environment: environment("heartbeat", opts),
    settings: { costIntervalMs, costSeconds, peers, intervals, thresholds, reps },
    cost,
    detection,
    detectionSummary,
  };
  await report(opts, out);
  return out;
}

/** Writes the CSV and the plot of `out` and prints its tables. */
export async function report(opts: ExperimentOptions, out: HeartbeatResults): Promise<void> {
  const { cost, detection, detectionSummary } = out;
  const { costIntervalMs, costSeconds, intervals, thresholds, reps } = out.settings;
  const csv: Row[] = [
    ...cost.map((c) => ({ part: "cost", ...c }) as unknown as Row),
    ...detection.map((d) => ({ part: "detection", ...d }) as unknown as Row),
  ];
  const boundLines = thresholds.flatMap((threshold) =>
    intervals.map((intervalMs) => ({ intervalMs, threshold: String(threshold), boundMs: (threshold + 1) * intervalMs })),
  );
  const detectPoints = detection.map((d) => ({ ...d, threshold: String(d.threshold) }));
  await writeResults(opts, "heartbeat", out, csv, {
    title: { text: `Heartbeat offload (${runName(opts)})` },
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
    hconcat: [
      {
        width: 300,
        height: 240,
        title: `controller CPU vs watched links (interval ${costIntervalMs} ms)`,
        data: { values: cost },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "links", type: "quantitative", title: "watched links (peers)" },
          y: { field: "cpuMsPerS", type: "quantitative", title: "controller CPU (ms per s)" },
          color: { field: "mode", type: "nominal", title: "path", scale: MODE_COLOURS },
        },
      },
      {
        width: 300,
        height: 240,
        title: "P4Runtime messages/s (packet-outs + 2 × reads + packet-ins + 2 × digests)",
        data: { values: cost },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "links", type: "quantitative", title: "watched links (peers)" },
          y: { field: "messagesPerS", type: "quantitative", title: "messages/s" },
          color: { field: "mode", type: "nominal", title: "path", scale: MODE_COLOURS },
        },
      },
      {
        width: 300,
        height: 240,
        title: "cut → link-down verdict (dashed: bound (threshold+1) × interval)",
        layer: [
          {
            data: { values: boundLines },
            mark: { type: "line", strokeDash: [5, 4], strokeWidth: 1 },
            encoding: {
              x: { field: "intervalMs", type: "quantitative", title: "heartbeat interval (ms)" },
              y: { field: "boundMs", type: "quantitative" },
              color: { field: "threshold", type: "nominal", title: "miss threshold" },
            },
          },
          {
            data: { values: detectPoints },
            mark: { type: "line", point: true },
            encoding: {
              x: { field: "intervalMs", type: "quantitative" },
              y: { aggregate: "mean", field: "detectionMs", type: "quantitative", title: "detection time (ms)" },
              color: { field: "threshold", type: "nominal" },
              strokeDash: { field: "mode", type: "nominal", title: "verdicts" },
            },
          },
          {
            data: { values: detectPoints },
            mark: { type: "tick", opacity: 0.5 },
            encoding: {
              x: { field: "intervalMs", type: "quantitative" },
              y: { field: "detectionMs", type: "quantitative" },
              color: { field: "threshold", type: "nominal" },
            },
          },
        ],
      },
    ],
  });
  printTable(
    opts,
    `heartbeat cost (${runName(opts)}): interval ${costIntervalMs} ms, ${costSeconds} s per run; ` +
      "messages = packet-outs + read requests and responses + packet-ins + digest lists and their acks",
    cost.map((c) => ({
      links: c.links,
      mode: c.mode,
      "CPU ms/s": c.cpuMsPerS,
      "packet-outs/s": c.packetOutsPerS,
      "reads/s": c.readsPerS,
      "packet-ins/s": c.packetInsPerS,
      "digests/s": c.digestsPerS,
      "messages/s": c.messagesPerS,
      "messages/interval/switch": c.messagesPerIntervalPerSwitch,
      "links down": c.linksDown,
    })),
  );
  printTable(opts, `detection (${runName(opts)}): cut → linkDown verdict, ${reps} run(s) per point`, detectionSummary);
}

/** Rewrites every heartbeat_tick_exact entry of the network for `threshold` and `intervalMs` (the rest as planned). */
async function setDataPlaneJudging(ctl: Controller, threshold: number, intervalMs: number): Promise<void> {
  for (const [sw, intent] of ctl.currentPlan!.intents) {
    const ticks = intent.entries.filter((e) => e.table === T.hbTick);
    if (ticks.length === 0) continue;
    await ctl.clients.get(sw)!.modify(
      ...ticks.map((e) => ({
        ...e,
        kind: "tableEntry" as const,
        action: {
          ...(e.action as { name: string; params: Record<string, unknown> }),
          params: {
            ...(e.action as { params: Record<string, unknown> }).params,
            miss_threshold: threshold,
            min_gap: minRequestGapUs(intervalMs),
          },
        },
      })),
    );
  }
}

if (isMain(import.meta.url)) await main();
