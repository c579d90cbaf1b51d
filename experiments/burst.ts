/**
 * Burst regulation (npx tsx experiments/burst.ts --target embedded|bmv2 [--short]).
 *
 * examples/line3.yaml: h1 sends session 1 into s1 (the ingress router, which
 * meters the session); h2 and h3 receive at s3. A bursty sender (bursts of
 * back-to-back 1,000-byte frames, a burst every period) runs against a few
 * meter settings, each set at run time with Controller.setMeter. Per
 * setting: the colour counters at s1 (burst_green/yellow/red) against an
 * RFC 2698 two-rate three-colour meter (colour-blind) computed here on the
 * send timestamps of the same frames, and the rate delivered to h2 against
 * the offered rate over time.
 */
import { join } from "node:path";
import { formatMac } from "../src/p4runtime/codec/values.js";
import type { DecodedOf } from "../src/client/entities/entity.js";
import { portMac } from "../src/controller/topology/addressing.js";
import { loadTopology } from "../src/controller/topology/load.js";
import type { MeterSpec } from "../src/controller/topology/schema.js";
import { buildFrame, decodeFrame } from "../src/packet/index.js";
import {
  REPO,
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

export type Colour = "green" | "yellow" | "red";

/** RFC 2698 trTCM, colour-blind; both buckets start full; rates in bytes/s, times in ms. */
export class TrTcm {
  private tc: number;
  private tp: number;
  private last: number | undefined;
  constructor(readonly m: Pick<MeterSpec, "cir" | "cburst" | "pir" | "pburst">) {
    this.tc = m.cburst;
    this.tp = m.pburst;
  }
  colour(atMs: number, bytes: number): Colour {
    if (this.last !== undefined) {
      const dt = Math.max(0, atMs - this.last) / 1000;
      this.tc = Math.min(this.m.cburst, this.tc + this.m.cir * dt);
      this.tp = Math.min(this.m.pburst, this.tp + this.m.pir * dt);
    }
    this.last = atMs;
    if (this.tp < bytes) return "red";
    this.tp -= bytes;
    if (this.tc < bytes) return "yellow";
    this.tc -= bytes;
    return "green";
  }
}

export interface Setting {
  readonly name: string;
  readonly meter: MeterSpec;
}

export interface SettingResult {
  readonly setting: string;
  readonly cir: number;
  readonly cburst: number;
  readonly pir: number;
  readonly pburst: number;
  readonly sent: number;
  readonly offeredBps: number;
  readonly deliveredBps: number;
  readonly received: number;
  /** Frames the meter passed (green + yellow) that did not reach h2: lost downstream (queues, links). */
  readonly lostAfterMeter: number;
  /** Packets of the session the last hop (h2's switch) delivered: first copies (tree or overlay). */
  readonly lastHopDelivered: number;
  /** Second copies the last hop dropped (the session is always-redundant). */
  readonly lastHopDuplicates: number;
  readonly measured: Record<Colour, number>;
  readonly expected: Record<Colour, number>;
  /** Largest |measured - expected| colour fraction. */
  readonly maxFractionError: number;
}

export interface BurstResults {
  readonly experiment: "burst";
  readonly environment: Row;
  readonly traffic: { frameBytes: number; burstFrames: number; periodMs: number; seconds: number };
  readonly settings: SettingResult[];
  readonly timeline: Row[];
}

const FRAME_BYTES = 1000;

export const SETTINGS: Setting[] = [
  { name: "A: cir<offered<pir", meter: { cir: 200_000, cburst: 10_000, pir: 500_000, pburst: 20_000, yellowDscp: 8 } },
  { name: "B: pir<offered", meter: { cir: 100_000, cburst: 5_000, pir: 250_000, pburst: 12_000, yellowDscp: 8 } },
  { name: "C: large bursts ok", meter: { cir: 400_000, cburst: 30_000, pir: 800_000, pburst: 40_000, yellowDscp: 8 } },
  { name: "D: line3 file", meter: { cir: 1_250_000, cburst: 15_000, pir: 2_500_000, pburst: 30_000, yellowDscp: 8 } },
];

export async function main(opts: ExperimentOptions = parseOptions()): Promise<BurstResults> {
  const t = loadTopology(join(REPO, "examples/line3.yaml"));
  const s = t.sessions[0]!;
  const src = t.hosts.find((h) => h.name === s.source)!;
  const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
  const ingress = src.attach.switch;
  const burstFrames = 20;
  const periodMs = 50; // 20 kB every 50 ms: 400 kB/s offered on average
  const seconds = opts.short ? 1 : 4;
  const bursts = Math.round((seconds * 1000) / periodMs);
  const bar = progress(opts, "burst", SETTINGS.length * bursts);
  bar.update(0, "starting the network");
  const lab = await bringUp({ ...t, heartbeat: { ...t.heartbeat, intervalMs: 1000 } }, opts);
  const payload = new Uint8Array(FRAME_BYTES - 14 - 20 - 8);
  const frame = (seq: number) => {
    new DataView(payload.buffer).setUint32(0, seq);
    return buildFrame({
      ethernet: { src: src.mac, dst: gw },
      packet: {
        ip: { version: 4, src: src.ipv4!.split("/")[0]!, dst: s.service.address, ttl: 64 },
        l4: { kind: "udp", udp: { srcPort: 40000, dstPort: s.service.port }, payload },
      },
    });
  };
  const counters = async (): Promise<Record<Colour, number>> => {
    const client = lab.ctl.clients.get(ingress)!;
    const read = async (c: Colour) => {
      const [e] = (await client.readAll({
        kind: "counterEntry",
        counter: `ingress.burst.burst_${c}_counter`,
        index: s.id,
      })) as DecodedOf<"counterEntry">[];
      return Number(e?.data.packets ?? 0n);
    };
    return { green: await read("green"), yellow: await read("yellow"), red: await read("red") };
  };
  /** The last hop's dedup counters: first copies delivered to the clients, and second copies dropped. */
  const lastHop = t.hosts.find((h) => h.name === "h2")!.attach.switch;
  const dedup = async () => {
    const client = lab.ctl.clients.get(lastHop)!;
    const read = async (c: string) => {
      const [e] = (await client.readAll({
        kind: "counterEntry",
        counter: `ingress.dedup.dedup_${c}_counter`,
        index: s.id,
      })) as DecodedOf<"counterEntry">[];
      return Number(e?.data.packets ?? 0n);
    };
    return { delivered: await read("delivered"), duplicate: await read("duplicate") };
  };
  const results: SettingResult[] = [];
  const timeline: Row[] = [];
  try {
    let received: { at: number; bytes: number }[] = [];
    lab.hosts.get("h2")!.onFrame((f) => {
      const d = decodeFrame(f);
      if (d.ip?.l4.kind === "udp" && d.ip.l4.header.dstPort === s.service.port) received.push({ at: performance.now(), bytes: f.length });
    });
    let seq = 0;
    for (const [k, setting] of SETTINGS.entries()) {
      bar.update(k * bursts, `setting ${setting.name}`);
      await lab.ctl.setMeter(s.id, setting.meter);
      await sleep(300); // buckets full again, nothing in flight
      const before = await counters();
      const dedupBefore = await dedup();
      received = [];
      const model = new TrTcm(setting.meter);
      const expected: Record<Colour, number> = { green: 0, yellow: 0, red: 0 };
      const sent: { at: number; bytes: number }[] = [];
      const t0 = performance.now();
      let next = t0;
      for (let b = 0; b < bursts; b++) {
        for (let i = 0; i < burstFrames; i++) {
          const f = frame(seq++);
          const at = performance.now();
          lab.hosts.get(src.name)!.send(f);
          expected[model.colour(at, f.length)]++;
          sent.push({ at, bytes: f.length });
        }
        if (b % 5 === 0) bar.update(k * bursts + b);
        next += periodMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const t1 = performance.now();
      await sleep(500);
      const after = await counters();
      const dedupAfter = await dedup();
      const measured = { green: after.green - before.green, yellow: after.yellow - before.yellow, red: after.red - before.red };
      const total = sent.length;
      const frac = (c: Record<Colour, number>, x: Colour) => c[x] / total;
      const maxFractionError = Math.max(
        ...(["green", "yellow", "red"] as const).map((x) => Math.abs(frac(measured, x) - frac(expected, x))),
      );
      const span = (t1 - t0) / 1000;
      const bytesSent = sent.reduce((n, p) => n + p.bytes, 0);
      const bytesGot = received.reduce((n, p) => n + p.bytes, 0);
      results.push({
        setting: setting.name,
        cir: setting.meter.cir,
        cburst: setting.meter.cburst,
        pir: setting.meter.pir,
        pburst: setting.meter.pburst,
        sent: total,
        offeredBps: bytesSent / span,
        deliveredBps: bytesGot / span,
        received: received.length,
        lostAfterMeter: measured.green + measured.yellow - received.length,
        lastHopDelivered: dedupAfter.delivered - dedupBefore.delivered,
        lastHopDuplicates: dedupAfter.duplicate - dedupBefore.duplicate,
        measured,
        expected,
        maxFractionError,
      });
      // Offered and delivered rate per 200 ms bin (four bursts).
      const binMs = 200;
      const bins = Math.ceil((t1 - t0) / binMs);
      for (let i = 0; i < bins; i++) {
        // Bin edges half a period before the bursts, so that timer jitter does not move a burst across an edge.
        const edge = (k: number) => k * binMs - periodMs / 2;
        const inBin = (p: { at: number }) => p.at - t0 >= edge(i) && p.at - t0 < edge(i + 1);
        const ms = i * binMs;
        timeline.push({ setting: setting.name, ms, series: "offered", kBps: sent.filter(inBin).reduce((n, p) => n + p.bytes, 0) / binMs });
        timeline.push({
          setting: setting.name,
          ms,
          series: "delivered",
          kBps: received.filter(inBin).reduce((n, p) => n + p.bytes, 0) / binMs,
        });
      }
    }
  } finally {
    bar.stop();
    await lab.stop();
  }
  const out: BurstResults = {
    experiment: "burst",
    environment: environment("burst", opts),
    traffic: { frameBytes: FRAME_BYTES, burstFrames, periodMs, seconds },
    settings: results,
    timeline,
  };
  const csv: Row[] = results.map((r) => ({
    setting: r.setting,
    cir: r.cir,
    cburst: r.cburst,
    pir: r.pir,
    pburst: r.pburst,
    sent: r.sent,
    offered_Bps: r.offeredBps,
    delivered_Bps: r.deliveredBps,
    green: r.measured.green,
    yellow: r.measured.yellow,
    red: r.measured.red,
    model_green: r.expected.green,
    model_yellow: r.expected.yellow,
    model_red: r.expected.red,
    max_fraction_error: r.maxFractionError,
    received: r.received,
    lost_after_meter: r.lostAfterMeter,
    last_hop_delivered: r.lastHopDelivered,
    last_hop_duplicates: r.lastHopDuplicates,
  }));
  const fractions = results.flatMap((r) =>
    (["green", "yellow", "red"] as const).flatMap((c) => [
      { setting: r.setting, colour: c, rank: ["green", "yellow", "red"].indexOf(c), source: "measured", fraction: r.measured[c] / r.sent },
      {
        setting: r.setting,
        colour: c,
        rank: ["green", "yellow", "red"].indexOf(c),
        source: "RFC 2698 model",
        fraction: r.expected[c] / r.sent,
      },
    ]),
  );
  await writeResults(opts, "burst", out, csv, {
    resolve: { scale: { color: "independent" } },
    title: { text: `Burst regulation at the ingress router (${runName(opts)}): ${burstFrames} × ${FRAME_BYTES} B every ${periodMs} ms` },
    vconcat: [
      {
        data: { values: timeline },
        facet: { column: { field: "setting", type: "nominal", title: null } },
        spec: {
          width: 170,
          height: 150,
          mark: { type: "line", interpolate: "step-after" },
          encoding: {
            x: { field: "ms", type: "quantitative", title: "time (ms)" },
            y: { field: "kBps", type: "quantitative", title: "kB/s (200 ms bins)" },
            color: {
              field: "series",
              type: "nominal",
              title: null,
              scale: { domain: ["offered", "delivered"], range: ["#999999", "#1f77b4"] },
            },
          },
        },
      },
      {
        data: { values: fractions },
        facet: { column: { field: "setting", type: "nominal", title: null } },
        spec: {
          width: 170,
          height: 150,
          mark: { type: "bar" },
          encoding: {
            x: { field: "source", type: "nominal", title: null, axis: { labelAngle: 0 } },
            y: { field: "fraction", type: "quantitative", title: "fraction of packets", stack: "zero" },
            color: {
              field: "colour",
              type: "nominal",
              sort: ["green", "yellow", "red"],
              scale: { domain: ["green", "yellow", "red"], range: ["#2ca02c", "#e6c619", "#d62728"] },
            },
            order: { field: "rank", type: "quantitative", sort: "ascending" },
          },
        },
      },
    ],
  });
  printTable(
    opts,
    `burst (${runName(opts)}): measured colour counters at ${ingress} vs the RFC 2698 model (colour-blind)`,
    results.map((r) => ({
      setting: r.setting,
      "cir/pir kB/s": `${r.cir / 1000}/${r.pir / 1000}`,
      "cbs/pbs kB": `${r.cburst / 1000}/${r.pburst / 1000}`,
      "offered kB/s": r.offeredBps / 1000,
      "delivered kB/s": r.deliveredBps / 1000,
      "green (model)": `${r.measured.green} (${r.expected.green})`,
      "yellow (model)": `${r.measured.yellow} (${r.expected.yellow})`,
      "red (model)": `${r.measured.red} (${r.expected.red})`,
      "max |Δ fraction|": r.maxFractionError,
      "lost after meter": r.lostAfterMeter,
      [`${lastHop} delivered (dups)`]: `${r.lastHopDelivered} (${r.lastHopDuplicates})`,
    })),
  );
  return out;
}

if (isMain(import.meta.url)) await main();
