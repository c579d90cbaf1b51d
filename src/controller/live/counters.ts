/**
 * The data plane's own counters of a running deployment, read (never
 * written) through the controller's P4Runtime clients: per session and last
 * hop the dedup verdicts (delivered, duplicate, too old, out of window), per
 * session the ingress router's burst-meter colours, and per switch the
 * heartbeat responses counted per peer. `p4cast watch` reads the same
 * counters from the switches when no controller is running.
 */
import type { P4RuntimeClient } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import type { NetworkPlan } from "../plan/network-plan.js";
import { HB_COUNTER } from "../runtime/heartbeat.js";

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
  readonly delivered: bigint;
  readonly duplicate: bigint;
  /** Copies dropped as too old (late). */
  readonly tooOld: bigint;
  /** Copies dropped as out of window (a gap larger than the window). */
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
}

export interface CounterSnapshot {
  /** Wall-clock time of the read (ms since the epoch). */
  readonly at: number;
  readonly dedup: readonly DedupCounters[];
  readonly colours: readonly ColourCounters[];
  readonly heartbeats: readonly HeartbeatCounter[];
  /** Switches that could not be read (unreachable, no pipeline). */
  readonly unread: readonly string[];
}

/** Every cell of `counter` on a switch as index → packets; empty when it cannot be read. */
async function cells(client: P4RuntimeClient, counter: string): Promise<Map<number, bigint>> {
  const read = (await client.readAll({ kind: "counterEntry", counter })) as DecodedOf<"counterEntry">[];
  return new Map(read.map((x) => [Number(x.index), x.data.packets]));
}

/**
 * Reads the counters of every session of `plan` (its last hops and ingress
 * routers) and the heartbeat counters of every switch with peers.
 */
export async function readCounters(plan: NetworkPlan, clients: ReadonlyMap<string, P4RuntimeClient>): Promise<CounterSnapshot> {
  const wanted = new Map<string, Set<string>>();
  const want = (sw: string, counter: string) => wanted.set(sw, (wanted.get(sw) ?? new Set()).add(counter));
  for (const sp of plan.sessions.values()) {
    for (const c of [COUNTERS.green, COUNTERS.yellow, COUNTERS.red]) want(sp.ingress, c);
    for (const lh of sp.lastHops.keys()) if (lh !== sp.ingress) for (const c of [COUNTERS.delivered, COUNTERS.duplicate, COUNTERS.tooOld, COUNTERS.outOfWindow]) want(lh, c);
  }
  for (const [sw, peers] of plan.peers) if (peers.length > 0) want(sw, HB_COUNTER);
  const got = new Map<string, Map<string, Map<number, bigint>>>();
  const unread: string[] = [];
  await Promise.all(
    [...wanted].map(async ([sw, counters]) => {
      const c = clients.get(sw);
      try {
        if (!c || !c.connected) throw new Error("not connected");
        if (!c.hasP4Info) await c.fetchP4Info();
        if (!c.hasP4Info) throw new Error("no pipeline");
        const per = new Map<string, Map<number, bigint>>();
        for (const name of counters) per.set(name, await cells(c, name));
        got.set(sw, per);
      } catch {
        unread.push(sw);
      }
    }),
  );
  const cell = (sw: string, counter: string, index: number): bigint => got.get(sw)?.get(counter)?.get(index) ?? 0n;
  const dedup: DedupCounters[] = [];
  const colours: ColourCounters[] = [];
  for (const sp of plan.sessions.values()) {
    const id = sp.session.id;
    if (got.has(sp.ingress)) colours.push({ session: id, ingress: sp.ingress, green: cell(sp.ingress, COUNTERS.green, id), yellow: cell(sp.ingress, COUNTERS.yellow, id), red: cell(sp.ingress, COUNTERS.red, id) });
    for (const [lh, hosts] of sp.lastHops) {
      if (lh === sp.ingress || !got.has(lh)) continue;
      dedup.push({
        session: id,
        lastHop: lh,
        clients: hosts.map((h) => h.name),
        delivered: cell(lh, COUNTERS.delivered, id),
        duplicate: cell(lh, COUNTERS.duplicate, id),
        tooOld: cell(lh, COUNTERS.tooOld, id),
        outOfWindow: cell(lh, COUNTERS.outOfWindow, id),
      });
    }
  }
  const heartbeats: HeartbeatCounter[] = [];
  for (const [sw, peers] of plan.peers) {
    if (!got.has(sw)) continue;
    for (const p of peers) heartbeats.push({ switch: sw, link: p.link, peer: p.peer, responses: cell(sw, HB_COUNTER, p.index) });
  }
  return { at: Date.now(), dedup, colours, heartbeats, unread: unread.sort() };
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
    private readonly source: { plan(): NetworkPlan | undefined; clients: ReadonlyMap<string, P4RuntimeClient> },
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
    this.inflight ??= readCounters(plan, this.source.clients)
      .then((s) => {
        this.last = s;
        for (const l of this.listeners) l(s);
        return s;
      })
      .finally(() => (this.inflight = undefined));
    return this.inflight.catch(() => this.last);
  }
}
