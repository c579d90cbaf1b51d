/**
 * What the controller believes the network is now, as one JSON document
 * (`/api/state`, and every update of the live page): the topology with its
 * drawing positions, each switch's health, each link's state and heartbeat
 * watches, each session's tree, overlay paths and receivers as planned and
 * written, the data plane's counters (last read) and the recent timeline.
 * Read-only: built from the controller's `state()`, plan and heartbeat
 * watches.
 */
import type { Controller } from "../controller.js";
import type { CounterSnapshot } from "./counters.js";
import { layout } from "./layout.js";
import type { TimelineEvent } from "./timeline.js";

export const LIVE_STATE_VERSION = 1;

export interface LiveSwitch {
  readonly name: string;
  readonly deviceId: number;
  readonly x: number;
  readonly y: number;
  readonly reachable: boolean;
  readonly primary: boolean;
  readonly primaryElectionId?: string;
  readonly inSync: boolean;
  readonly reprograms: number;
  readonly lastFault?: string;
}

export interface LiveHost {
  readonly name: string;
  readonly switch: string;
  readonly port: number;
  readonly x: number;
  readonly y: number;
}

export interface LiveWatch {
  /** The switch watching the link (one of its ends). */
  readonly switch: string;
  readonly misses: number;
  readonly down: boolean;
  readonly responses?: number;
  /**
   * Round trip of the last heartbeat response: timed by the controller from
   * the punted response (slow path), or by the watching switch's data plane
   * (fast path: hb_rtt, as last read with the counters).
   */
  readonly rttMs?: number;
}

/**
 * "up": heartbeats answered; "missing": at least two intervals in a row (or
 * the miss threshold, if lower) unanswered at an end, no verdict yet; "down";
 * "unwatched": no heartbeats run.
 */
export type LinkState = "up" | "missing" | "down" | "unwatched";

export interface LiveLink {
  readonly id: number;
  readonly name: string;
  readonly a: { readonly switch: string; readonly port: number };
  readonly b: { readonly switch: string; readonly port: number };
  readonly cost: number;
  readonly state: LinkState;
  /** Why it is down (heartbeat at an end, an end unreachable, set by hand). */
  readonly reasons: readonly string[];
  readonly watches: readonly LiveWatch[];
}

export interface LiveEdge {
  readonly from: string;
  readonly to: string;
  readonly link: number;
}

export interface LiveOverlay {
  readonly lastHop: string;
  /** Switches from the ingress router to the last hop. */
  readonly path: readonly string[];
  readonly links: readonly number[];
  /** Fed now (always-redundant, or overlay-on-failure after a failure); false: standby. */
  readonly active: boolean;
}

export interface LiveSession {
  readonly id: number;
  readonly redundancy: string;
  readonly source: string;
  readonly group: string;
  readonly ingress: string;
  readonly tree: readonly LiveEdge[];
  /** Last-hop router → its receivers (the file's clients plus joins, less leaves). */
  readonly lastHops: Readonly<Record<string, readonly string[]>>;
  readonly overlays: readonly LiveOverlay[];
  /** Tree members whose last hop the plan cannot reach. */
  readonly unreachable: readonly string[];
}

export interface LiveCounters {
  readonly at: number;
  /** Per session and last hop: its dedup window's verdicts (`delivered`: copies accepted, before replication). */
  readonly dedup: readonly {
    session: number;
    lastHop: string;
    clients: readonly string[];
    delivered: number;
    duplicate: number;
    tooOld: number;
    outOfWindow: number;
  }[];
  /**
   * Per session and client: `delivered`, the copies its last hop sent it
   * (the client's own counter); duplicate / tooOld / outOfWindow, its last
   * hop's (dedup runs once per last hop, before replication).
   */
  readonly clients: readonly {
    session: number;
    client: string;
    lastHop: string;
    delivered: number;
    duplicate: number;
    tooOld: number;
    outOfWindow: number;
  }[];
  readonly colours: readonly { session: number; ingress: string; green: number; yellow: number; red: number }[];
  /** rttMs: the data plane's round trip (fast-path heartbeats), when read. */
  readonly heartbeats: readonly { switch: string; link: number; peer: string; responses: number; rttMs?: number }[];
  readonly unread: readonly string[];
}

export interface LiveState {
  readonly version: number;
  readonly topology: string;
  readonly electionId: string;
  /** Wall-clock time of this document (ms since the epoch). */
  readonly at: number;
  /** False until the first deploy has planned the network. */
  readonly deployed: boolean;
  readonly heartbeats: { readonly running: boolean; readonly intervalMs: number; readonly missThreshold: number; readonly mode: string };
  readonly switches: readonly LiveSwitch[];
  readonly hosts: readonly LiveHost[];
  readonly links: readonly LiveLink[];
  readonly sessions: readonly LiveSession[];
  readonly counters?: LiveCounters;
  readonly timeline: readonly TimelineEvent[];
  readonly faults: readonly { at: number; task: string; switch?: string; message: string }[];
}

export function countersJson(c: CounterSnapshot): LiveCounters {
  return {
    at: c.at,
    dedup: c.dedup.map((d) => ({
      ...d,
      delivered: Number(d.delivered),
      duplicate: Number(d.duplicate),
      tooOld: Number(d.tooOld),
      outOfWindow: Number(d.outOfWindow),
    })),
    clients: c.clients.map((d) => ({
      ...d,
      delivered: Number(d.delivered),
      duplicate: Number(d.duplicate),
      tooOld: Number(d.tooOld),
      outOfWindow: Number(d.outOfWindow),
    })),
    colours: c.colours.map((x) => ({ ...x, green: Number(x.green), yellow: Number(x.yellow), red: Number(x.red) })),
    heartbeats: c.heartbeats.map((h) => ({ ...h, responses: Number(h.responses) })),
    unread: c.unread,
  };
}

export function liveState(
  ctl: Controller,
  extra: { counters?: CounterSnapshot | undefined; timeline?: readonly TimelineEvent[] } = {},
): LiveState {
  const t = ctl.topology;
  const st = ctl.state();
  const pos = layout(t);
  const plan = ctl.currentPlan;
  const hb = ctl.heartbeats;
  const watches = hb?.watches() ?? [];
  // Fast path: the round trips the switches' data planes measured (hb_rtt), as last read.
  const measured = new Map(
    (extra.counters?.heartbeats ?? []).flatMap((h) => (h.rttMs === undefined ? [] : [[`${h.switch}|${h.link}`, h.rttMs] as const])),
  );
  const down = new Map(st.downLinks.map((d) => [d.link, d.reasons]));
  const links: LiveLink[] = t.links.map((l, i) => {
    const [a, b] = l.ends;
    const ws = watches.filter((w) => w.link === i);
    const reasons = down.get(i) ?? [];
    // One late interval is common on a busy machine; two in a row are worth showing.
    const missing = Math.min(2, t.heartbeat.missThreshold);
    const state: LinkState = reasons.length > 0 ? "down" : !hb ? "unwatched" : ws.some((w) => w.misses >= missing) ? "missing" : "up";
    return {
      id: i,
      name: ctl.graph.linkName(i),
      a: { switch: a.switch, port: a.port },
      b: { switch: b.switch, port: b.port },
      cost: l.cost,
      state,
      reasons,
      watches: ws.map((w) => {
        const rttMs = w.rttMs ?? measured.get(`${w.switch}|${w.link}`);
        return {
          switch: w.switch,
          misses: w.misses,
          down: w.down,
          ...(w.responses !== undefined ? { responses: Number(w.responses) } : {}),
          ...(rttMs !== undefined ? { rttMs } : {}),
        };
      }),
    };
  });
  const sessions: LiveSession[] = plan
    ? [...plan.sessions.values()].map((sp) => ({
        id: sp.session.id,
        redundancy: sp.session.redundancy,
        source: sp.session.source,
        group: sp.session.group,
        ingress: sp.ingress,
        tree: [...sp.tree.children].flatMap(([from, adj]) => adj.map((a) => ({ from, to: a.to, link: a.link }))),
        lastHops: Object.fromEntries([...sp.lastHops].map(([lh, hosts]) => [lh, hosts.map((h) => h.name)])),
        overlays: [
          ...[...sp.overlays.values()].map((o) => ({ o, active: true })),
          ...[...sp.standby.values()].map((o) => ({ o, active: false })),
        ]
          .map(({ o, active }) => ({
            lastHop: o.lastHop,
            path: [sp.ingress, ...o.path.map((a) => a.to)],
            links: o.path.map((a) => a.link),
            active,
          }))
          .sort((x, y) => (x.lastHop < y.lastHop ? -1 : x.lastHop > y.lastHop ? 1 : 0)),
        unreachable: sp.tree.unreachable,
      }))
    : [];
  return {
    version: LIVE_STATE_VERSION,
    topology: t.name,
    electionId: st.electionId.toString(),
    at: Date.now(),
    deployed: plan !== undefined,
    heartbeats: {
      running: hb !== undefined,
      intervalMs: t.heartbeat.intervalMs,
      missThreshold: t.heartbeat.missThreshold,
      mode: t.heartbeat.mode,
    },
    switches: st.switches.map((h) => {
      const p = pos.switches.get(h.name)!;
      return {
        name: h.name,
        deviceId: ctl.graph.switches.get(h.name)!.deviceId,
        x: p.x,
        y: p.y,
        reachable: h.reachable,
        primary: h.primary,
        ...(h.primaryElectionId !== undefined ? { primaryElectionId: h.primaryElectionId.toString() } : {}),
        inSync: h.inSync,
        reprograms: h.reprograms,
        ...(h.lastFault ? { lastFault: `${h.lastFault.task}: ${h.lastFault.message}` } : {}),
      };
    }),
    hosts: t.hosts.map((h) => ({ name: h.name, switch: h.attach.switch, port: h.attach.port, ...pos.hosts.get(h.name)! })),
    links,
    sessions,
    ...(extra.counters ? { counters: countersJson(extra.counters) } : {}),
    timeline: extra.timeline ?? [],
    faults: st.faults.map((f) => ({ at: f.at, task: f.task, ...(f.switch ? { switch: f.switch } : {}), message: f.message })),
  };
}
