/**
 * `p4cast deploy`: programs every switch of a topology from the file
 * (declaratively: only the difference is written; an unchanged topology
 * writes nothing). With --run it stays up: heartbeats, failover, re-programs
 * restarted switches, handles joins, and logs what it does until stopped.
 */
import { SingleBar, Presets } from "cli-progress";
import type { Command } from "commander";
import { Controller, type DeployReport } from "../../controller/controller.js";
import { EmbeddedNetwork } from "../../controller/lab/embedded-network.js";
import { addTopologyOptions, electionId, readPipeline, readTopology, type TopologyOptions } from "../controller-options.js";
import { printRows } from "../output.js";
import { publishRunState } from "../run-state.js";

interface DeployOptions extends TopologyOptions {
  run?: boolean;
  embedded?: boolean;
  heartbeats: boolean;
}

export function printDeploy(o: { output: "table" | "json" }, report: DeployReport): void {
  printRows(
    o.output,
    ["switch", "inserted", "modified", "deleted", "requests"],
    report.switches.map((r) => [r.switch, r.inserted, r.modified, r.deleted, r.requests]),
    report,
  );
  if (o.output === "table") {
    process.stdout.write(
      `${report.writes} writes in ${report.durationMs.toFixed(0)} ms; pipeline pushed to ${report.pipelinesPushed.length ? report.pipelinesPushed.join(", ") : "no switch (cookies matched)"}\n`,
    );
    for (const w of report.warnings) process.stdout.write(`warning: ${w}\n`);
  }
}

export function registerDeploy(program: Command): void {
  addTopologyOptions(
    program
      .command("deploy")
      .description("program every switch of a topology (only the difference is written)")
      .option("--run", "stay up: heartbeats, failover, restarts, joins")
      .option("--no-heartbeats", "with --run: do not watch links")
      .option("--embedded", "bring the topology up on in-process embedded switches first (implies --run)"),
  ).action(async (o: DeployOptions) => {
    const topology = readTopology(o);
    const pipeline = await readPipeline(o);
    const net = o.embedded ? await EmbeddedNetwork.start(topology) : undefined;
    const ctl = new Controller({
      topology,
      pipeline,
      electionId: electionId(o),
      // With --run a controller whose election id is not the highest stays up as a backup and takes over.
      allowBackup: !!(o.run || o.embedded),
      ...(net ? { grpcAddress: net.grpcAddress } : {}),
      log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
    });
    const cleanups: (() => void)[] = [];
    const bar = o.output === "table" && process.stderr.isTTY ? new SingleBar({ format: "deploy [{bar}] {value}/{total} switches", clearOnComplete: true }, Presets.shades_classic) : undefined;
    try {
      await ctl.connect();
      bar?.start(topology.switches.length, 0);
      ctl.on("programmed", () => bar?.increment());
      const report = await ctl.deploy();
      bar?.stop();
      printDeploy(o, report);
      if (!o.run && !o.embedded) return;
      // A long-running controller reports a failure it did not expect and keeps running (docs/reliability.md).
      process.on("unhandledRejection", (e) => process.stderr.write(`${new Date().toISOString()} fault: unexpected: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`));
      if (report.backupOn.length > 0) {
        process.stderr.write(`backup on ${report.backupOn.join(", ")}: another controller is primary there; this one takes over when it goes\n`);
      }
      // `p4cast status -t <file>` shows what this controller knows (switch health, down links, faults).
      const published = publishRunState(o.topology, () => ctl.state());
      for (const ev of ["fault", "linkDown", "linkUp", "switchLost", "role", "reprogrammed", "takeover", "resynced", "failover"] as const) ctl.on(ev, () => published.update());
      cleanups.push(() => published.stop());
      if (o.heartbeats) ctl.startHeartbeats();
      process.stderr.write(`running: ${topology.switches.length} switches, ${topology.sessions.length} sessions; Ctrl-C stops\n`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
    } finally {
      bar?.stop();
      for (const c of cleanups) c();
      await ctl.close();
      await net?.stop();
    }
  });
}
