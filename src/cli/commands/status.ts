/**
 * `p4cast status`: what the switches of a topology hold and how the
 * sessions are laid out: reachability, primary/backup (this command connects
 * as a backup unless --election-id is higher than the controller's), pipeline
 * cookie, entry counts; per session its ingress router, last hops, tree and
 * overlay; per link whether heartbeats are answered right now (read twice,
 * two heartbeat intervals apart).
 */
import type { Command } from "commander";
import { P4RuntimeClient } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import { pipelineCookie } from "../../controller/pipeline.js";
import { planNetwork } from "../../controller/plan/network-plan.js";
import { HB_COUNTER } from "../../controller/runtime/heartbeat.js";
import { NetworkGraph } from "../../controller/topology/graph.js";
import { addTopologyOptions, electionId, readPipeline, readTopology, type TopologyOptions } from "../controller-options.js";
import { printRows, toJson } from "../output.js";
import { notRunningError, unreachableSwitches } from "../network.js";
import Table from "cli-table3";

export function registerStatus(program: Command): void {
  addTopologyOptions(program.command("status").description("switches, pipelines, sessions, trees and link states of a topology"), "1")
    .option("--no-links", "skip the heartbeat check of links")
    .action(async (o: TopologyOptions & { links: boolean }) => {
      const topology = readTopology(o);
      const pipeline = await readPipeline(o);
      const down = await unreachableSwitches(topology);
      if (down.length === topology.switches.length) throw notRunningError(o.topology, down, topology.switches.length);
      const graph = new NetworkGraph(topology);
      const plan = planNetwork({ graph });
      const clients = new Map<string, P4RuntimeClient>();
      const switches = await Promise.all(
        topology.switches.map(async (s) => {
          try {
            const c = await P4RuntimeClient.connect({ address: s.grpc, deviceId: BigInt(s.deviceId), electionId: electionId(o), reconnect: false, connectTimeoutMs: 3000 });
            clients.set(s.name, c);
            const cfg = await c.getPipeline("cookieOnly");
            const cookie = cfg?.cookie?.cookie;
            const entries = c.hasP4Info ? (await c.readAll({ kind: "tableEntry", table: "*" })).length : 0;
            return {
              switch: s.name,
              address: s.grpc,
              reachable: true,
              role: c.isPrimary ? "primary (this command)" : c.arbitration?.primaryElectionId !== undefined ? `backup; primary has election id ${c.arbitration.primaryElectionId}` : "no primary",
              pipeline: cookie === undefined ? "none" : cookie === pipeline.cookie ? "p4cast (current)" : `other (cookie ${cookie})`,
              entries,
            };
          } catch (e) {
            return { switch: s.name, address: s.grpc, reachable: false, role: "-", pipeline: "-", entries: 0, error: e instanceof Error ? e.message.split("\n")[0] : String(e) };
          }
        }),
      );
      // Link liveness: heartbeat counters must move between two reads.
      const links: { link: string; state: string }[] = [];
      if (o.links) {
        const read = async () =>
          new Map(
            await Promise.all(
              [...clients].map(async ([n, c]) => [n, c.hasP4Info ? ((await c.readAll({ kind: "counterEntry", counter: HB_COUNTER }).catch(() => [])) as DecodedOf<"counterEntry">[]) : []] as const),
            ),
          );
        const before = await read();
        await new Promise((r) => setTimeout(r, 2 * topology.heartbeat.intervalMs + 50));
        const after = await read();
        topology.links.forEach((_l, i) => {
          const name = graph.linkName(i);
          const answered = [...plan.peers].some(([sw, peers]) =>
            peers.some((p) => p.link === i && (after.get(sw)?.find((x) => Number(x.index) === p.index)?.data.packets ?? 0n) > (before.get(sw)?.find((x) => Number(x.index) === p.index)?.data.packets ?? 0n)),
          );
          links.push({ link: name, state: answered ? "up (heartbeats answered)" : "no heartbeats (down, or no controller running)" });
        });
      }
      const sessions = [...plan.sessions.values()].map((sp) => ({
        session: sp.session.id,
        redundancy: sp.session.redundancy,
        ingress: sp.ingress,
        lastHops: [...sp.lastHops.keys()].join(" "),
        tree: [...sp.tree.children].flatMap(([from, adj]) => adj.map((a) => `${from}→${a.to}`)).join(" "),
        overlay: [...sp.overlays, ...sp.standby].map(([lh, ov]) => `${lh}: ${[sp.ingress, ...ov.path.map((a) => a.to)].join("→")}${sp.standby.has(lh) ? " (standby)" : ""}`).join("; "),
      }));
      for (const c of clients.values()) c.close();
      if (o.output === "json") {
        process.stdout.write(toJson({ switches, sessions, links, expectedCookie: pipelineCookie(pipeline.p4info, pipeline.deviceConfig) }) + "\n");
        return;
      }
      printRows("table", ["switch", "address", "reachable", "role", "pipeline", "entries"], switches.map((s) => [s.switch, s.address, s.reachable ? "yes" : `no: ${"error" in s ? s.error : ""}`, s.role, s.pipeline, s.entries]), switches);
      const t = new Table({ head: ["session", "mode", "ingress", "last hops", "tree", "overlay"], style: { head: [], border: [] }, wordWrap: true, colWidths: [9, 20, 9, 14, 40, 50] });
      for (const s of sessions) t.push([s.session, s.redundancy, s.ingress, s.lastHops, s.tree, s.overlay || "-"]);
      process.stdout.write(t.toString() + "\n");
      if (links.length) printRows("table", ["link", "state"], links.map((l) => [l.link, l.state]), links);
      if (switches.some((s) => !s.reachable)) {
        process.stderr.write(`hint: ${notRunningError(o.topology, down, topology.switches.length).hint}\n`);
        process.exitCode = 3;
      }
    });
}
