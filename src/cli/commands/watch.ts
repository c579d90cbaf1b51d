/**
 * `p4cast watch`: a live view of a running deployment: per link, heartbeat
 * responses counted in the data plane since the last refresh; per session,
 * the last hops' delivered / duplicate / too-old counters and the ingress
 * router's burst colours. Reads only (connects as a backup).
 */
import type { Command } from "commander";
import Table from "cli-table3";
import { P4RuntimeClient } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import { planNetwork } from "../../controller/plan/network-plan.js";
import { HB_COUNTER } from "../../controller/runtime/heartbeat.js";
import { NetworkGraph } from "../../controller/topology/graph.js";
import { addTopologyOptions, electionId, readTopology, type TopologyOptions } from "../controller-options.js";
import { CliError, EXIT, toJson } from "../output.js";
import { notRunningError, unreachableSwitches } from "../network.js";

const COUNTERS = {
  delivered: "ingress.dedup.dedup_delivered_counter",
  duplicate: "ingress.dedup.dedup_duplicate_counter",
  tooOld: "ingress.dedup.dedup_too_old_counter",
  outOfWindow: "ingress.dedup.dedup_out_of_window_counter",
  green: "ingress.burst.burst_green_counter",
  yellow: "ingress.burst.burst_yellow_counter",
  red: "ingress.burst.burst_red_counter",
};

export function registerWatch(program: Command): void {
  addTopologyOptions(program.command("watch").description("live heartbeats and session counters of a running deployment"), "1")
    .option("--interval <ms>", "refresh period", "1000")
    .option("--count <n>", "stop after n refreshes (default: until Ctrl-C); --once is --count 1")
    .option("--once", "one refresh, then exit")
    .action(async (o: TopologyOptions & { interval: string; count?: string; once?: boolean }) => {
      if (o.once) o.count = "1";
      const topology = readTopology(o);
      const graph = new NetworkGraph(topology);
      const plan = planNetwork({ graph });
      if (o.count !== undefined && !/^[1-9]\d*$/.test(o.count)) throw new CliError(`--count must be a positive integer (got "${o.count}")`, EXIT.usage);
      if (!/^[1-9]\d*$/.test(o.interval)) throw new CliError(`--interval must be a positive number of milliseconds (got "${o.interval}")`, EXIT.usage);
      const down = await unreachableSwitches(topology);
      if (down.length) throw notRunningError(o.topology, down, topology.switches.length);
      const clients = new Map<string, P4RuntimeClient>();
      await Promise.all(
        topology.switches.map(async (s) => {
          clients.set(s.name, await P4RuntimeClient.connect({ address: s.grpc, deviceId: BigInt(s.deviceId), electionId: electionId(o), reconnect: { initialMs: 200, maxMs: 2000 } }));
        }),
      );
      const read = async (sw: string, counter: string) => {
        const c = clients.get(sw)!;
        if (!c.hasP4Info) await c.fetchP4Info();
        if (!c.hasP4Info) return new Map<number, bigint>();
        const cells = (await c.readAll({ kind: "counterEntry", counter }).catch(() => [])) as DecodedOf<"counterEntry">[];
        return new Map(cells.map((x) => [Number(x.index), x.data.packets]));
      };
      let stop = false;
      process.once("SIGINT", () => (stop = true));
      let prevHb = new Map<string, Map<number, bigint>>();
      const limit = o.count ? Number(o.count) : Infinity;
      for (let n = 0; n < limit && !stop; n++) {
        const hb = new Map(await Promise.all(topology.switches.map(async (s) => [s.name, await read(s.name, HB_COUNTER)] as const)));
        const links = [...plan.peers].flatMap(([sw, peers]) =>
          peers.map((p) => ({ link: graph.linkName(p.link), from: sw, total: hb.get(sw)?.get(p.index) ?? 0n, responses: Number((hb.get(sw)?.get(p.index) ?? 0n) - (prevHb.get(sw)?.get(p.index) ?? hb.get(sw)?.get(p.index) ?? 0n)) })),
        );
        prevHb = hb;
        const sessions = [];
        for (const sp of plan.sessions.values()) {
          const id = sp.session.id;
          const colours = { green: (await read(sp.ingress, COUNTERS.green)).get(id) ?? 0n, yellow: (await read(sp.ingress, COUNTERS.yellow)).get(id) ?? 0n, red: (await read(sp.ingress, COUNTERS.red)).get(id) ?? 0n };
          for (const lh of sp.lastHops.keys()) {
            if (lh === sp.ingress) continue;
            sessions.push({
              session: id,
              lastHop: lh,
              delivered: (await read(lh, COUNTERS.delivered)).get(id) ?? 0n,
              duplicate: (await read(lh, COUNTERS.duplicate)).get(id) ?? 0n,
              tooOld: (await read(lh, COUNTERS.tooOld)).get(id) ?? 0n,
              outOfWindow: (await read(lh, COUNTERS.outOfWindow)).get(id) ?? 0n,
              ...colours,
            });
          }
        }
        if (o.output === "json") {
          process.stdout.write(toJson({ time: new Date().toISOString(), links, sessions }) + "\n");
        } else {
          const lt = new Table({ head: ["link", "seen from", "heartbeat responses (total)", `in the last ${o.interval} ms`], style: { head: [], border: [] } });
          for (const l of links) lt.push([l.link, l.from, String(l.total), n === 0 ? "-" : l.responses]);
          const st = new Table({ head: ["session", "last hop", "delivered", "duplicate", "too old", "out of window", "green", "yellow", "red"], style: { head: [], border: [] } });
          for (const s of sessions) st.push([s.session, s.lastHop, String(s.delivered), String(s.duplicate), String(s.tooOld), String(s.outOfWindow), String(s.green), String(s.yellow), String(s.red)]);
          if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
          process.stdout.write(`${new Date().toISOString()}\n${lt.toString()}\n${st.toString()}\n`);
        }
        if (n + 1 < limit && !stop) await new Promise((r) => setTimeout(r, Number(o.interval)));
      }
      for (const c of clients.values()) c.close();
    });
}
