/**
 * The data plane's own counters of a running deployment, read (never
 * written) through the controller's P4Runtime clients: per session and last
 * hop the dedup verdicts (accepted, duplicate, too old, out of window), per
 * session and client the copies its last hop sent it (the direct counter of
 * lasthop_client_session_exact), per session the ingress router's
 * burst-meter colours, and per switch the heartbeat responses counted per
 * peer and, for fast-path heartbeats, the round trip the data plane measured
 * (hb_rtt, a register: read only when a register reader is given). `p4cast
 * watch` reads the same counters from the switches when no controller is
 * running. Nothing here runs in the heartbeat loop: reads happen for the
 * live view (/metrics, /api/state, the page) and `p4cast watch` only.
 */
import type { P4RuntimeClient } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import type { RegisterAccess } from "../../client/registers.js";
import type { NetworkPlan } from "../plan/network-plan.js";
import { T } from "../plan/intent.js";
import { HB_COUNTER, HB_RTT_REGISTER } from "../runtime/heartbeat.js";

export const COUNTERS = {
  delivered: "ingress.dedup.dedup_delivered_counter",
  duplicate: "ingress.dedup.dedup_duplicate_counter",
  tooOld: "ingress.dedup.dedup_too_old_counter",
  outOfWindow: "ingress.dedup.dedup_out_of_window_counter",
  green: "ingress.burst.burst_green_counter",
  yellow: "ingress.burst.burst_yellow_counter",
  red: "ingress.burst.burst_red_counter",
} as const;

/** One last hop of one session: what its dedup window did with the copies it got (cells indexed by session id). */
export interface DedupCounters {
  readonly session: number;
  readonly lastHop: string;
  /** The session's clients behind this last hop (they share its counters). */
  readonly clients: readonly string[];
  /** Copies the window accepted (first copy of a sequence), before replication to the clients. */
  readonly delivered: bigint;
  readonly duplicate: bigint;
  /** Copies dropped as too old (late). */
  readonly tooOld: bigint;
  /** Copies dropped as out of window (a gap larger than the window). */
  readonly outOfWindow: bigint;
}

/**
 * One client of one session. `delivered` is the client's own: the copies its
 * last hop sent it. Dedup happens once per last hop, before replication, so
 * duplicate / too old / out of window are the last hop's and every client
 * behind it has the same.
 */
export interface ClientCounters {
  readonly session: number;
  readonly client: string;
  readonly lastHop: string;
  readonly delivered: bigint;
  readonly duplicate: bigint;
  readonly tooOld: bigint;
  readonly outOfWindow: bigint;
}

/** A session's packets at its ingress router by burst-meter colour. */
export interface ColourCounters {
  readonly session: number;
  readonly ingress: string;
  readonly green: bigint;
  readonly yellow: bigint;
  readonly red: bigint;
}

/** Heartbeat responses a switch's data plane consumed from one peer (total since the switch started). */
export interface HeartbeatCounter {
  readonly switch: string;
  readonly link: number;
  readonly peer: string;
  readonly responses: bigint;
  /**
   * Round trip of the last response, measured by the switch's data plane in
   * its own clock (hb_rtt; fast-path heartbeats, which carry STAMP). Absent
   * when not read (no register reader), before any response, or when
   * implausible (a clock that restarted: 60 s or more).
   */
  readonly rttMs?: number;
}

export interface CounterSnapshot {
  /** Wall-clock time of the read (ms since the epoch). */
  readonly at: number;
  readonly dedup: readonly DedupCounters[];
  readonly clients: readonly ClientCounters[];
  readonly colours: readonly ColourCounters[];
  readonly heartbeats: readonly HeartbeatCounter[];
  /** Switches that could not be read (unreachable, no pipeline). */
  readonly unread: readonly string[];
}

export interface ReadCountersOptions {
  /**
   * Register access to a switch, for the round trips in hb_rtt (fast-path
   * heartbeats only: slow-path responses go to the controller, which times
   * them itself). Without it no round trip is read.
   */
  readonly registers?: (sw: string) => Promise<RegisterAccess | undefined>;
  /** Nanoseconds per unit of hb_rtt (the target's; default 1000, BMv2's microseconds). */
  readonly rttUnitNs?: number;
}

/** A round trip the data plane measured is believed below this (a larger one is a stale stamp from a restarted clock). */
const RTT_PLAUSIBLE_MS = 60_000;

/** Every cell of `counter` on a switch as index → packets; empty when it cannot be read. */
async function cells(client: P4RuntimeClient, counter: string): Promise<Map<number, bigint>> {
  const read = (await client.readAll({ kind: "counterEntry", counter })) as DecodedOf<"counterEntry">[];
  return new Map(read.map((x) => [Number(x.index), x.data.packets]));
}

/** The per-client delivered counters of a last hop: "session/rid" → packets (every entry of lasthop_client_session_exact). */
async function clientCells(client: P4RuntimeClient): Promise<Map<string, bigint>> {
  const read = (await client.readAll({
    kind: "directCounterEntry",
    entry: { table: T.clientSession },
  })) as DecodedOf<"directCounterEntry">[];
  const value = (e: DecodedOf<"directCounterEntry">, field: string) => {
    const m = e.entry.match[field];
    return m?.kind === "exact" ? m.value : -1n;
  };
  return new Map(read.map((e) => [`${value(e, "session_id")}/${value(e, "egress_rid")}`, e.data.packets]));
}

interface SwitchReading {
  readonly counters: Map<string, Map<number, bigint>>;
  readonly clients?: Map<string, bigint>;
  readonly rtt?: readonly bigint[];
}

/**
 * Reads the counters of every session of `plan` (its last hops and ingress
 * routers, each client's delivered counter at its last hop) and the
 * heartbeat counters of every switch with peers; with `o.registers`, their
 * round trips too.
 */
export async function readCounters(
  plan: NetworkPlan,
  clients: ReadonlyMap<string, P4RuntimeClient>,
  o: ReadCountersOptions = {},
): Promise<CounterSnapshot> {
  const wanted = new Map<string, Set<string>>();
  const want = (sw: string, counter: string) => wanted.set(sw, (wanted.get(sw) ?? new Set()).add(counter));
  const lastHops = new Set<string>();
  for (const sp of plan.sessions.values()) {
    for (const c of [COUNTERS.green, COUNTERS.yellow, COUNTERS.red]) want(sp.ingress, c);
    for (const lh of sp.lastHops.keys()) {
      if (lh === sp.ingress) continue;
      for (const c of [COUNTERS.delivered, COUNTERS.duplicate, COUNTERS.tooOld, COUNTERS.outOfWindow]) want(lh, c);
      lastHops.add(lh);
    }
  }
  const watchers = new Set<string>();
  for (const [sw, peers] of plan.peers) {
    if (peers.length === 0) continue;
    want(sw, HB_COUNTER);
    watchers.add(sw);
  }
  const got = new Map<string, SwitchReading>();
  const unread: string[] = [];
  await Promise.all(
    [...wanted].map(async ([sw, counters]) => {
      const c = clients.get(sw);
      try {
        if (!c?.connected) throw new Error("not connected");
        if (!c.hasP4Info) await c.fetchP4Info();
        if (!c.hasP4Info) throw new Error("no pipeline");
        const per = new Map<string, Map<number, bigint>>();
        for (const name of counters) per.set(name, await cells(c, name));
        const clientCounts = lastHops.has(sw) ? await clientCells(c) : undefined;
        // The round trips are a register: where the reader says it cannot reach it, the counters still count.
        let rtt: bigint[] | undefined;
        if (o.registers && watchers.has(sw)) {
          try {
            rtt = await (await o.registers(sw))?.readAll(HB_RTT_REGISTER);
          } catch {
            rtt = undefined;
          }
        }
        got.set(sw, { counters: per, ...(clientCounts ? { clients: clientCounts } : {}), ...(rtt ? { rtt } : {}) });
      } catch {
        unread.push(sw);
      }
    }),
  );
  const cell = (sw: string, counter: string, index: number): bigint => got.get(sw)?.counters.get(counter)?.get(index) ?? 0n;
  const dedup: DedupCounters[] = [];
  const perClient: ClientCounters[] = [];
  const colours: ColourCounters[] = [];
  for (const sp of plan.sessions.values()) {
    const id = sp.session.id;
    if (got.has(sp.ingress))
      colours.push({
        session: id,
        ingress: sp.ingress,
        green: cell(sp.ingress, COUNTERS.green, id),
        yellow: cell(sp.ingress, COUNTERS.yellow, id),
        red: cell(sp.ingress, COUNTERS.red, id),
      });
    for (const [lh, hosts] of sp.lastHops) {
      if (lh === sp.ingress || !got.has(lh)) continue;
      const d: DedupCounters = {
        session: id,
        lastHop: lh,
        clients: hosts.map((h) => h.name),
        delivered: cell(lh, COUNTERS.delivered, id),
        duplicate: cell(lh, COUNTERS.duplicate, id),
        tooOld: cell(lh, COUNTERS.tooOld, id),
        outOfWindow: cell(lh, COUNTERS.outOfWindow, id),
      };
      dedup.push(d);
      const rids = sp.clientRids.get(lh);
      for (const h of hosts) {
        const rid = rids?.get(h.name);
        if (rid === undefined) continue; // not delivered here (no address of the session's family)
        const delivered = got.get(lh)?.clients?.get(`${id}/${rid}`) ?? 0n;
        perClient.push({
          session: id,
          client: h.name,
          lastHop: lh,
          delivered,
          duplicate: d.duplicate,
          tooOld: d.tooOld,
          outOfWindow: d.outOfWindow,
        });
      }
    }
  }
  const unit = o.rttUnitNs ?? 1000;
  const heartbeats: HeartbeatCounter[] = [];
  for (const [sw, peers] of plan.peers) {
    const r = got.get(sw);
    if (!r) continue;
    for (const p of peers) {
      const responses = cell(sw, HB_COUNTER, p.index);
      const raw = r.rtt?.[p.index];
      const rttMs = raw !== undefined && responses > 0n ? (Number(raw) * unit) / 1e6 : undefined;
      heartbeats.push({
        switch: sw,
        link: p.link,
        peer: p.peer,
        responses,
        ...(rttMs !== undefined && rttMs < RTT_PLAUSIBLE_MS ? { rttMs } : {}),
      });
    }
  }
  return { at: Date.now(), dedup, clients: perClient, colours, heartbeats, unread: unread.sort() };
}

/**
 * Reads the counters every `intervalMs` (and on demand); concurrent
 * requests share one read.
 */
export class CounterPoller {
  private last: CounterSnapshot | undefined;
  private inflight: Promise<CounterSnapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(s: CounterSnapshot) => void>();

  constructor(
    private readonly source: {
      plan(): NetworkPlan | undefined;
      clients: ReadonlyMap<string, P4RuntimeClient>;
      options?(): ReadCountersOptions;
    },
    private readonly intervalMs = 1000,
  ) {}

  get latest(): CounterSnapshot | undefined {
    return this.last;
  }

  onRead(fn: (s: CounterSnapshot) => void): void {
    this.listeners.add(fn);
  }

  start(): void {
    if (this.timer) return;
    const schedule = (ms: number) => {
      this.timer = setTimeout(() => void this.refresh().finally(() => this.timer && schedule(this.intervalMs)), ms);
      this.timer.unref?.();
    };
    schedule(0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A read that starts now (or the one under way); never throws. */
  refresh(): Promise<CounterSnapshot | undefined> {
    const plan = this.source.plan();
    if (!plan) return Promise.resolve(this.last);
    this.inflight ??= readCounters(plan, this.source.clients, this.source.options?.() ?? {})
      .then((s) => {
        this.last = s;
        for (const l of this.listeners) l(s);
        return s;
      })
      .finally(() => (this.inflight = undefined));
    return this.inflight.catch(() => this.last);
  }
}
