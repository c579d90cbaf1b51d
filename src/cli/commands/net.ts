/**
 * `p4cast net up`: brings a topology's network up on its own, on the
 * addresses of the topology file, and keeps it up until Ctrl-C: embedded
 * switches in this process (the default) or simple_switch_grpc processes
 * (--target bmv2: root, the AF_PACKET addon). Nothing is programmed: run
 * `p4cast deploy -t FILE [--run]` next, then status, watch, table ...
 */
import type { Command } from "commander";
import { readTopology } from "../controller-options.js";
import { listeningLines, parseTarget, startNetwork, untilSignal } from "../network.js";

export function registerNet(program: Command): void {
  const net = program.command("net").description("bring a topology's switches up for other commands to use");
  net
    .command("up")
    .description("start every switch of a topology on the file's addresses (no pipeline, no entries) until Ctrl-C")
    .requiredOption("-t, --topology <file>", "topology file (YAML or JSON)")
    .option("--target <target>", "embedded | bmv2 (simple_switch_grpc)", "embedded")
    .action(async (o: { topology: string; target: string }) => {
      const target = parseTarget(o.target, false) as "embedded" | "bmv2";
      const topology = readTopology({ topology: o.topology, electionId: "1", output: "table" });
      const running = await startNetwork(topology, target, "topology");
      try {
        process.stdout.write(
          `${topology.name}: ${topology.switches.length} ${target === "bmv2" ? "simple_switch_grpc" : "embedded"} switches listening:\n` +
            `${listeningLines(topology, running)}\n` +
            `next: npx p4cast deploy -t ${o.topology} --run   (Ctrl-C here stops the switches)\n`,
        );
        const sig = await untilSignal();
        process.stderr.write(`${sig}: stopping the switches\n`);
      } finally {
        await running.stop();
      }
      process.stderr.write("stopped\n");
    });
}
