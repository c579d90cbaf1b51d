/**
 * What a running network has installed, for `p4cast status`: per session
 * the tree its switches replicate along now (after a failover this is not
 * the tree the topology file gives), the last hops fed by an overlay copy,
 * and per link whether heartbeats are answered.
 *
 * A StateSource returns that state. The one here reads the switches (as a
 * backup client): session entries and PRE groups give the tree, heartbeat
 * counters read twice give link liveness. Another source (a running
 * controller's state endpoint, say) plugs in by implementing StateSource.
 */
import type { P4RuntimeClient } from "../client/client.js";
import type { DecodedOf } from "../client/entities/entity.js";
import type { DecodedTableEntry } from "../client/entities/table-entry.js";
import { CLIENT_RID_BASE, OVERLAY_RID_BASE, T } from "../controller/plan/intent.js";
import { HB_COUNTER } from "../controller/runtime/heartbeat.js";
import type { NetworkPlan } from "../controller/plan/network-plan.js";
import type { NetworkGraph } from "../controller/topology/graph.js";
import type { Topology } from "../controller/topology/schema.js";

export interface InstalledSession {
  readonly session: number;
  /** The switch holding the session's classification entry; undefined when none does. */
  readonly ingress: string | undefined;
  /** Tree edges "from→to", in breadth-first order from the ingress router. */
  readonly tree: readonly string[];
  /** Switches on the tree that deliver to clients. */
  readonly lastHops: readonly string[];
  /** Last hops the ingress router sends an overlay copy to now. */
  readonly overlays: readonly string[];
}

export interface InstalledLink {
  readonly link: string;
  readonly state: "up" | "down" | "unknown";
  readonly detail: string;
}

export interface InstalledState {
  /** Where the state came from, e.g. "switches (P4Runtime reads)". */
  readonly source: string;
  readonly sessions: readonly InstalledSession[];
  /** Empty when links were not checked. */
  readonly links: readonly InstalledLink[];
}

export interface StateSource {
  readonly name: string;
  read(): Promise<InstalledState>;
}

export interface SwitchSourceOptions {
  readonly topology: Topology;
  readonly graph: NetworkGraph;
  /** The file's plan: its heartbeat peers name the counter cell of every link. */
  readonly plan: NetworkPlan;
  /** Connected clients of the reachable switches, by switch name. */
  readonly clients: ReadonlyMap<string, P4RuntimeClient>;
  /** Check link liveness (two counter reads, two heartbeat intervals apart). */
  readonly links: boolean;
}

/** Reads the installed state from the switches themselves. */
export function switchStateSource(o: SwitchSourceOptions): StateSource {
  return { name: "switches", read: () => readFromSwitches(o) };
}

const actionParam = (e: DecodedTableEntry, name: string): bigint | undefined =>
  e.action?.kind === "action" ? e.action.params[name] : undefined;
const exact = (e: DecodedTableEntry, field: string): bigint | undefined => {
  const m = e.match[field];
  return m && m.kind === "exact" ? m.value : undefined;
};

async function readFromSwitches(o: SwitchSourceOptions): Promise<InstalledState> {
  const { topology, graph, clients } = o;
  // Per switch: session entries, tree entries (group address → PRE group), PRE groups.
  const perSwitch = new Map<
    string,
    { sessions: DecodedTableEntry[]; trees: DecodedTableEntry[]; groups: Map<number, { port: number; instance: number }[]> }
  >();
  await Promise.all(
    [...clients].map(async ([name, c]) => {
      if (!c.hasP4Info) return;
      const read = async (table: string) => (await c.readAll({ kind: "tableEntry", table })) as DecodedTableEntry[];
      const [v4, v6, trees, groups] = await Promise.all([
        read(T.sessionV4),
        read(T.sessionV6),
        read(T.mcastV4),
        c.readAll({ kind: "multicastGroup" }) as Promise<DecodedOf<"multicastGroup">[]>,
      ]);
      perSwitch.set(name, {
        sessions: [...v4, ...v6].filter((e) => !e.isDefault),
        trees: trees.filter((e) => !e.isDefault),
        groups: new Map(groups.map((g) => [g.groupId, g.replicas.map((r) => ({ port: r.port, instance: r.instance }))])),
      });
    }),
  );
  const peerOf = (sw: string, port: number): string | undefined => {
    for (const l of topology.links) {
      const [a, b] = l.ends;
      if (a.switch === sw && a.port === port) return b.switch;
      if (b.switch === sw && b.port === port) return a.switch;
    }
    return undefined;
  };
  const byDevice = new Map(topology.switches.map((s) => [s.deviceId & 0xfff, s.name]));
  const sessions: InstalledSession[] = topology.sessions.map((spec) => {
    let ingress: string | undefined;
    let groupAddr: bigint | undefined;
    let ingressGroup: number | undefined;
    for (const [sw, st] of perSwitch) {
      const e = st.sessions.find((x) => actionParam(x, "session_id") === BigInt(spec.id));
      if (e) {
        ingress = sw;
        groupAddr = actionParam(e, "group_addr");
        ingressGroup = Number(actionParam(e, "mcast_grp"));
      }
    }
    if (ingress === undefined || groupAddr === undefined || ingressGroup === undefined)
      return { session: spec.id, ingress: undefined, tree: [], lastHops: [], overlays: [] };
    const groupAt = (sw: string): { port: number; instance: number }[] | undefined => {
      const st = perSwitch.get(sw);
      if (!st) return undefined;
      if (sw === ingress) return st.groups.get(ingressGroup);
      const e = st.trees.find((x) => exact(x, "group_addr") === groupAddr);
      const g = e ? actionParam(e, "mcast_grp") : undefined;
      return g === undefined ? undefined : st.groups.get(Number(g));
    };
    const tree: string[] = [];
    const lastHops: string[] = [];
    const overlays: string[] = [];
    const seen = new Set([ingress]);
    const queue = [ingress];
    while (queue.length) {
      const sw = queue.shift()!;
      const replicas = groupAt(sw) ?? [];
      if (sw !== ingress && replicas.some((r) => r.instance >= CLIENT_RID_BASE)) lastHops.push(sw);
      for (const r of replicas) {
        if (sw === ingress && r.instance >= OVERLAY_RID_BASE && r.instance < CLIENT_RID_BASE) {
          overlays.push(byDevice.get(r.instance - OVERLAY_RID_BASE) ?? `device ${r.instance - OVERLAY_RID_BASE}`);
          continue;
        }
        if (r.instance !== r.port) continue;
        const peer = peerOf(sw, r.port);
        if (!peer) continue;
        tree.push(`${sw}→${peer}`);
        if (!seen.has(peer)) {
          seen.add(peer);
          queue.push(peer);
        }
      }
    }
    return { session: spec.id, ingress, tree, lastHops: lastHops.sort(), overlays: overlays.sort() };
  });

  const links: InstalledLink[] = [];
  if (o.links) {
    const read = async () =>
      new Map(
        await Promise.all(
          [...clients].map(
            async ([n, c]) =>
              [
                n,
                c.hasP4Info ? ((await c.readAll({ kind: "counterEntry", counter: HB_COUNTER })) as DecodedOf<"counterEntry">[]) : [],
              ] as const,
          ),
        ),
      );
    const waitMs = 2 * topology.heartbeat.intervalMs + 50;
    const before = await read();
    await new Promise((r) => setTimeout(r, waitMs));
    const after = await read();
    const answered = (i: number): boolean | undefined => {
      let known = false;
      for (const [sw, peers] of o.plan.peers) {
        for (const p of peers) {
          if (p.link !== i || !after.has(sw)) continue;
          known = true;
          const cell = (m: typeof after) => m.get(sw)?.find((x) => Number(x.index) === p.index)?.data.packets ?? 0n;
          if (cell(after) > cell(before)) return true;
        }
      }
      return known ? false : undefined;
    };
    const states = topology.links.map((_l, i) => answered(i));
    const anyAnswered = states.some((s) => s === true);
    states.forEach((s, i) => {
      const link = graph.linkName(i);
      if (s === true) links.push({ link, state: "up", detail: "up (heartbeats answered)" });
      else if (s === undefined) links.push({ link, state: "unknown", detail: "unknown (its switches cannot be read)" });
      else if (anyAnswered)
        links.push({ link, state: "down", detail: `down (no heartbeat answered in ${waitMs} ms while other links answer)` });
      else
        links.push({
          link,
          state: "unknown",
          detail: "no heartbeats on any link: is a controller with heartbeats running (deploy --run)?",
        });
    });
  }
  return { source: "switches (P4Runtime reads of session entries, PRE groups and heartbeat counters)", sessions, links };
}
