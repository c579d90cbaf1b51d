/**
 * `p4cast watch`: a live view of a running deployment: per link, heartbeat
 * responses counted in the data plane since the last refresh and the round
 * trip of the last one; per session, the last hops' accepted / duplicate /
 * too-old counters and the ingress router's burst colours; per session and
 * client, the copies its last hop sent it (with its last hop's verdicts).
 * Asks a running controller's live view for them when there is one
 * (`--controller`, or the one published for the topology file); else reads
 * the switches (connects as a backup; fast-path round trips from each
 * switch's hb_rtt register). Reads only.
 */
import type { Command } from "commander";
import Table from "cli-table3";
import { P4RuntimeClient } from "../../client/client.js";
import { registerAccess, type RegisterAccess } from "../../client/registers.js";
import { planNetwork } from "../../controller/plan/network-plan.js";
import { readCounters, type CounterSnapshot } from "../../controller/live/counters.js";
import type { LiveState } from "../../controller/live/state.js";
import { NetworkGraph } from "../../controller/topology/graph.js";
import { addTopologyOptions, electionId, readTopology, type TopologyOptions } from "../controller-options.js";
import { CliError, EXIT, toJson } from "../output.js";
import { notRunningError, unreachableSwitches } from "../network.js";
import { controllerUrl, fetchLiveState } from "../live.js";

type Count = number | bigint;

/** One refresh's counters, from the switches or from a controller (numbers as the data plane counts them). */
interface Reading {
  readonly heartbeats: readonly { link: string; from: string; total: bigint; rttMs?: number }[];
  readonly sessions: readonly {
    session: number;
    lastHop: string;
    delivered: bigint;
    duplicate: bigint;
    tooOld: bigint;
    outOfWindow: bigint;
    green: bigint;
    yellow: bigint;
    red: bigint;
  }[];
  readonly clients: readonly {
    session: number;
    client: string;
    lastHop: string;
    delivered: bigint;
    duplicate: bigint;
    tooOld: bigint;
    outOfWindow: bigint;
  }[];
}

interface Counts {
  readonly dedup: readonly { session: number; lastHop: string; delivered: Count; duplicate: Count; tooOld: Count; outOfWindow: Count }[];
  readonly clients?: readonly {
    session: number;
    client: string;
    lastHop: string;
    delivered: Count;
    duplicate: Count;
    tooOld: Count;
    outOfWindow: Count;
  }[];
  readonly colours: readonly { session: number; green: Count; yellow: Count; red: Count }[];
  readonly heartbeats: readonly { switch: string; link: number; responses: Count; rttMs?: number }[];
}

/** `rtt`: a round trip per "switch|link" known elsewhere (a controller's watches: slow-path round trips too). */
function reading(c: CounterSnapshot | Counts, linkName: (i: number) => string, rtt: ReadonlyMap<string, number> = new Map()): Reading {
  const n = (x: Count) => BigInt(x);
  return {
    heartbeats: c.heartbeats.map((h) => {
      const rttMs = h.rttMs ?? rtt.get(`${h.switch}|${h.link}`);
      return { link: linkName(h.link), from: h.switch, total: n(h.responses), ...(rttMs !== undefined ? { rttMs } : {}) };
    }),
    sessions: c.dedup.map((d) => {
      const col = c.colours.find((x) => x.session === d.session);
      return {
        session: d.session,
        lastHop: d.lastHop,
        delivered: n(d.delivered),
        duplicate: n(d.duplicate),
        tooOld: n(d.tooOld),
        outOfWindow: n(d.outOfWindow),
        green: n(col?.green ?? 0),
        yellow: n(col?.yellow ?? 0),
        red: n(col?.red ?? 0),
      };
    }),
    clients: (c.clients ?? []).map((d) => ({
      session: d.session,
      client: d.client,
      lastHop: d.lastHop,
      delivered: n(d.delivered),
      duplicate: n(d.duplicate),
      tooOld: n(d.tooOld),
      outOfWindow: n(d.outOfWindow),
    })),
  };
}

/** A controller's view as a reading: its counters, and the round trips of its link watches (both heartbeat modes). */
function controllerReading(st: LiveState, linkName: (i: number) => string): Reading {
  const rtt = new Map(
    st.links.flatMap((l) => l.watches.flatMap((w) => (w.rttMs === undefined ? [] : [[`${w.switch}|${l.id}`, w.rttMs] as const]))),
  );
  return reading(st.counters ?? { dedup: [], colours: [], heartbeats: [] }, linkName, rtt);
}

const ms = (x: number | undefined) => (x === undefined ? "-" : x < 10 ? x.toFixed(3) : x.toFixed(1));

export function registerWatch(program: Command): void {
  addTopologyOptions(program.command("watch").description("live heartbeats and session counters of a running deployment"), "1")
    .option("--interval <ms>", "refresh period", "1000")
    .option("--count <n>", "stop after n refreshes (default: until Ctrl-C); --once is --count 1")
    .option("--once", "one refresh, then exit")
    .option(
      "--controller <url>",
      "a running controller's live view (deploy --run --http) to ask for the counters " +
        "(default: the one published for this topology file; else the switches are read)",
    )
    .action(async (o: TopologyOptions & { interval: string; count?: string; once?: boolean; controller?: string }) => {
      if (o.once) o.count = "1";
      const topology = readTopology(o);
      const graph = new NetworkGraph(topology);
      const plan = planNetwork({ graph });
      if (o.count !== undefined && !/^[1-9]\d*$/.test(o.count))
        throw new CliError(`--count must be a positive integer (got "${o.count}")`, EXIT.usage);
      if (!/^[1-9]\d*$/.test(o.interval))
        throw new CliError(`--interval must be a positive number of milliseconds (got "${o.interval}")`, EXIT.usage);
      let liveUrl = controllerUrl(o.topology, o.controller);
      if (liveUrl) {
        try {
          await fetchLiveState(liveUrl);
        } catch (e) {
          process.stderr.write(
            `note: the controller at ${liveUrl} does not answer (${e instanceof Error ? e.message : String(e)}); reading the switches\n`,
          );
          liveUrl = undefined;
        }
      }
      const clients = new Map<string, P4RuntimeClient>();
      const registers = new Map<string, Promise<RegisterAccess>>();
      if (!liveUrl) {
        const down = await unreachableSwitches(topology);
        if (down.length) throw notRunningError(o.topology, down, topology.switches.length);
        await Promise.all(
          topology.switches.map(async (s) => {
            clients.set(
              s.name,
              await P4RuntimeClient.connect({
                address: s.grpc,
                deviceId: BigInt(s.deviceId),
                electionId: electionId(o),
                reconnect: { initialMs: 200, maxMs: 2000 },
              }),
            );
          }),
        );
      }
      // Fast-path heartbeats: each switch's hb_rtt (P4Runtime, else the switch's Thrift service: simple_switch_grpc).
      const registersOf = (sw: string): Promise<RegisterAccess | undefined> => {
        const c = clients.get(sw);
        const spec = topology.switches.find((x) => x.name === sw);
        if (!c?.hasP4Info || !spec) return Promise.resolve(undefined);
        let r = registers.get(sw);
        if (!r) {
          const [host, port] = (spec.thrift ?? "").split(":");
          r = registerAccess(c, spec.thrift ? { host: host!, port: Number(port) } : {});
          r.catch(() => registers.delete(sw));
          registers.set(sw, r);
        }
        return r;
      };
      // Requests stamped by the switches (every mode but slow): their round trips are the switches' hb_rtt.
      const options = topology.heartbeat.mode !== "slow" ? { registers: registersOf } : {};
      const linkName = (i: number) => graph.linkName(i);
      const read = async (): Promise<Reading> =>
        liveUrl
          ? controllerReading(await fetchLiveState(liveUrl, true), linkName)
          : reading(await readCounters(plan, clients, options), linkName);
      let stop = false;
      process.once("SIGINT", () => (stop = true));
      let prev = new Map<string, bigint>();
      const limit = o.count ? Number(o.count) : Infinity;
      for (let n = 0; n < limit && !stop; n++) {
        const r = await read();
        const links = r.heartbeats.map((h) => ({
          link: h.link,
          from: h.from,
          total: h.total,
          responses: Number(h.total - (prev.get(`${h.from}|${h.link}`) ?? h.total)),
          ...(h.rttMs !== undefined ? { rttMs: h.rttMs } : {}),
        }));
        prev = new Map(r.heartbeats.map((h) => [`${h.from}|${h.link}`, h.total]));
        const sessions = r.sessions;
        const clientRows = r.clients;
        if (o.output === "json") {
          process.stdout.write(`${toJson({ time: new Date().toISOString(), links, sessions, clients: clientRows })}\n`);
        } else {
          const lt = new Table({
            head: ["link", "seen from", "heartbeat responses (total)", `in the last ${o.interval} ms`, "round trip (ms)"],
            style: { head: [], border: [] },
          });
          for (const l of links) lt.push([l.link, l.from, String(l.total), n === 0 ? "-" : l.responses, ms(l.rttMs)]);
          const st = new Table({
            head: ["session", "last hop", "accepted", "duplicate", "too old", "out of window", "green", "yellow", "red"],
            style: { head: [], border: [] },
          });
          for (const s of sessions)
            st.push([
              s.session,
              s.lastHop,
              String(s.delivered),
              String(s.duplicate),
              String(s.tooOld),
              String(s.outOfWindow),
              String(s.green),
              String(s.yellow),
              String(s.red),
            ]);
          const ct = new Table({
            head: ["session", "client", "last hop", "delivered", "duplicate (last hop)", "too old (last hop)", "out of window (last hop)"],
            style: { head: [], border: [] },
          });
          for (const c of clientRows)
            ct.push([c.session, c.client, c.lastHop, String(c.delivered), String(c.duplicate), String(c.tooOld), String(c.outOfWindow)]);
          if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
          process.stdout.write(
            `${new Date().toISOString()}${liveUrl ? ` (from the controller at ${liveUrl})` : ""}\n` +
              `${lt.toString()}\n${st.toString()}\n${ct.toString()}\n`,
          );
        }
        if (n + 1 < limit && !stop) await new Promise((r) => setTimeout(r, Number(o.interval)));
      }
      for (const r of registers.values())
        void r.then(
          (x) => x.close(),
          () => undefined,
        );
      for (const c of clients.values()) c.close();
    });
}
