/**
 * `p4cast demo`: the main job in one command. It brings a topology up
 * (default examples/mesh8.yaml) on embedded switches, deploys it with the
 * controller (and once more, to show that an unchanged topology writes
 * nothing), starts the heartbeats, streams sequenced UDP into every session,
 * cuts a tree link half-way, and prints what every client received: lost,
 * duplicated, reordered — per redundancy mode — and how the controller
 * repaired the network.
 */
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import Table from "cli-table3";
import { Controller, type FailoverReport } from "../../controller/controller.js";
import { EmbeddedNetwork } from "../../controller/lab/embedded-network.js";
import { analyse, recordClients, sendStream, settle, streamFrame, type ClientLog } from "../../controller/lab/stream.js";
import { loadPipeline } from "../../controller/pipeline.js";
import { loadTopology } from "../../controller/topology/load.js";
import { portMac } from "../../controller/topology/addressing.js";
import { formatMac } from "../../client/codec/values.js";
import { printDeploy } from "./deploy.js";
import { CliError, toJson, type OutputFormat } from "../output.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

interface DemoOptions {
  topology: string;
  packets: string;
  rateMs: string;
  cut?: string;
  output: OutputFormat;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("deploy a topology on embedded switches, stream into every session, cut a tree link, report per client")
    .option("-t, --topology <file>", "topology file", join(root, "examples", "mesh8.yaml"))
    .option("--packets <n>", "packets per session", "600")
    .option("--rate-ms <ms>", "milliseconds between packets of a session", "5")
    .option("--cut <link>", "link to cut half-way (default: the last link of the first session's first tree branch)")
    .option("--output <format>", "table | json", "table")
    .action(async (o: DemoOptions) => {
      const topology = loadTopology(o.topology);
      if (topology.sessions.length === 0) throw new CliError(`${o.topology} has no sessions to stream`, 2);
      const count = Number(o.packets);
      const rate = Number(o.rateMs);
      const say = (s: string) => o.output === "table" && process.stdout.write(s + "\n");
      say(`p4cast demo: ${topology.name}: ${topology.switches.length} embedded switches, ${topology.sessions.length} sessions (BMv2 runs: see docs/mininet.md)`);
      const net = await EmbeddedNetwork.start(topology);
      const ctl = new Controller({ topology, pipeline: await loadPipeline(), grpcAddress: net.grpcAddress });
      const failovers: FailoverReport[] = [];
      ctl.on("failover", (r) => failovers.push(r));
      try {
        await ctl.connect();
        const first = await ctl.deploy();
        if (o.output === "table") printDeploy({ output: "table" }, first);
        const second = await ctl.deploy();
        say(`second deploy of the unchanged topology: ${second.writes} writes`);
        ctl.startHeartbeats();
        await new Promise((r) => setTimeout(r, 3 * topology.heartbeat.intervalMs));
        const plan = ctl.currentPlan!;
        const s0 = plan.sessions.get(topology.sessions[0]!.id)!;
        const firstBranch = [...s0.tree.branch.values()][0];
        const cutLink = o.cut ? topology.links.findIndex((_l, i) => ctl.graph.linkName(i) === o.cut) : firstBranch?.[firstBranch.length - 1]?.link;
        if (cutLink === undefined || cutLink < 0) throw new CliError(`no link "${o.cut}" to cut`, 2, "use the s1:2-s2:1 form printed by `p4cast status`");
        const streams = topology.sessions.map((s) => {
          const src = topology.hosts.find((h) => h.name === s.source)!;
          const gw = formatMac(portMac(topology.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
          return { s, logs: recordClients(net.hosts, s.clients, s.service.port), host: net.hosts.get(src.name)!, frame: (q: number) => streamFrame(src, gw, s, q) };
        });
        say(`streaming ${count} packets into each session every ${rate} ms; cutting ${ctl.graph.linkName(cutLink)} half-way`);
        await Promise.all(
          streams.map((st, i) =>
            sendStream(st.host, st.frame, count, rate, (q) => {
              if (i === 0 && q === Math.floor(count / 2)) net.link(cutLink).cut();
            }),
          ),
        );
        const allLogs = new Map<string, ClientLog>(streams.flatMap((st) => [...st.logs].map(([c, l]) => [`${st.s.id}/${c}`, l] as const)));
        await settle(allLogs);
        const rows = streams.flatMap((st) => [...st.logs].map(([c, log]) => ({ session: st.s.id, mode: st.s.redundancy, client: c, ...analyse(log, count) })));
        if (o.output === "json") {
          process.stdout.write(toJson({ deploy: first, redeployWrites: second.writes, cut: ctl.graph.linkName(cutLink), failovers, clients: rows }) + "\n");
          return;
        }
        const t = new Table({ head: ["session", "mode", "client", "received", "lost", "duplicated", "reordered", "longest gap"], style: { head: [], border: [] } });
        for (const r of rows) t.push([r.session, r.mode, r.client, r.received, r.lost, r.duplicated, r.reordered, r.longestGap]);
        process.stdout.write(t.toString() + "\n");
        for (const f of failovers) {
          say(`failover: ${f.link} ${f.up ? "up" : "down"}: ${f.overlayMs !== undefined ? `overlay on in ${f.overlayMs.toFixed(1)} ms, ` : ""}repaired with ${f.writes} writes on ${f.switches.join(", ")} in ${f.repairMs.toFixed(1)} ms`);
        }
        const redundant = rows.filter((r) => r.mode === "always-redundant");
        say(redundant.every((r) => r.lost === 0 && r.duplicated === 0) ? "always-redundant sessions: every client got every packet exactly once" : "always-redundant sessions: LOSS OR DUPLICATES (see above)");
        if (redundant.some((r) => r.lost > 0 || r.duplicated > 0)) process.exitCode = 1;
      } finally {
        await ctl.close();
        await net.stop();
      }
    });
}
