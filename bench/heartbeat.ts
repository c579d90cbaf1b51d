/**
 * Heartbeat offload benchmark (npm run bench:heartbeat): the controller's
 * CPU time and P4Runtime messages per second in the three heartbeat modes,
 * in one run: dataplane (one request per switch per interval, copied to
 * every peer by the switch, verdicts in the data plane, a digest per
 * change, no reads), fast (a request per link end per interval, responses
 * counted in the data plane, one counter read per switch per interval) and
 * slow (a request per link end, one packet-in per response), for star
 * topologies of 1, 10 and 100 links (the hub watches every link; at most
 * P4CAST_MAX_HB_PEERS = 256 peers per switch; at 250 the one process that
 * serves every switch falls behind on 2 cores: docs/results.md). The
 * switches run in a child process, so the CPU figures are the
 * controller's alone.
 * BENCH_PEERS, BENCH_SECONDS, BENCH_INTERVAL_MS and BENCH_MODES change the
 * sizes, the time per run, the interval and the modes.
 */
import { Controller } from "../src/controller/controller.js";
import { startLabProcess } from "../src/lab/lab-process.js";
import { starTopology } from "../src/lab/generate.js";
import { loadPipeline } from "../src/controller/pipeline.js";
import type { HeartbeatSpec } from "../src/controller/topology/schema.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const INTERVAL = Number(process.env.BENCH_INTERVAL_MS ?? 100);
const SIZES = (process.env.BENCH_PEERS ?? "1,10,100").split(",").map(Number);
const MODES = (process.env.BENCH_MODES ?? "dataplane,fast,slow").split(",") as HeartbeatSpec["mode"][];

interface Row {
  links: number;
  mode: string;
  cpuMsPerS: number;
  packetOutsPerS: number;
  readsPerS: number;
  packetInsPerS: number;
  digestsPerS: number;
  messagesPerS: number;
  /** P4Runtime messages per interval per switch. */
  perSwitchInterval: number;
  linksDown: number;
}

async function run(links: number, mode: HeartbeatSpec["mode"]): Promise<Row> {
  const topology = starTopology(links, mode, INTERVAL);
  const lab = await startLabProcess(topology);
  const ctl = new Controller({ topology, pipeline: await loadPipeline(), grpcAddress: (s) => lab.addresses.get(s.name)! });
  try {
    await ctl.connect();
    await ctl.deploy();
    const hb = ctl.startHeartbeats();
    await new Promise((r) => setTimeout(r, 4 * INTERVAL)); // warm-up
    const s0 = { ...hb.stats };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const cpu = process.cpuUsage(cpu0);
    const dt = (performance.now() - t0) / 1000;
    const per = (k: keyof typeof s0) => (hb.stats[k] - s0[k]) / dt;
    const packetIns = per("packetIns");
    // A digest list and its acknowledgement: two messages per digest (one digest per list).
    const messages = per("packetOuts") + 2 * per("reads") + packetIns + 2 * per("digests");
    return {
      links,
      mode,
      cpuMsPerS: (cpu.user + cpu.system) / 1000 / dt,
      packetOutsPerS: per("packetOuts"),
      readsPerS: per("reads"),
      packetInsPerS: packetIns,
      digestsPerS: per("digests"),
      messagesPerS: messages,
      perSwitchInterval: messages / topology.switches.length / (1000 / INTERVAL),
      linksDown: hb.downLinks().length,
    };
  } finally {
    await ctl.close();
    await lab.stop();
  }
}

const rows: Row[] = [];
for (const n of SIZES) for (const mode of MODES) rows.push(await run(n, mode));
console.log(
  `heartbeat interval ${INTERVAL} ms, ${SECONDS} s per run; messages = packet-outs + read requests and responses + packet-ins ` +
    "+ digest lists and their acks",
);
console.log(
  "links  mode       controller CPU ms/s  packet-out/s  reads/s  packet-in/s  digests/s  P4Runtime msgs/s" +
    "  msgs/interval/switch  links down",
);
for (const r of rows) {
  const cells = [
    String(r.links).padStart(5),
    r.mode.padEnd(9),
    r.cpuMsPerS.toFixed(1).padStart(19),
    r.packetOutsPerS.toFixed(0).padStart(12),
    r.readsPerS.toFixed(1).padStart(7),
    r.packetInsPerS.toFixed(0).padStart(11),
    r.digestsPerS.toFixed(1).padStart(9),
    r.messagesPerS.toFixed(0).padStart(16),
    r.perSwitchInterval.toFixed(2).padStart(20),
    String(r.linksDown).padStart(10),
  ];
  console.log(cells.join("  "));
}
for (const n of SIZES) {
  const of = (mode: string) => rows.find((r) => r.links === n && r.mode === mode);
  const slow = of("slow");
  const ratio = (m: string, k: "cpuMsPerS" | "messagesPerS") => (of(m)![k] / slow![k]).toFixed(2);
  const ratios = MODES.filter((m) => m !== "slow" && of(m) && slow).map(
    (m) => `${m}/slow CPU ${ratio(m, "cpuMsPerS")}x, messages ${ratio(m, "messagesPerS")}x`,
  );
  if (ratios.length > 0) console.log(`${n} links: ${ratios.join("; ")}`);
}
