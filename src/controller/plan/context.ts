/**
 * What every planning step shares: the topology and its graph, the intent
 * being built for each switch, the warnings and problems found so far, and
 * the helpers that record where in the topology file each entry and group
 * came from (so that a plan error names it).
 */
import { formatMac } from "../../p4runtime/codec/values.js";
import { replicaSetText, type ReplicaValue } from "../../client/entities/pre.js";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { detourPath, type DetourPath } from "../paths/multicast.js";
import type { Adjacency, NetworkGraph } from "../topology/graph.js";
import type { HostSpec, SessionSpec, SwitchSpec, Topology } from "../topology/schema.js";
import { CLIENT_RID_BASE, CLIENT_RID_V6_BASE, type SwitchIntent, T, emptyIntent } from "./intent.js";
import type { PlanProblem } from "./plan-error.js";

export class PlanContext {
  readonly topo: Topology;
  readonly intents: Map<string, SwitchIntent>;
  readonly warnings: string[] = [];
  readonly problems: PlanProblem[] = [];
  readonly hostsByName: ReadonlyMap<string, HostSpec>;
  /** Host name → its index in the topology's hosts (a host's client replica id and mapped address derive from it). */
  readonly hostIndex: ReadonlyMap<string, number>;
  /** Virtual receivers (an IPv6 receiver reached through a translator, `name@translator`) → their index. */
  readonly virtualIndex = new Map<string, number>();
  private readonly switchIndex: ReadonlyMap<string, number>;
  private readonly sessionIndex: ReadonlyMap<number, number>;
  /** Detours by tree link (upper end and port): sessions whose trees share a link share its detour, computed once. */
  private readonly detours = new Map<string, DetourPath | undefined>();

  constructor(readonly graph: NetworkGraph) {
    this.topo = graph.topology;
    this.intents = new Map(this.topo.switches.map((s) => [s.name, emptyIntent(s.name)]));
    this.hostsByName = new Map(this.topo.hosts.map((h) => [h.name, h]));
    this.hostIndex = new Map(this.topo.hosts.map((h, i) => [h.name, i]));
    this.switchIndex = new Map(this.topo.switches.map((s, i) => [s.name, i]));
    this.sessionIndex = new Map(this.topo.sessions.map((s, i) => [s.id, i]));
  }

  /** The switch named `name` (the topology was validated: it exists). */
  sw(name: string): SwitchSpec {
    return this.graph.switches.get(name)!;
  }

  /** The intent being built for switch `name`. */
  intent(name: string): SwitchIntent {
    return this.intents.get(name)!;
  }

  /** Topology paths, for provenance: `switches[i]`, `hosts[i]`, `sessions[i]`. */
  switchPath(name: string): string {
    return `switches[${this.switchIndex.get(name)}]`;
  }

  hostPath(name: string): string {
    return `hosts[${this.hostIndex.get(name)}]`;
  }

  sessionPath(id: number): string {
    return `sessions[${this.sessionIndex.get(id)}]`;
  }

  /** A receiver's topology path: its place in the session's clients, else a receiver that joined at run time. */
  clientPath(s: SessionSpec, name: string): string {
    const host = name.split("@")[0]!;
    const j = s.clients.indexOf(host);
    return j >= 0 ? `${this.sessionPath(s.id)}.clients[${j}]` : `${this.sessionPath(s.id)} (${host}, joined at run time)`;
  }

  /** The detour of tree link `a` in this plan's graph (paths/multicast.ts detourPath), once per link and direction. */
  detour(a: Adjacency): DetourPath | undefined {
    const key = `${a.from}:${a.port}`;
    if (!this.detours.has(key)) this.detours.set(key, detourPath(this.graph, a));
    return this.detours.get(key);
  }

  /** The replica id that delivers to a client (real or virtual) in the session's address family. */
  clientRid(host: string, v6: boolean): number {
    return (v6 ? CLIENT_RID_V6_BASE : CLIENT_RID_BASE) + (this.hostIndex.get(host) ?? this.virtualIndex.get(host)!);
  }

  /** Sets a multicast group, or records a problem when another element wants different replicas for it. */
  setGroup(it: SwitchIntent, id: number, replicas: ReplicaValue[], from: string): void {
    const prev = it.groups.get(id);
    const prevFrom = it.origins?.groups.get(id) ?? "another element";
    if (prev && replicaSetText(prev) !== replicaSetText(replicas)) {
      this.problems.push({
        switch: it.switch,
        paths: [prevFrom, from],
        message: `multicast group ${id}: ${from} wants replicas ${replicaSetText(replicas)} but ${prevFrom} wants ${replicaSetText(prev)}`,
      });
      return;
    }
    it.groups.set(id, replicas);
    if (!prev) it.origins?.groups.set(id, from);
  }
}

/** Adds entries to an intent, recording the topology path that produced them. */
export function add(it: SwitchIntent, from: string, ...entries: TableEntryInput[]): void {
  for (const e of entries) it.origins?.entries.set(e, from);
  it.entries.push(...entries);
}

const shared = new WeakMap<SwitchIntent, Set<string>>();

/**
 * Adds entries that several elements of the topology want alike (e.g. the
 * overlay routes of sessions sharing an ingress router and a last hop): an
 * entry identical to one added this way before is left out (the first
 * element's path is kept). Entries that only share a key still all go in,
 * so the reconciler reports their conflict.
 */
export function addShared(it: SwitchIntent, from: string, ...entries: TableEntryInput[]): void {
  const keys = shared.get(it) ?? new Set<string>();
  shared.set(it, keys);
  for (const e of entries) {
    const key = JSON.stringify([e.table, e.match, e.priority, e.action], (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
    if (keys.has(key)) continue;
    keys.add(key);
    add(it, from, e);
  }
}

/** Records the topology path that produced an entry added to `it` later. */
export function origin(it: SwitchIntent, from: string, e: TableEntryInput): TableEntryInput {
  it.origins?.entries.set(e, from);
  return e;
}

/** A route of `prefix` to the nexthop `nexthopId` (the port towards it). */
export function route(table: string, prefix: string, nexthopId: number): TableEntryInput {
  return { table, match: { dst_addr: prefix }, action: { name: "route_to_nexthop", params: { nexthop_id: nexthopId } } };
}

/** The neighbour behind `port`: rewrite the MACs and send. */
export function nexthop(port: number, src: bigint, dst: bigint): TableEntryInput {
  return {
    table: T.nexthop,
    match: { nexthop_id: port },
    action: { name: "forward_to_neighbor", params: { port, src_mac: formatMac(src), dst_mac: formatMac(dst) } },
  };
}
