/**
 * The desired state of one switch: table entries (by table, match and
 * priority), multicast groups, meter cells and the per-session register
 * cells to reset when a session is (re)installed there. Plans produce it;
 * the reconciler compares it with what the switch holds.
 */
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import type { MeterConfigValue } from "../../client/entities/common.js";
import type { ReplicaValue } from "../../client/entities/pre.js";

export interface SwitchIntent {
  readonly switch: string;
  readonly entries: TableEntryInput[];
  readonly groups: Map<number, ReplicaValue[]>;
  /** Meter cells to configure, by meter name and index. */
  readonly meters: { meter: string; index: number; config: MeterConfigValue }[];
  /** Sessions whose last-hop dedup state this switch serves. */
  readonly lastHopSessions: Set<number>;
  /**
   * Provenance: the topology element (path in the file, e.g.
   * `hosts[3].ipv4`, `sessions[1].clients[0]`) that produced each entry and
   * group, so that a plan error can name it. Entries without one are named
   * by their table and key only.
   */
  readonly origins?: Origins;
}

export interface Origins {
  readonly entries: WeakMap<TableEntryInput, string>;
  readonly groups: Map<number, string>;
}

export function emptyIntent(sw: string): SwitchIntent {
  return {
    switch: sw,
    entries: [],
    groups: new Map(),
    meters: [],
    lastHopSessions: new Set(),
    origins: { entries: new WeakMap(), groups: new Map() },
  };
}

/** Table names of the p4cast program (docs/tables.md). */
export const T = {
  local: "ingress.l3_classify.ipv4_local_exact",
  hbMode: "ingress.heartbeat.heartbeat_mode_exact",
  hbPeer: "ingress.heartbeat.heartbeat_peer_exact",
  hbTick: "ingress.heartbeat.heartbeat_tick_exact",
  treeParent: "ingress.trust.tree_parent_exact",
  overlaySender: "ingress.trust.overlay_sender_exact",
  hbNeighbor: "ingress.trust.heartbeat_neighbor_exact",
  lastHopSession: "ingress.dedup.lasthop_session_exact",
  mcastXlateV4: "ingress.mcast_xlate.mcast_xlate_v4_lpm",
  mcastXlateV6: "ingress.mcast_xlate.mcast_xlate_v6_lpm",
  xlateV6Dst: "ingress.nat64.xlate_v6_dst_lpm",
  xlateV6Src: "ingress.nat64.xlate_v6_src_lpm",
  xlateV4Dst: "ingress.nat64.xlate_v4_dst_lpm",
  xlateV4Src: "ingress.nat64.xlate_v4_src_lpm",
  sessionV4: "ingress.session.session_v4_exact",
  sessionV6: "ingress.session.session_v6_exact",
  mcastV4: "ingress.tree.ipv4_mcast_exact",
  mcastV6: "ingress.tree.ipv6_mcast_exact",
  routeV4: "ingress.l3.ipv4_lpm",
  routeV6: "ingress.l3.ipv6_lpm",
  nexthop: "ingress.l3.nexthop_exact",
  treeRid: "egress.tree.mcast_replica_rid_exact",
  overlayRid: "egress.overlay.overlay_peer_rid_exact",
  clientRid: "egress.lasthop.lasthop_client_rid_exact",
  clientSession: "egress.lasthop.lasthop_client_session_exact",
} as const;

/** The per-(session, client) delivered counter, direct on T.clientSession. */
export const CLIENT_DELIVERED_COUNTER = "egress.lasthop.lasthop_client_delivered_counter";

export const METER_BURST = "ingress.burst.session_burst_meter";

/**
 * Id spaces on one switch. PRE group ids: the session id for a session's
 * tree group (ingress or transit), CLIENT_GROUP_BASE + session id for a
 * last hop's (or relay's, tree-backup.ts) client group. Replication ids: the port number for tree
 * branches (one rewrite per port), DETOUR_RID_BASE + the port for a tree
 * branch's backup (its detour), RELAY_RID_BASE + the port for a detour
 * copy relayed down the tree to a child (tree-backup.ts), OVERLAY_RID_BASE
 * + the last hop's device id for overlay copies, CLIENT_RID_BASE (IPv4 delivery) or
 * CLIENT_RID_V6_BASE (IPv6 delivery) + the host's index for clients.
 */
export const CLIENT_GROUP_BASE = 1024;
/** Ports are 9 bits: tree rids stay below it. */
export const DETOUR_RID_BASE = 0x200;
export const RELAY_RID_BASE = 0x400;
export const OVERLAY_RID_BASE = 0x1000;
export const CLIENT_RID_BASE = 0x2000;
export const CLIENT_RID_V6_BASE = 0x8000;

/** Action parameters that hold a PRE multicast group id. */
export const GROUP_PARAMS: ReadonlySet<string> = new Set(["mcast_grp", "client_grp"]);

/**
 * Physical group ids come in two banks: a logical id g lives at g or at
 * g | GROUP_BANK_B. Changing a group's replicas writes the new group in the
 * other bank, points the entries at it, then deletes the old one, so no
 * packet ever meets a half-rewritten group (simple_switch rebuilds a group
 * in place node by node). Ids stay below 2^15: simple_switch_grpc (PI)
 * reserves the ones above for itself.
 */
export const GROUP_BANK_B = 0x4000;

/**
 * The PRE group of a switch's heartbeat peers (HB_MCAST_GROUP in
 * p4/include/headers.p4; data-plane verdicts): one replica per peer, the
 * instance is the peer index. Fixed, so it is written in place rather than
 * in the banks (a heartbeat copy missing while it is rewritten is one
 * request, which the miss threshold absorbs).
 */
export const HB_GROUP = 0x3fff;

const entryKey = (e: TableEntryInput) =>
  JSON.stringify(
    [e.table, Object.entries(e.match ?? {}).sort(([x], [y]) => x.localeCompare(y)), e.priority ?? 0, e.isDefault ?? false],
    (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
  );

/**
 * The make-before-break step between two intents of one switch: every entry
 * of `next`, plus the entries of `last` whose key `next` does not use; every
 * group with the replicas of both. Written to every switch of a repair
 * before `next` is, so that no switch stops feeding a branch before the
 * switches of its replacement are ready (a packet that takes both ways
 * meanwhile is a duplicate the last hop's window drops).
 */
export function unionIntent(last: SwitchIntent, next: SwitchIntent): SwitchIntent {
  const keys = new Set(next.entries.map(entryKey));
  const groups = new Map<number, ReplicaValue[]>();
  // next's replicas first: where both have a replica, next's backups win.
  for (const [id, replicas] of [...next.groups, ...last.groups]) {
    const have = groups.get(id) ?? [];
    for (const r of replicas) if (!have.some((x) => x.port === r.port && (x.instance ?? 0) === (r.instance ?? 0))) have.push(r);
    groups.set(id, have);
  }
  return {
    ...next,
    entries: [...next.entries, ...last.entries.filter((e) => !keys.has(entryKey(e)))],
    groups,
    lastHopSessions: new Set([...last.lastHopSessions, ...next.lastHopSessions]),
  };
}
