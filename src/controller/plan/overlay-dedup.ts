/**
 * The redundant unicast overlay (p4/controls/overlay_dedup.p4 keeps the
 * first copy of each sequence number at the last hop): the ingress router
 * sends a second copy of each packet to each last hop along a path disjoint
 * from the tree branch, as unicast to an overlay address the last hop
 * treats as local. Standby overlays (overlay-on-failure sessions) are
 * installed the same way but not fed until their branch breaks.
 */
import type { ReplicaValue } from "../../client/entities/pre.js";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { formatIPv4 } from "../../p4runtime/codec/values.js";
import { overlayAddress, portMac } from "../topology/addressing.js";
import { OVERLAY_RID_BASE, T } from "./intent.js";
import { addShared, origin, route, type PlanContext } from "./context.js";
import type { SessionPlan } from "./sessions.js";

/**
 * The ingress router's overlay replicas (active overlays only) and, for
 * every overlay (active or standby), the egress rewrite of its replica id
 * into `overlayRids` (one entry per replica id per switch).
 */
export function planOverlayReplicas(
  ctx: PlanContext,
  plan: SessionPlan,
  overlayRids: Map<string, Map<number, TableEntryInput>>,
): ReplicaValue[] {
  const { ingress } = plan;
  const it = ctx.intent(ingress);
  const ing = ctx.sw(ingress);
  const replicas: ReplicaValue[] = [];
  for (const [lh, ov] of [...plan.overlays, ...plan.standby]) {
    const first = ov.path[0]!;
    const lhSw = ctx.sw(lh);
    const rid = OVERLAY_RID_BASE + (lhSw.deviceId & 0xfff);
    if (plan.overlays.has(lh)) replicas.push({ port: first.port, instance: rid });
    const m = overlayRids.get(ingress) ?? new Map<number, TableEntryInput>();
    overlayRids.set(ingress, m);
    m.set(
      rid,
      origin(it, ctx.sessionPath(plan.session.id), {
        table: T.overlayRid,
        match: { egress_rid: rid },
        action: {
          name: "overlay_to_peer",
          params: {
            peer_addr: overlayAddress(ing, lhSw),
            src_mac: portMac(ing, first.port),
            dst_mac: portMac(ctx.sw(first.to), first.peerPort),
          },
        },
      }),
    );
  }
  return replicas;
}

/** Overlay addresses: local at the last hop, routed along the overlay path. */
export function planOverlayRoutes(ctx: PlanContext, plan: SessionPlan): void {
  const ses = ctx.sessionPath(plan.session.id);
  for (const [lh, ov] of [...plan.overlays, ...plan.standby]) {
    const addr = overlayAddress(ctx.sw(plan.ingress), ctx.sw(lh));
    const text = `${formatIPv4(addr)}/32`;
    // Sessions sharing an ingress router and a last hop want the same entries: each goes in once.
    addShared(ctx.intent(lh), ses, { table: T.local, match: { dst_addr: addr }, action: "mark_local" });
    for (const a of ov.path.slice(1)) addShared(ctx.intent(a.from), ses, route(T.routeV4, text, a.port));
  }
}
