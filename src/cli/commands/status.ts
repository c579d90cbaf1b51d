/**
 * `p4cast status`: what the switches of a topology hold: reachability,
 * primary/backup (this command connects as a backup unless --election-id is
 * higher than the controller's), pipeline cookie, entry counts; per session
 * the tree installed now (read from the switches' session entries and PRE
 * groups, installed-state.ts), the overlay copies fed now, and whether that
 * is what the file plans (after a failover it is not); per link whether
 * heartbeats are answered right now (read twice, two heartbeat intervals
 * apart) and which links are down.
 */
import type { Command } from "commander";
import { P4RuntimeClient } from "../../client/client.js";
import { pipelineCookie } from "../../controller/pipeline.js";
import { planNetwork } from "../../controller/plan/network-plan.js";
import { NetworkGraph } from "../../controller/topology/graph.js";
import { addTopologyOptions, electionId, readPipeline, readTopology, type TopologyOptions } from "../controller-options.js";
import { printRows, toJson } from "../output.js";
import { readRunStates } from "../run-state.js";
import { notRunningError, unreachableSwitches } from "../network.js";
import { switchStateSource, type InstalledState } from "../installed-state.js";
import { controllerStateSource, controllerUrl } from "../live.js";
import Table from "cli-table3";

export function registerStatus(program: Command): void {
  addTopologyOptions(program.command("status").description("switches, pipelines, sessions, trees and link states of a topology"), "1")
    .option("--no-links", "skip the heartbeat check of links")
    .option(
      "--controller <url>",
      "a running controller's live view (deploy --run --http) to ask for the installed trees and link states " +
        "(default: the one published for this topology file; else the switches are read)",
    )
    .action(async (o: TopologyOptions & { links: boolean; controller?: string }) => {
      const topology = readTopology(o);
      const liveUrl = controllerUrl(o.topology, o.controller);
      const pipeline = await readPipeline(o);
      const down = await unreachableSwitches(topology);
      if (down.length === topology.switches.length) throw notRunningError(o.topology, down, topology.switches.length);
      const graph = new NetworkGraph(topology);
      const plan = planNetwork({ graph });
      const clients = new Map<string, P4RuntimeClient>();
      const switches = await Promise.all(
        topology.switches.map(async (s) => {
          try {
            const c = await P4RuntimeClient.connect({
              address: s.grpc,
              deviceId: BigInt(s.deviceId),
              electionId: electionId(o),
              reconnect: false,
              connectTimeoutMs: 3000,
            });
            clients.set(s.name, c);
            const cfg = await c.getPipeline("cookieOnly");
            const cookie = cfg?.cookie?.cookie;
            const entries = c.hasP4Info ? (await c.readAll({ kind: "tableEntry", table: "*" })).length : 0;
            return {
              switch: s.name,
              address: s.grpc,
              reachable: true,
              role: c.isPrimary
                ? "primary (this command)"
                : c.arbitration?.primaryElectionId !== undefined
                  ? `backup; primary has election id ${c.arbitration.primaryElectionId}`
                  : "no primary",
              pipeline: cookie === undefined ? "none" : cookie === pipeline.cookie ? "p4cast (current)" : `other (cookie ${cookie})`,
              entries,
            };
          } catch (e) {
            return {
              switch: s.name,
              address: s.grpc,
              reachable: false,
              role: "-",
              pipeline: "-",
              entries: 0,
              error: e instanceof Error ? e.message.split("\n")[0] : String(e),
            };
          }
        }),
      );
      // What is installed now: a running controller's view when one answers, else read from the switches.
      let installed: InstalledState | undefined;
      if (liveUrl) {
        try {
          installed = await controllerStateSource(liveUrl).read();
        } catch (e) {
          process.stderr.write(
            `note: the controller at ${liveUrl} does not answer (${e instanceof Error ? e.message : String(e)}); reading the switches\n`,
          );
        }
      }
      try {
        installed ??= await switchStateSource({ topology, graph, plan, clients, links: o.links }).read();
      } finally {
        for (const c of clients.values()) c.close();
      }
      const chain = (ingress: string, path: readonly { to: string }[]) => [ingress, ...path.map((a) => a.to)].join("→");
      const sessions = [...plan.sessions.values()].map((sp) => {
        const inst = installed.sessions.find((x) => x.session === sp.session.id);
        const fileTree = [...sp.tree.children].flatMap(([from, adj]) => adj.map((a) => `${from}→${a.to}`));
        const fileOverlays = [...sp.overlays.keys()].sort();
        const same =
          inst !== undefined &&
          inst.ingress !== undefined &&
          [...inst.tree].sort().join(" ") === [...fileTree].sort().join(" ") &&
          inst.overlays.join(" ") === fileOverlays.join(" ");
        return {
          session: sp.session.id,
          redundancy: sp.session.redundancy,
          ingress: inst?.ingress ?? "-",
          lastHops: inst?.lastHops.join(" ") ?? "",
          tree: inst?.tree.join(" ") ?? "",
          overlaysActive: inst?.overlays ?? [],
          installed: inst?.ingress !== undefined,
          asInFile: same,
          fileTree: fileTree.join(" "),
          fileOverlay: [...sp.overlays, ...sp.standby]
            .map(([lh, ov]) => `${lh}: ${chain(sp.ingress, ov.path)}${sp.standby.has(lh) ? " (standby)" : ""}`)
            .join("; "),
        };
      });
      const links = installed.links;
      // What the running controllers (deploy --run) know: switch health, why links are down, faults.
      const controllers = readRunStates(o.topology);

      if (o.output === "json") {
        process.stdout.write(
          `${toJson({
            switches,
            source: installed.source,
            sessions,
            links,
            controllers,
            expectedCookie: pipelineCookie(pipeline.p4info, pipeline.deviceConfig),
          })}\n`,
        );
        return;
      }
      printRows(
        "table",
        ["switch", "address", "reachable", "role", "pipeline", "entries"],
        switches.map((s) => [
          s.switch,
          s.address,
          s.reachable ? "yes" : `no: ${"error" in s ? s.error : ""}`,
          s.role,
          s.pipeline,
          s.entries,
        ]),
        switches,
      );
      const t = new Table({
        head: ["session", "mode", "ingress", "last hops", "installed tree", "overlay copies now", "vs. the file"],
        style: { head: [], border: [] },
        wordWrap: true,
        colWidths: [9, 20, 9, 12, 36, 16, 40],
      });
      for (const s of sessions)
        t.push([
          s.session,
          s.redundancy,
          s.ingress,
          s.lastHops || "-",
          s.installed ? s.tree || "(no tree)" : "not installed",
          s.overlaysActive.join(" ") || "-",
          !s.installed ? `planned: ${s.fileTree}` : s.asInFile ? "as planned" : `differs (failover?); the file's tree: ${s.fileTree}`,
        ]);
      process.stdout.write(`installed state, read from ${installed.source}:\n${t.toString()}\n`);
      const linksDown = links.filter((l) => l.state === "down");
      if (links.length)
        printRows(
          "table",
          ["link", "state"],
          links.map((l) => [l.link, l.detail]),
          links,
        );
      if (links.length)
        process.stdout.write(
          linksDown.length
            ? `links down: ${linksDown.map((l) => l.link).join(", ")}\n`
            : links.every((l) => l.state === "up")
              ? "links down: none\n"
              : "",
        );
      if (controllers.length === 0)
        process.stdout.write("controllers: none running for this topology file (p4cast deploy --run publishes its state)\n");
      for (const c of controllers) {
        const st = c.state;
        process.stdout.write(`controller pid ${c.pid}, election id ${st.electionId} (state of ${c.updatedAt}):\n`);
        printRows(
          "table",
          ["switch", "reachable", "primary", "in sync", "re-programmed", "last fault"],
          st.switches.map((h) => [
            h.name,
            h.reachable ? "yes" : "no",
            h.primary ? "yes" : h.primaryElectionId !== undefined ? `no (primary: ${h.primaryElectionId})` : "no",
            h.inSync ? "yes" : "no (retrying)",
            h.reprograms,
            h.lastFault ? `${new Date(h.lastFault.at).toISOString()} ${h.lastFault.task}: ${h.lastFault.message}` : "-",
          ]),
          st.switches,
        );
        process.stdout.write(
          st.downLinks.length
            ? `links down (controller): ${st.downLinks.map((l) => `${l.name} (${l.reasons.join(", ")})`).join("; ")}\n`
            : "links down (controller): none\n",
        );
      }
      if (switches.some((s) => !s.reachable)) {
        process.stderr.write(`hint: ${notRunningError(o.topology, down, topology.switches.length).hint}\n`);
        process.exitCode = 3;
      }
    });
}
