/**
 * `p4cast deploy`: programs every switch of a topology from the file
 * (declaratively: only the difference is written; an unchanged topology
 * writes nothing). With --run it stays up: heartbeats, failover, re-programs
 * restarted switches, handles joins, and logs what it does until stopped.
 */
import { SingleBar, Presets } from "cli-progress";
import type { Command } from "commander";
import { Controller, type DeployReport } from "../../controller/controller.js";
import { listeningLines, notRunningError, startNetwork, unreachableSwitches, untilSignal, type RunningNetwork } from "../network.js";
import { protectionWarnings } from "../coverage.js";
import { addTopologyOptions, electionId, readPipeline, readTopology, type TopologyOptions } from "../controller-options.js";
import { CliError, EXIT, plural, printRows } from "../output.js";
import { publishRunState } from "../run-state.js";
import { addHttpOptions, checkHttpAddress, startLiveView } from "../live.js";
import type { LiveServer } from "../../controller/live/server.js";

interface DeployOptions extends TopologyOptions {
  run?: boolean;
  embedded?: boolean;
  heartbeats: boolean;
  http?: string;
  httpAllowRemote?: boolean;
}

export function printDeploy(o: { output: "table" | "json" }, report: DeployReport): void {
  printRows(
    o.output,
    ["switch", "inserted", "modified", "deleted", "requests"],
    report.switches.map((r) => [r.switch, r.inserted, r.modified, r.deleted, r.requests]),
    report,
  );
  if (o.output === "table") {
    const pushed = report.pipelinesPushed.length ? report.pipelinesPushed.join(", ") : "no switch (cookies matched)";
    process.stdout.write(`${report.writes} writes in ${report.durationMs.toFixed(0)} ms; pipeline pushed to ${pushed}\n`);
    for (const w of report.warnings) process.stdout.write(`warning: ${w}\n`);
  }
}

export function registerDeploy(program: Command): void {
  addHttpOptions(
    addTopologyOptions(
      program
        .command("deploy")
        .description("program every switch of a topology (only the difference is written)")
        .option("--run", "stay up: heartbeats, failover, restarts, joins")
        .option("--no-heartbeats", "with --run: do not watch links")
        .option(
          "--embedded",
          "first bring the topology up on in-process embedded switches, on the file's grpc addresses (implies --run; Ctrl-C stops)",
        ),
    ),
  ).action(async (o: DeployOptions) => {
    if (o.http !== undefined && !o.run && !o.embedded)
      throw new CliError("--http serves the view of a controller that stays up: add --run", EXIT.usage);
    if (o.http !== undefined) checkHttpAddress(o.http, !!o.httpAllowRemote);
    const topology = readTopology(o);
    const pipeline = await readPipeline(o);
    const eid = electionId(o);
    const warnings = protectionWarnings(topology);
    let net: RunningNetwork | undefined;
    if (o.embedded) {
      net = await startNetwork(topology, "embedded", "topology");
      // With --output json, stdout carries only the report.
      (o.output === "json" ? process.stderr : process.stdout).write(
        `${topology.name}: ${topology.switches.length} embedded switches listening:\n${listeningLines(topology, net)}\n`,
      );
    } else {
      const down = await unreachableSwitches(topology);
      if (down.length) throw notRunningError(o.topology, down, topology.switches.length);
    }
    const ctl = new Controller({
      topology,
      pipeline,
      electionId: eid,
      // With --run a controller whose election id is not the highest stays up as a backup and takes over.
      allowBackup: !!(o.run || o.embedded),
      log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`),
    });
    const cleanups: (() => void | Promise<void>)[] = [];
    let live: LiveServer | undefined;
    // Staying up: a Ctrl-C from here on (during the deploy too) stops cleanly.
    const signalled = o.run || o.embedded ? untilSignal() : undefined;
    const bar =
      o.output === "table" && process.stderr.isTTY
        ? new SingleBar({ format: "deploy [{bar}] {value}/{total} switches", clearOnComplete: true }, Presets.shades_classic)
        : undefined;
    try {
      if (o.http !== undefined) {
        live = await startLiveView(ctl, o.http, !!o.httpAllowRemote);
        cleanups.push(() => live!.close());
        process.stderr.write(`live view: ${live.url} (metrics: ${live.url}metrics, state: ${live.url}api/state)\n`);
      }
      await ctl.connect();
      bar?.start(topology.switches.length, 0);
      ctl.on("programmed", () => bar?.increment());
      const report = await ctl.deploy();
      bar?.stop();
      printDeploy(o, { ...report, warnings: [...report.warnings, ...warnings] });
      if (!signalled) return;
      // A long-running controller reports a failure it did not expect and keeps running (docs/reliability.md).
      process.on("unhandledRejection", (e) =>
        process.stderr.write(`${new Date().toISOString()} fault: unexpected: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`),
      );
      if (report.backupOn.length > 0) {
        process.stderr.write(
          `backup on ${report.backupOn.join(", ")}: another controller is primary there; this one takes over when it goes\n`,
        );
      }
      // `p4cast status -t <file>` shows what this controller knows (switch health, down links, faults).
      const published = publishRunState(o.topology, () => ctl.state(), live?.url);
      for (const ev of ["fault", "linkDown", "linkUp", "switchLost", "role", "reprogrammed", "takeover", "resynced", "failover"] as const)
        ctl.on(ev, () => published.update());
      cleanups.push(() => published.stop());
      if (o.heartbeats) ctl.startHeartbeats();
      process.stderr.write(`running: ${topology.switches.length} switches, ${plural(topology.sessions.length, "session")}; Ctrl-C stops\n`);
      const sig = await signalled;
      process.stderr.write(`${sig}: stopping${net ? " the controller and the embedded switches" : " the controller"}\n`);
    } finally {
      bar?.stop();
      for (const c of cleanups) await c();
      await ctl.close();
      await net?.stop();
    }
    if (o.embedded || o.run) process.stderr.write("stopped\n");
  });
}
