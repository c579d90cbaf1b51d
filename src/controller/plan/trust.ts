/**
 * Neighbour trust (p4/controls/trust.p4): the data plane accepts a p4cast
 * or heartbeat packet only from where the plan says such packets come
 * from. One entry per legitimate (neighbour, port):
 *
 * - tree copies of session s at a tree member m: (s, the port towards m's
 *   tree parent), on every member but the ingress router;
 * - overlay copies of s: (s, the ingress router's loopback, the port the
 *   overlay path enters the router on), on every router of every overlay
 *   path after the ingress router, active or standby (switching a standby
 *   overlay on is one PRE write at the ingress router: the path must
 *   already admit it), on every router of every detour (a tree link's
 *   backup, tree-backup.ts: its copies are overlay copies of s), and at each
 *   tree child of a relay on the tree link's port (the relayed detour copy);
 * - heartbeats: at both ends of every watched link, (the link's port, the
 *   other end's loopback) -- the watcher admits the peer's responses, the
 *   peer admits the watcher's requests.
 *
 * Everything else is dropped by the tables' default actions.
 */
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { parseIPv4 } from "../../p4runtime/codec/values.js";
import type { Adjacency, NetworkGraph } from "../topology/graph.js";
import { T, type SwitchIntent } from "./intent.js";

/** What trust needs of a session's plan (network-plan.ts SessionPlan). */
export interface TrustSession {
  readonly ingress: string;
  readonly tree: { readonly children: ReadonlyMap<string, readonly Adjacency[]> };
  readonly overlays: ReadonlyMap<string, { readonly path: readonly Adjacency[] }>;
  readonly standby: ReadonlyMap<string, { readonly path: readonly Adjacency[] }>;
  readonly detours: ReadonlyMap<string, { readonly path: readonly Adjacency[] }>;
  readonly relays: ReadonlyMap<string, readonly Adjacency[]>;
}

/** What trust needs of a heartbeat peer (network-plan.ts HeartbeatPeer). */
export interface TrustPeer {
  readonly link: number;
  readonly port: number;
  readonly peer: string;
  readonly peerAddress: bigint;
}

/** The tables this module writes; the reconciler orders them (see TRUST_TABLES users). */
export const TRUST_TABLES: ReadonlySet<string> = new Set([T.treeParent, T.overlaySender, T.hbNeighbor]);

export function treeParentEntry(session: number, port: number): TableEntryInput {
  return { table: T.treeParent, match: { session_id: session, ingress_port: port }, action: "admit" };
}

export function overlaySenderEntry(session: number, sender: bigint, port: number): TableEntryInput {
  return { table: T.overlaySender, match: { session_id: session, sender_addr: sender, ingress_port: port }, action: "admit" };
}

export function heartbeatNeighborEntry(port: number, peer: bigint): TableEntryInput {
  return { table: T.hbNeighbor, match: { ingress_port: port, peer_addr: peer }, action: "admit" };
}

/** The trust entries of a plan, per switch (each once, in a stable order). */
export function trustEntries(
  g: NetworkGraph,
  sessions: ReadonlyMap<number, TrustSession>,
  peers: ReadonlyMap<string, readonly TrustPeer[]>,
): Map<string, TableEntryInput[]> {
  const out = new Map<string, Map<string, TableEntryInput>>();
  const add = (sw: string, key: string, e: TableEntryInput) => {
    const m = out.get(sw) ?? new Map<string, TableEntryInput>();
    m.set(key, e);
    out.set(sw, m);
  };
  for (const [id, sp] of [...sessions].sort(([a], [b]) => a - b)) {
    for (const adjs of sp.tree.children.values()) {
      for (const a of adjs) add(a.to, `t/${id}/${a.peerPort}`, treeParentEntry(id, a.peerPort));
    }
    const sender = parseIPv4(g.switches.get(sp.ingress)!.loopback.ipv4);
    const paths = [...sp.overlays.values(), ...sp.standby.values(), ...sp.detours.values()].map((ov) => ov.path);
    for (const a of [...paths.flat(), ...[...sp.relays.values()].flat()]) {
      add(a.to, `o/${id}/${sender}/${a.peerPort}`, overlaySenderEntry(id, sender, a.peerPort));
    }
  }
  for (const [sw, list] of [...peers].sort(([a], [b]) => a.localeCompare(b))) {
    const me = parseIPv4(g.switches.get(sw)!.loopback.ipv4);
    for (const p of list) {
      add(sw, `h/${p.port}/${p.peerAddress}`, heartbeatNeighborEntry(p.port, p.peerAddress));
      const back = g.allAdjacencies(sw).find((a) => a.link === p.link);
      if (back) add(p.peer, `h/${back.peerPort}/${me}`, heartbeatNeighborEntry(back.peerPort, me));
    }
  }
  return new Map([...out].map(([sw, m]) => [sw, [...m.values()]]));
}

/** Adds the plan's trust entries to the switches' intents (a step of planNetwork). */
export function addTrustEntries(
  g: NetworkGraph,
  intents: ReadonlyMap<string, SwitchIntent>,
  sessions: ReadonlyMap<number, TrustSession>,
  peers: ReadonlyMap<string, readonly TrustPeer[]>,
): void {
  for (const [sw, entries] of trustEntries(g, sessions, peers)) intents.get(sw)?.entries.push(...entries);
}

/** The trust entries of an intent. */
export function trustOf(intent: SwitchIntent): TableEntryInput[] {
  return intent.entries.filter((e) => typeof e.table === "string" && TRUST_TABLES.has(e.table));
}

/**
 * `intent` with `extra` trust entries added (those it does not have yet):
 * what a switch holds while a repair moves trees and overlays, so that both
 * the old and the new neighbours are admitted (make before break).
 */
export function withTrust(intent: SwitchIntent, extra: readonly TableEntryInput[]): SwitchIntent {
  const key = (e: TableEntryInput) => JSON.stringify([e.table, e.match], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  const have = new Set(intent.entries.map(key));
  const add = extra.filter((e) => !have.has(key(e)));
  if (add.length === 0) return intent;
  return { ...intent, entries: [...intent.entries, ...add] };
}
