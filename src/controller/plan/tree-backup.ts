/**
 * Backup replicas for tree links (P4Runtime 1.5 `backup_replicas`): the
 * switch next to a broken link repairs it at the first packet after its
 * port goes down (carrier loss, or its data plane's heartbeat verdict on
 * the embedded switch), with no controller round trip; the controller
 * replans at leisure.
 *
 * For a tree link S → C (sessions.ts `detours`), S's replica towards C gets
 * one backup: the first port of the link's detour, with replica id
 * DETOUR_RID_BASE + the link's port. Egress rewrites that replica like an
 * overlay copy (overlay_peer_rid_exact, `overlay_to_peer`): unicast to C's
 * detour address, flagged as overlay, the MACs of the detour's first hop.
 * Along the detour the address is routed; at C it is local, so the copy
 * passes C's dedup window and goes to C's client group like any overlay
 * copy (a copy that also arrived by the tree or the overlay is dropped there
 * as a duplicate). Trust: every router of the detour admits the session's
 * overlay copies on the port the detour enters it by (trust.ts).
 *
 * When C has tree children, the copy must go on down C's subtree. The P4
 * program has no table to turn it back into a tree copy (the session's
 * group address restored before replication), so it is relayed hop by hop
 * instead: every tree member with children but the ingress router (a
 * relay) has a window and a client group for the session, and that group
 * holds, besides its clients, one replica per tree child K (replica id
 * RELAY_RID_BASE + the port), rewritten to K's detour address from the
 * relay, local at K, and admitted at K on the tree link's port. The tree
 * below the broken link is intact (a single fault), so the copy reaches
 * every last hop of the subtree once, through every window on its way.
 * Tree copies pass a relay's window too (it then drops a late relayed copy
 * as a duplicate) and are replicated whatever its verdict; clients only get
 * copies a window accepted.
 */
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import type { Adjacency } from "../topology/graph.js";
import { detourAddress, portMac } from "../topology/addressing.js";
import { formatIPv4 } from "../../p4runtime/codec/values.js";
import { DETOUR_RID_BASE, RELAY_RID_BASE, T } from "./intent.js";
import { addShared, origin, route, type PlanContext } from "./context.js";
import type { SessionPlan } from "./sessions.js";

/** The replica id of the backup of S's tree replica out of `port`. */
export const detourRid = (port: number): number => DETOUR_RID_BASE + port;

/** The replica id of a relayed copy out of `port` (to the tree child behind it). */
export const relayRid = (port: number): number => RELAY_RID_BASE + port;

/** The backups of `member`'s tree replica towards `child` (none when the link has no detour in this plan). */
export function treeBackups(plan: SessionPlan, child: Adjacency): { port: number; instance: number }[] {
  const d = plan.detours.get(child.to);
  if (!d || d.link.from !== child.from || d.link.port !== child.port) return [];
  return [{ port: d.path[0]!.port, instance: detourRid(child.port) }];
}

/** The replicas a relay adds to its client group: one per tree child (none for routers that relay nothing). */
export function relayReplicas(plan: SessionPlan, router: string): { port: number; instance: number }[] {
  return (plan.relays.get(router) ?? []).map((a) => ({ port: a.port, instance: relayRid(a.port) }));
}

/**
 * Each detour of the session: the backup replica's rewrite at the link's
 * upper end (into `overlayRids`, one per replica id per switch), the detour
 * address's routes along the detour and its local entry at the link's
 * lower end; each relay's rewrite per child (into `overlayRids`) and the
 * child's local entry. Sessions whose trees share a link share these.
 */
export function planTreeDetours(ctx: PlanContext, plan: SessionPlan, overlayRids: Map<string, Map<number, TableEntryInput>>): void {
  const ses = ctx.sessionPath(plan.session.id);
  for (const [lower, d] of plan.detours) {
    const s = d.link.from;
    const first = d.path[0]!;
    const addr = detourAddress(ctx.sw(s), ctx.sw(lower));
    const rid = detourRid(d.link.port);
    const rids = overlayRids.get(s) ?? new Map<number, TableEntryInput>();
    overlayRids.set(s, rids);
    if (!rids.has(rid)) {
      rids.set(
        rid,
        origin(ctx.intent(s), `${ses}.detour.${lower}`, {
          table: T.overlayRid,
          match: { egress_rid: rid },
          action: {
            name: "overlay_to_peer",
            params: { peer_addr: addr, src_mac: portMac(ctx.sw(s), first.port), dst_mac: portMac(ctx.sw(first.to), first.peerPort) },
          },
        }),
      );
    }
    const text = `${formatIPv4(addr)}/32`;
    addShared(ctx.intent(lower), `${ses}.detour.${lower}`, { table: T.local, match: { dst_addr: addr }, action: "mark_local" });
    for (const a of d.path.slice(1)) addShared(ctx.intent(a.from), `${ses}.detour.${lower}`, route(T.routeV4, text, a.port));
  }
  for (const [relay, children] of plan.relays) {
    const rids = overlayRids.get(relay) ?? new Map<number, TableEntryInput>();
    overlayRids.set(relay, rids);
    for (const a of children) {
      const addr = detourAddress(ctx.sw(relay), ctx.sw(a.to));
      const rid = relayRid(a.port);
      const from = `${ses}.relay.${relay}.${a.to}`;
      if (!rids.has(rid)) {
        rids.set(
          rid,
          origin(ctx.intent(relay), from, {
            table: T.overlayRid,
            match: { egress_rid: rid },
            action: {
              name: "overlay_to_peer",
              params: { peer_addr: addr, src_mac: portMac(ctx.sw(relay), a.port), dst_mac: portMac(ctx.sw(a.to), a.peerPort) },
            },
          }),
        );
      }
      addShared(ctx.intent(a.to), from, { table: T.local, match: { dst_addr: addr }, action: "mark_local" });
    }
  }
}
