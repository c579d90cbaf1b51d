/**
 * What the controller wants on every switch, computed from the topology, the
 * links currently up and the receivers that joined at run time. One step
 * per data-plane feature, each in the module named after the feature's P4
 * control (docs/architecture.md, "Features"):
 *
 *   l3-forward.ts        neighbours, local addresses, unicast routes
 *   heartbeat.ts         heartbeat peers
 *   sessions.ts          each session's receivers, tree and overlay paths
 *   lasthop-delivery.ts  client groups and per-client rewrites at last hops
 *   session-encap.ts     classification, encapsulation and the session group at the ingress router
 *   burst-meter.ts       the session's meter at the ingress router
 *   tree-replication.ts  tree groups on transit and last-hop routers
 *   overlay-dedup.ts     overlay replicas and the overlay addresses' routes
 *   tree-backup.ts       backup replicas of tree links, their detours, relays below them
 *   nat64.ts             translators, the NAT64 prefix, receivers reached through a translator
 *   mcast-xlate.ts       IPv6 → IPv4 group translation at translators
 *   trust.ts             where each switch accepts tree, overlay and heartbeat packets from
 */
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import type { OverlayPath } from "../paths/multicast.js";
import type { NetworkGraph } from "../topology/graph.js";
import type { SessionSpec } from "../topology/schema.js";
import type { SwitchIntent } from "./intent.js";
import { PlanContext } from "./context.js";
import { planBurstMeter } from "./burst-meter.js";
import { planHeartbeatPeers, type HeartbeatPeer } from "./heartbeat.js";
import { planNeighbours, planUnicastRoutes } from "./l3-forward.js";
import { planLastHopDelivery } from "./lasthop-delivery.js";
import { planMulticastTranslation } from "./mcast-xlate.js";
import { planNat64 } from "./nat64.js";
import { planOverlayRoutes } from "./overlay-dedup.js";
import { PlanError } from "./plan-error.js";
import { planSession, type SessionPlan } from "./sessions.js";
import { planSessionEncap } from "./session-encap.js";
import { planTreeDetours } from "./tree-backup.js";
import { planTreeReplication, planTreeRidRewrites, type TreeRids } from "./tree-replication.js";
import { addTrustEntries } from "./trust.js";

export type { HeartbeatPeer } from "./heartbeat.js";
export type { SessionPlan } from "./sessions.js";
export type { TranslatedDelivery } from "./nat64.js";

export interface NetworkPlan {
  readonly intents: ReadonlyMap<string, SwitchIntent>;
  readonly sessions: ReadonlyMap<number, SessionPlan>;
  /** Heartbeat peers: per switch, peer address → index (and the link). */
  readonly peers: ReadonlyMap<string, readonly HeartbeatPeer[]>;
  readonly warnings: readonly string[];
}

export interface PlanInput {
  readonly graph: NetworkGraph;
  /** Receivers added at run time (IGMP/MLD joins), by session id. */
  readonly extraClients?: ReadonlyMap<number, readonly string[]>;
  /** Receivers removed at run time, by session id. */
  readonly removedClients?: ReadonlyMap<number, readonly string[]>;
  /**
   * overlay-on-failure sessions: last hops switched to the overlay because
   * their tree branch broke (session id → last hops).
   */
  readonly overlayActivated?: ReadonlyMap<number, ReadonlySet<string>>;
  /** Meter overrides set at run time, by session id. */
  readonly meterOverrides?: ReadonlyMap<number, SessionSpec["meter"]>;
  /**
   * Overlay paths chosen earlier (session id → last hop → path). A path is
   * kept while all its links are up, so a repair does not move the overlay
   * that is covering for a broken tree branch.
   */
  readonly pinnedOverlays?: ReadonlyMap<number, ReadonlyMap<string, OverlayPath>>;
  /** Receivers that joined from the IPv6 side (MLD), by session id. */
  readonly ipv6Joins?: ReadonlyMap<number, readonly string[]>;
}

/** Plans every switch; throws a PlanError naming the topology paths of every conflict found. */
export function planNetwork(input: PlanInput): NetworkPlan {
  const ctx = new PlanContext(input.graph);
  planNeighbours(ctx);
  planUnicastRoutes(ctx);
  const peers = planHeartbeatPeers(ctx);

  const sessions = new Map<number, SessionPlan>();
  const treeRids: TreeRids = new Map();
  // Per-replica rewrites, one per replica id per switch (sessions share them), written after every session's entries.
  const clientRids = new Map<string, Map<number, TableEntryInput>>();
  const overlayRids = new Map<string, Map<number, TableEntryInput>>();
  for (const s of ctx.topo.sessions) {
    const delivered = new Map<string, Map<string, number>>();
    const plan = planSession(ctx, s, input, delivered);
    sessions.set(s.id, plan);
    planLastHopDelivery(ctx, plan, clientRids, delivered);
    planSessionEncap(ctx, plan, treeRids, overlayRids, input.meterOverrides);
    planBurstMeter(ctx, plan, input.meterOverrides);
    planTreeReplication(ctx, plan, treeRids, clientRids);
    planOverlayRoutes(ctx, plan);
    planTreeDetours(ctx, plan, overlayRids);
  }
  planTreeRidRewrites(ctx, treeRids);
  for (const [s, rids] of clientRids) ctx.intent(s).entries.push(...rids.values());
  for (const [s, rids] of overlayRids) ctx.intent(s).entries.push(...rids.values());

  planNat64(ctx);
  planMulticastTranslation(ctx);
  addTrustEntries(ctx.graph, ctx.intents, sessions, peers);
  if (ctx.problems.length > 0) throw new PlanError(ctx.problems);
  return { intents: ctx.intents, sessions, peers, warnings: ctx.warnings };
}
