/**
 * `p4cast demo`: the main job in one command. It brings a topology up
 * (default examples/mesh8.yaml) on simple_switch_grpc when it is on PATH and
 * usable, else on embedded switches (--target picks one), deploys it with the
 * controller (and once more, to show that an unchanged topology writes
 * nothing), starts the heartbeats, streams sequenced UDP into every session,
 * cuts a tree link half-way, and prints what every client received: lost,
 * duplicated, reordered — per redundancy mode — and how the controller
 * repaired the network. Loss at a last hop that no overlay path can protect
 * (see coverage.ts) is expected and reported as such; the exit code is the
 * same for --output table and json: 1 only when a protected client of an
 * always-redundant session lost or duplicated packets.
 */
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import Table from "cli-table3";
import { Controller, type FailoverReport } from "../../controller/controller.js";
import { bmv2NetworkUnavailable } from "../../lab/bmv2-network.js";
import { analyse, recordClients, sendStream, settle, streamFrame, type ClientLog } from "../../lab/stream.js";
import { loadPipeline } from "../../controller/pipeline.js";
import { loadTopology } from "../../controller/topology/load.js";
import { portMac } from "../../controller/topology/addressing.js";
import { formatMac } from "../../p4runtime/codec/values.js";
import { printDeploy } from "./deploy.js";
import { CliError, EXIT, plural, toJson, type OutputFormat } from "../output.js";
import { parseTarget, startNetwork, type TargetName } from "../network.js";
import { onPath } from "../../lab/on-path.js";
import { coverageWarning, unprotectedLastHops } from "../coverage.js";
import { addHttpOptions, checkHttpAddress, startLiveView } from "../live.js";
import { untilSignal } from "../network.js";
import type { LiveServer } from "../../controller/live/server.js";

/** The live view's address when --http is not given; taken: a free port instead. */
export const DEMO_HTTP = "127.0.0.1:8080";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

interface DemoOptions {
  topology: string;
  packets: string;
  rateMs: string;
  cut?: string;
  target: string;
  output: OutputFormat;
  /** false with --no-http. */
  http: string | false;
  httpAllowRemote?: boolean;
  keep?: boolean;
}

/** Which switches the demo runs on, and why. */
export function chooseTarget(asked: TargetName | "auto"): { target: TargetName; why: string } {
  if (asked !== "auto") return { target: asked, why: `--target ${asked}` };
  if (!onPath("simple_switch_grpc")) return { target: "embedded", why: "simple_switch_grpc is not on PATH" };
  const why = bmv2NetworkUnavailable();
  if (why) return { target: "embedded", why: `simple_switch_grpc is on PATH, but ${why}` };
  return { target: "bmv2", why: "simple_switch_grpc is on PATH" };
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

export function registerDemo(program: Command): void {
  const cmd = program
    .command("demo")
    .description(
      "bring a topology up (simple_switch_grpc when present, else embedded switches), deploy it, " +
        "stream into every session, cut a tree link, report per client",
    )
    .option("-t, --topology <file>", "topology file", join(root, "examples", "mesh8.yaml"))
    .option("--target <target>", "auto (simple_switch_grpc when on PATH and usable, else embedded) | embedded | bmv2", "auto")
    .option("--packets <n>", "packets per session", "600")
    .option("--rate-ms <ms>", "milliseconds between packets of a session", "5")
    .option("--cut <link>", "link to cut half-way (default: the last link of the first session's first tree branch)")
    .option("--output <format>", "table | json", "table")
    .option("--no-http", "do not serve the live view")
    .option("--keep", "stay up after the report, with the live view, until Ctrl-C")
    .action(async (o: DemoOptions) => {
      const asked = parseTarget(o.target, true);
      const httpAsked = o.http !== false && o.http !== DEMO_HTTP;
      if (o.http !== false) checkHttpAddress(o.http, !!o.httpAllowRemote);
      if (!["table", "json"].includes(o.output)) throw new CliError(`--output must be table or json (got "${o.output}")`, EXIT.usage);
      const topology = loadTopology(o.topology);
      if (topology.sessions.length === 0) throw new CliError(`${o.topology} has no sessions to stream`, EXIT.usage);
      const count = Number(o.packets);
      const rate = Number(o.rateMs);
      if (!Number.isInteger(count) || count < 2)
        throw new CliError(`--packets must be an integer of at least 2 (got "${o.packets}")`, EXIT.usage);
      if (!(rate > 0)) throw new CliError(`--rate-ms must be a positive number (got "${o.rateMs}")`, EXIT.usage);
      const table = o.output === "table";
      const say = (s: string) => table && process.stdout.write(`${s}\n`);
      const { target, why } = chooseTarget(asked);
      const targetName = target === "bmv2" ? "simple_switch_grpc (BMv2)" : "embedded switches";
      say(
        `p4cast demo: ${topology.name}: ${plural(topology.switches.length, "switch", "switches")}, ` +
          `${plural(topology.sessions.length, "session")}, on ${targetName} (${why})`,
      );
      const unprotected = unprotectedLastHops(topology);
      for (const u of unprotected) say(`warning: ${coverageWarning(u)}`);
      const net = await startNetwork(topology, target, "random");
      const ctl = new Controller({
        topology,
        pipeline: await loadPipeline(),
        grpcAddress: (s) => net.grpcAddress(s),
        ...(net.thriftAddress ? { thriftAddress: (s) => net.thriftAddress!(s) } : {}),
      });
      let live: LiveServer | undefined;
      const failovers: FailoverReport[] = [];
      let cutAt: number | undefined;
      let detectedMs: number | undefined;
      ctl.on("failover", (r) => failovers.push(r));
      ctl.on("linkDown", () => {
        if (cutAt !== undefined && detectedMs === undefined) detectedMs = performance.now() - cutAt;
      });
      try {
        if (o.http !== false) {
          try {
            live = await startLiveView(ctl, o.http, !!o.httpAllowRemote);
          } catch (e) {
            // The default port may be taken (another demo, another program): any free one will do.
            if (httpAsked || !(e instanceof CliError) || e.exitCode !== EXIT.failed) throw e;
            live = await startLiveView(ctl, "127.0.0.1:0", false);
          }
          (table ? process.stdout : process.stderr).write(`live view: ${live.url} (open it in a browser; metrics: ${live.url}metrics)\n`);
        }
        await ctl.connect();
        const first = await ctl.deploy();
        if (table) printDeploy({ output: "table" }, first);
        const second = await ctl.deploy();
        say(`second deploy of the unchanged topology: ${plural(second.writes, "write")}`);
        ctl.startHeartbeats();
        await new Promise((r) => setTimeout(r, 3 * topology.heartbeat.intervalMs));
        const plan = ctl.currentPlan!;
        const s0 = plan.sessions.get(topology.sessions[0]!.id)!;
        const firstBranch = [...s0.tree.branch.values()][0];
        const cutLink = o.cut
          ? topology.links.findIndex((_l, i) => ctl.graph.linkName(i) === o.cut)
          : firstBranch?.[firstBranch.length - 1]?.link;
        if (cutLink === undefined || cutLink < 0)
          throw new CliError(`no link "${o.cut}" to cut`, EXIT.usage, "use the s1:2-s2:1 form printed by `p4cast status`");
        const cutName = ctl.graph.linkName(cutLink);
        const streams = topology.sessions.map((s) => {
          const src = topology.hosts.find((h) => h.name === s.source)!;
          const gw = formatMac(portMac(topology.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
          return {
            s,
            logs: recordClients(net.hosts, s.clients, s.service.port),
            host: net.hosts.get(src.name)!,
            frame: (q: number) => streamFrame(src, gw, s, q),
          };
        });
        say(
          `streaming ${count} packets into each session, one every ${rate} ms (${((count * rate) / 1000).toFixed(1)} s); ` +
            `cutting ${cutName} at packet ${Math.floor(count / 2)}`,
        );
        const quarter = Math.max(1, Math.floor(count / 4));
        const started = performance.now();
        const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
        await Promise.all(
          streams.map((st, i) =>
            sendStream(st.host, st.frame, count, rate, (q) => {
              if (i !== 0) return;
              if (q === Math.floor(count / 2)) {
                net.link(cutLink).cut();
                cutAt = performance.now();
                say(`  ${((cutAt - started) / 1000).toFixed(1)} s: packet ${q}: cut ${cutName}`);
              }
              if (q > 0 && q % quarter === 0)
                say(`  ${elapsed()} s: sent ${q}/${count} packets per session (${Math.round((100 * q) / count)}%)`);
            }),
          ),
        );
        say(`  ${elapsed()} s: sent ${count}/${count} packets per session; waiting for the last packets to arrive`);
        const allLogs = new Map<string, ClientLog>(streams.flatMap((st) => [...st.logs].map(([c, l]) => [`${st.s.id}/${c}`, l] as const)));
        await settle(allLogs);
        // The cut's repair ends after its drains (topology `repair.drainMs`, twice): its report, when a verdict came.
        const repairDeadline = performance.now() + 2 * topology.repair.drainMs + 10_000;
        while (detectedMs !== undefined && !failovers.some((f) => f.link === cutName && !f.up) && performance.now() < repairDeadline)
          await new Promise((r) => setTimeout(r, 50));
        const unprotectedBy = (session: number, client: string) => {
          const lh = topology.hosts.find((h) => h.name === client)?.attach.switch;
          return unprotected.find((u) => u.session === session && u.lastHop === lh && u.sharedLinks.includes(cutName));
        };
        const rows = streams.flatMap((st) =>
          [...st.logs].map(([c, log]) => {
            const a = analyse(log, count);
            const u = st.s.redundancy === "always-redundant" ? unprotectedBy(st.s.id, c) : undefined;
            return {
              session: st.s.id,
              mode: st.s.redundancy,
              client: c,
              ...a,
              longestGapMs: a.longestGap * rate,
              protected: st.s.redundancy === "always-redundant" ? !u : undefined,
              lastHop: topology.hosts.find((h) => h.name === c)?.attach.switch,
            };
          }),
        );
        const redundant = rows.filter((r) => r.mode === "always-redundant");
        const failures = redundant.filter((r) => (r.protected && r.lost > 0) || r.duplicated > 0);
        const expectedLoss = redundant.filter((r) => !r.protected && r.lost > 0);
        const repairs = failovers.map((f) => ({ ...f, switchCount: new Set(f.switches).size }));
        const verdict = failures.length
          ? "loss or duplicates at protected clients"
          : expectedLoss.length
            ? "ok (loss only at unprotected last hops)"
            : "ok";
        if (failures.length) process.exitCode = 1;
        if (!table) {
          process.stdout.write(
            `${toJson({
              target,
              targetReason: why,
              ...(live ? { liveView: live.url } : {}),
              deploy: first,
              redeployWrites: second.writes,
              cut: cutName,
              detectionMs: detectedMs,
              failovers: repairs,
              unprotected,
              clients: rows,
              verdict,
              ok: failures.length === 0,
            })}\n`,
          );
        } else {
          printReport();
        }
        if (o.keep) {
          (table ? process.stdout : process.stderr).write(`staying up${live ? ` with the live view at ${live.url}` : ""}; Ctrl-C stops\n`);
          await untilSignal();
        }
        function printReport(): void {
          const t = new Table({
            head: ["session", "mode", "client", "received", "lost", "duplicated", "reordered", "longest gap"],
            style: { head: [], border: [] },
          });
          for (const r of rows)
            t.push([
              r.session,
              r.mode + (r.protected === false ? " (unprotected)" : ""),
              r.client,
              `${r.received} packets`,
              `${r.lost} packets`,
              `${r.duplicated} packets`,
              `${r.reordered} packets`,
              `${r.longestGap} packets / ${r.longestGapMs.toFixed(0)} ms`,
            ]);
          process.stdout.write(`${t.toString()}\n`);
          if (detectedMs !== undefined)
            say(
              `detection: the heartbeats declared ${cutName} down ${ms(detectedMs)} after the cut ` +
                `(interval ${topology.heartbeat.intervalMs} ms, ${topology.heartbeat.missThreshold} misses)`,
            );
          for (const f of repairs) {
            const overlay = f.overlayMs !== undefined ? `overlay switched on ${ms(f.overlayMs)} after the heartbeat verdict, ` : "";
            const repaired = `repaired with ${plural(f.writes, "write")} on ${plural(f.switchCount, "switch", "switches")}`;
            const sinceCut = detectedMs !== undefined && !f.up ? ` (${ms(detectedMs + f.readyMs)} after the cut)` : "";
            say(
              `failover: ${f.link} ${f.up ? "up" : "down"}: ${overlay}${repaired}: new ways ready ${ms(f.readyMs)} after the heartbeat ` +
                `verdict${sinceCut}, old ways gone after ${ms(f.repairMs)}`,
            );
          }
          if (failures.length)
            say(
              `always-redundant sessions: LOSS OR DUPLICATES at protected clients ` +
                `(${failures.map((r) => `session ${r.session} ${r.client}`).join(", ")})`,
            );
          else if (expectedLoss.length) {
            const lhs = [...new Set(expectedLoss.map((r) => `session ${r.session} last hop ${r.lastHop}`))];
            const protectedOnes = redundant.some((r) => r.protected)
              ? "every protected client got every packet exactly once"
              : "no client is protected in this topology";
            say(
              `always-redundant sessions: ${protectedOnes}; ${expectedLoss.map((r) => r.client).join(", ")} lost packets because ` +
                `${lhs.join(", ")} ${lhs.length === 1 ? "is" : "are"} unprotected: no overlay path avoids ${cutName} ` +
                "(expected, not a failure; see the protection-coverage warning)",
            );
          } else say("always-redundant sessions: every client got every packet exactly once");
        }
      } finally {
        await live?.close();
        await ctl.close();
        await net.stop();
      }
    });
  addHttpOptions(cmd, DEMO_HTTP);
}
