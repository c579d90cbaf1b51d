/**
 * Deploy at scale (npm run bench:deploy): a generated topology of 50
 * switches, 1,000 sessions and 5,000 clients deployed to embedded switches
 * running in a child process. Reports wall time, entries written, the
 * controller's peak memory, and the write count of a second deploy (0).
 */
import { Controller } from "../src/controller/controller.js";
import { startLabProcess } from "../src/lab/lab-process.js";
import { scaleTopology } from "../src/lab/generate.js";
import { loadPipeline } from "../src/controller/pipeline.js";

const topology = scaleTopology({
  switches: Number(process.env.BENCH_SWITCHES ?? 50),
  sessions: Number(process.env.BENCH_SESSIONS ?? 1000),
  clients: Number(process.env.BENCH_CLIENTS ?? 5000),
});
let peak = 0;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const lab = await startLabProcess(topology);
const ctl = new Controller({ topology, pipeline: await loadPipeline(), grpcAddress: (s) => lab.addresses.get(s.name)! });
try {
  const base = process.memoryUsage().rss;
  await ctl.connect();
  const first = await ctl.deploy();
  const second = await ctl.deploy();
  peak = Math.max(peak, process.memoryUsage().rss);
  const hosts = topology.hosts.length;
  console.log(
    `topology: ${topology.switches.length} switches, ${topology.sessions.length} sessions, ` +
      `${hosts - topology.switches.length} clients, ${topology.links.length} links`,
  );
  const requests = first.switches.reduce((n, r) => n + r.requests, 0);
  console.log(
    `first deploy:  ${first.writes} entries written in ${(first.durationMs / 1000).toFixed(2)} s ` +
      `(${(first.writes / (first.durationMs / 1000)).toFixed(0)} entries/s), ${requests} WriteRequests`,
  );
  console.log(`second deploy: ${second.writes} entries written in ${(second.durationMs / 1000).toFixed(2)} s`);
  console.log(`controller peak RSS: ${(peak / 2 ** 20).toFixed(0)} MiB (at start ${(base / 2 ** 20).toFixed(0)} MiB)`);
  if (second.writes !== 0) process.exitCode = 1;
  for (const w of first.warnings.slice(0, 5)) console.log(`warning: ${w}`);
} finally {
  clearInterval(sample);
  await ctl.close();
  await lab.stop();
}
