/**
 * `p4cast watch`: a live view of a running deployment: per link, heartbeat
 * responses counted in the data plane since the last refresh; per session,
 * the last hops' delivered / duplicate / too-old counters and the ingress
 * router's burst colours. Asks a running controller's live view for them
 * when there is one (`--controller`, or the one published for the topology
 * file); else reads the switches (connects as a backup). Reads only.
 */
import type { Command } from "commander";
import Table from "cli-table3";
import { P4RuntimeClient } from "../../client/client.js";
import { planNetwork } from "../../controller/plan/network-plan.js";
import { readCounters, type CounterSnapshot } from "../../controller/live/counters.js";
import { NetworkGraph } from "../../controller/topology/graph.js";
import { addTopologyOptions, electionId, readTopology, type TopologyOptions } from "../controller-options.js";
import { CliError, EXIT, toJson } from "../output.js";
import { notRunningError, unreachableSwitches } from "../network.js";
import { controllerUrl, fetchLiveState } from "../live.js";


/** One refresh's counters, from the switches or from a controller (numbers as the data plane counts them). */
interface Reading {
  readonly heartbeats: readonly { link: string; from: string; total: bigint }[];
  readonly sessions: readonly { session: number; lastHop: string; delivered: bigint; duplicate: bigint; tooOld: bigint; outOfWindow: bigint; green: bigint; yellow: bigint; red: bigint }[];
}

function reading(c: CounterSnapshot | { dedup: readonly { session: number; lastHop: string; delivered: number | bigint; duplicate: number | bigint; tooOld: number | bigint; outOfWindow: number | bigint }[]; colours: readonly { session: number; green: number | bigint; yellow: number | bigint; red: number | bigint }[]; heartbeats: readonly { switch: string; link: number; responses: number | bigint }[] }, linkName: (i: number) => string): Reading {
  const n = (x: number | bigint) => BigInt(x);
  return {
    heartbeats: c.heartbeats.map((h) => ({ link: linkName(h.link), from: h.switch, total: n(h.responses) })),
    sessions: c.dedup.map((d) => {
      const col = c.colours.find((x) => x.session === d.session);
      return { session: d.session, lastHop: d.lastHop, delivered: n(d.delivered), duplicate: n(d.duplicate), tooOld: n(d.tooOld), outOfWindow: n(d.outOfWindow), green: n(col?.green ?? 0), yellow: n(col?.yellow ?? 0), red: n(col?.red ?? 0) };
    }),
  };
}

export function registerWatch(program: Command): void {
  addTopologyOptions(program.command("watch").description("live heartbeats and session counters of a running deployment"), "1")
    .option("--interval <ms>", "refresh period", "1000")
    .option("--count <n>", "stop after n refreshes (default: until Ctrl-C); --once is --count 1")
    .option("--once", "one refresh, then exit")
    .option("--controller <url>", "a running controller's live view (deploy --run --http) to ask for the counters (default: the one published for this topology file; else the switches are read)")
    .action(async (o: TopologyOptions & { interval: string; count?: string; once?: boolean; controller?: string }) => {
      if (o.once) o.count = "1";
      const topology = readTopology(o);
      const graph = new NetworkGraph(topology);
      const plan = planNetwork({ graph });
      if (o.count !== undefined && !/^[1-9]\d*$/.test(o.count)) throw new CliError(`--count must be a positive integer (got "${o.count}")`, EXIT.usage);
      if (!/^[1-9]\d*$/.test(o.interval)) throw new CliError(`--interval must be a positive number of milliseconds (got "${o.interval}")`, EXIT.usage);
      let liveUrl = controllerUrl(o.topology, o.controller);
      if (liveUrl) {
        try {
          await fetchLiveState(liveUrl);
        } catch (e) {
          process.stderr.write(`note: the controller at ${liveUrl} does not answer (${e instanceof Error ? e.message : String(e)}); reading the switches\n`);
          liveUrl = undefined;
        }
      }
      const clients = new Map<string, P4RuntimeClient>();
      if (!liveUrl) {
        const down = await unreachableSwitches(topology);
        if (down.length) throw notRunningError(o.topology, down, topology.switches.length);
        await Promise.all(
          topology.switches.map(async (s) => {
            clients.set(s.name, await P4RuntimeClient.connect({ address: s.grpc, deviceId: BigInt(s.deviceId), electionId: electionId(o), reconnect: { initialMs: 200, maxMs: 2000 } }));
          }),
        );
      }
      const read = async (): Promise<Reading> => (liveUrl ? reading((await fetchLiveState(liveUrl, true)).counters ?? { dedup: [], colours: [], heartbeats: [] }, (i) => graph.linkName(i)) : reading(await readCounters(plan, clients), (i) => graph.linkName(i)));
      let stop = false;
      process.once("SIGINT", () => (stop = true));
      let prev = new Map<string, bigint>();
      const limit = o.count ? Number(o.count) : Infinity;
      for (let n = 0; n < limit && !stop; n++) {
        const r = await read();
        const links = r.heartbeats.map((h) => ({ link: h.link, from: h.from, total: h.total, responses: Number(h.total - (prev.get(`${h.from}|${h.link}`) ?? h.total)) }));
        prev = new Map(r.heartbeats.map((h) => [`${h.from}|${h.link}`, h.total]));
        const sessions = r.sessions;
        if (o.output === "json") {
          process.stdout.write(toJson({ time: new Date().toISOString(), links, sessions }) + "\n");
        } else {
          const lt = new Table({ head: ["link", "seen from", "heartbeat responses (total)", `in the last ${o.interval} ms`], style: { head: [], border: [] } });
          for (const l of links) lt.push([l.link, l.from, String(l.total), n === 0 ? "-" : l.responses]);
          const st = new Table({ head: ["session", "last hop", "delivered", "duplicate", "too old", "out of window", "green", "yellow", "red"], style: { head: [], border: [] } });
          for (const s of sessions) st.push([s.session, s.lastHop, String(s.delivered), String(s.duplicate), String(s.tooOld), String(s.outOfWindow), String(s.green), String(s.yellow), String(s.red)]);
          if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
          process.stdout.write(`${new Date().toISOString()}${liveUrl ? ` (from the controller at ${liveUrl})` : ""}\n${lt.toString()}\n${st.toString()}\n`);
        }
        if (n + 1 < limit && !stop) await new Promise((r) => setTimeout(r, Number(o.interval)));
      }
      for (const c of clients.values()) c.close();
    });
}
