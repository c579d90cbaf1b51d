/**
 * Heartbeat offload benchmark (npm run bench:heartbeat): the controller's
 * CPU time and P4Runtime messages per second when heartbeat responses are
 * consumed in the data plane (fast path: one counter read per switch per
 * interval) versus punted to the controller (slow path: one packet-in per
 * response), for 1, 10 and 100 monitored links. The switches run in a child
 * process, so the CPU figures are the controller's alone.
 */
import { Controller } from "../src/controller/controller.js";
import { startLabProcess } from "../src/lab/lab-process.js";
import { starTopology } from "../src/lab/generate.js";
import { loadPipeline } from "../src/controller/pipeline.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const INTERVAL = Number(process.env.BENCH_INTERVAL_MS ?? 100);
const SIZES = (process.env.BENCH_PEERS ?? "1,10,100").split(",").map(Number);

interface Row {
  links: number;
  mode: string;
  cpuMsPerS: number;
  packetOutsPerS: number;
  readsPerS: number;
  packetInsPerS: number;
  messagesPerS: number;
  linksDown: number;
}

async function run(links: number, mode: "fast" | "slow"): Promise<Row> {
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
    return {
      links,
      mode,
      cpuMsPerS: (cpu.user + cpu.system) / 1000 / dt,
      packetOutsPerS: per("packetOuts"),
      readsPerS: per("reads"),
      packetInsPerS: packetIns,
      messagesPerS: per("packetOuts") + 2 * per("reads") + packetIns,
      linksDown: hb.downLinks().length,
    };
  } finally {
    await ctl.close();
    await lab.stop();
  }
}

const rows: Row[] = [];
for (const n of SIZES) for (const mode of ["fast", "slow"] as const) rows.push(await run(n, mode));
console.log(`heartbeat interval ${INTERVAL} ms, ${SECONDS} s per run; messages = packet-outs + read requests and responses + packet-ins`);
console.log("links  mode  controller CPU ms/s  packet-out/s  reads/s  packet-in/s  P4Runtime msgs/s  links down");
for (const r of rows) {
  const cells = [
    String(r.links).padStart(5),
    r.mode.padEnd(4),
    r.cpuMsPerS.toFixed(1).padStart(19),
    r.packetOutsPerS.toFixed(0).padStart(12),
    r.readsPerS.toFixed(1).padStart(7),
    r.packetInsPerS.toFixed(0).padStart(11),
    r.messagesPerS.toFixed(0).padStart(16),
    String(r.linksDown).padStart(10),
  ];
  console.log(cells.join("  "));
}
for (const n of SIZES) {
  const f = rows.find((r) => r.links === n && r.mode === "fast")!;
  const s = rows.find((r) => r.links === n && r.mode === "slow")!;
  console.log(
    `${n} links: slow/fast CPU ${(s.cpuMsPerS / f.cpuMsPerS).toFixed(2)}x, messages ${(s.messagesPerS / f.messagesPerS).toFixed(2)}x`,
  );
}
