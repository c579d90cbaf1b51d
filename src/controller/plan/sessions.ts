/**
 * A session's shape, before any entry: its receivers grouped by last-hop
 * router (IPv6 receivers of an IPv4 session may be reached through a
 * translator instead, nat64.ts), its distribution tree from the ingress
 * router, its overlay paths (in use, or on standby for
 * overlay-on-failure sessions until their tree branch breaks), and the
 * detours of its tree links with the relays below them (tree-backup.ts).
 */
import {
  distributionTree,
  overlayPath,
  protectsWorse,
  remeasureOverlay,
  type DetourPath,
  type DistributionTree,
  type OverlayPath,
} from "../paths/multicast.js";
import type { Adjacency } from "../topology/graph.js";
import type { HostSpec, SessionSpec } from "../topology/schema.js";
import type { PlanContext } from "./context.js";
import { planTranslatedReceivers, type TranslatedDelivery } from "./nat64.js";

export interface SessionPlan {
  readonly session: SessionSpec;
  readonly ingress: string;
  /** Last-hop router → its clients. */
  readonly lastHops: ReadonlyMap<string, readonly HostSpec[]>;
  readonly tree: DistributionTree;
  /** Overlay paths in use (always-redundant, or overlay-on-failure after a failure). */
  readonly overlays: ReadonlyMap<string, OverlayPath>;
  /** Overlay paths installed but not fed (overlay-on-failure, before a failure). */
  readonly standby: ReadonlyMap<string, OverlayPath>;
  /**
   * Detours for the backup replicas of tree links (tree-only and
   * overlay-on-failure sessions: an always-redundant one has its overlay
   * copy at every last hop already), by the link's lower end; links without
   * a detour (bridges) have none.
   */
  readonly detours: ReadonlyMap<string, DetourPath>;
  /**
   * Tree members below a detour that relay a detour copy to their tree
   * children (tree-backup.ts), with those children's links: every member
   * with children but the ingress router, when the session has detours.
   */
  readonly relays: ReadonlyMap<string, readonly Adjacency[]>;
  /** Receivers reached through a translator (IPv6 side). */
  readonly translated: readonly TranslatedDelivery[];
  /**
   * Last hop → client → the client's replica id there: the key, with the
   * session id, of its lasthop_client_session_exact entry (the per-client
   * delivered counter). Clients the last hop delivers to only; filled by
   * lasthop-delivery.ts.
   */
  readonly clientRids: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** What changed at run time (PlanInput's fields a session's shape depends on). */
export interface SessionChanges {
  readonly extraClients?: ReadonlyMap<number, readonly string[]>;
  readonly removedClients?: ReadonlyMap<number, readonly string[]>;
  readonly overlayActivated?: ReadonlyMap<number, ReadonlySet<string>>;
  readonly pinnedOverlays?: ReadonlyMap<number, ReadonlyMap<string, OverlayPath>>;
  readonly ipv6Joins?: ReadonlyMap<number, readonly string[]>;
}

/** `delivered` becomes the plan's clientRids (planLastHopDelivery fills it). */
export function planSession(
  ctx: PlanContext,
  s: SessionSpec,
  changes: SessionChanges,
  delivered: ReadonlyMap<string, ReadonlyMap<string, number>>,
): SessionPlan {
  const { graph: g, warnings } = ctx;
  const ingress = ctx.hostsByName.get(s.source)!.attach.switch;
  const removed = new Set(changes.removedClients?.get(s.id) ?? []);
  const clientNames = [...new Set([...s.clients, ...(changes.extraClients?.get(s.id) ?? [])])].filter((c) => !removed.has(c));
  const lastHops = new Map<string, HostSpec[]>();
  for (const c of clientNames) {
    const h = ctx.hostsByName.get(c);
    if (!h) continue;
    const list = lastHops.get(h.attach.switch) ?? [];
    list.push(h);
    lastHops.set(h.attach.switch, list);
  }
  const translated = planTranslatedReceivers(ctx, s, ingress, clientNames, removed, changes.ipv6Joins?.get(s.id) ?? [], lastHops);
  if (lastHops.has(ingress)) {
    warnings.push(
      `session ${s.id}: clients on the ingress router ${ingress} (${lastHops
        .get(ingress)!
        .map((h) => h.name)
        .join(", ")}) are not served: last-hop delivery happens on another router`,
    );
  }
  const remoteLastHops = [...lastHops.keys()].filter((n) => n !== ingress);
  const tree = distributionTree(g, ingress, remoteLastHops);
  for (const u of tree.unreachable) warnings.push(`session ${s.id}: last-hop router ${u} is unreachable over IPv4`);
  // Overlay paths: in use for always-redundant sessions; for overlay-on-failure
  // ones they are installed on standby (routes, rewrite rules, local
  // addresses) so that switching a last hop to the overlay takes one write:
  // adding its copy to the ingress router's session group.
  const overlays = new Map<string, OverlayPath>();
  const standby = new Map<string, OverlayPath>();
  const active = (lh: string) =>
    s.redundancy === "always-redundant" ||
    (s.redundancy === "overlay-on-failure" && (changes.overlayActivated?.get(s.id)?.has(lh) ?? false));
  for (const lh of remoteLastHops) {
    if (s.redundancy === "tree-only") continue;
    // A path chosen earlier is kept while its links are up (a repair does not move the overlay covering for a broken
    // branch) and it protects as well as a fresh one would: after a false alarm it goes back to the disjoint path, else
    // an overlay moved onto the tree branch's links would stay there and a later cut of the branch take both copies.
    const pinned = changes.pinnedOverlays?.get(s.id)?.get(lh);
    const fresh = overlayPath(g, tree, lh);
    const kept = pinned?.path.every((a) => g.isUp(a.link)) ? remeasureOverlay(g, tree, lh, pinned.path) : undefined;
    const ov = kept && (!fresh || !protectsWorse(kept, fresh)) ? kept : fresh;
    if (!ov) {
      warnings.push(`session ${s.id}: no overlay path to ${lh}`);
      continue;
    }
    if (active(lh)) overlays.set(lh, ov);
    else standby.set(lh, ov);
  }
  const detours = new Map<string, DetourPath>();
  const relays = new Map<string, readonly Adjacency[]>();
  if (s.redundancy !== "always-redundant") {
    for (const adjs of tree.children.values()) {
      for (const a of adjs) {
        const d = ctx.detour(a);
        if (d) detours.set(a.to, d);
      }
    }
    if (detours.size > 0) for (const [m, adjs] of tree.children) if (m !== ingress) relays.set(m, adjs);
  }
  return { session: s, ingress, lastHops, tree, overlays, standby, detours, relays, translated, clientRids: delivered };
}
