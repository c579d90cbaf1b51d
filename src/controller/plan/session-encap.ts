/**
 * Encapsulation at the ingress router (p4/controls/session_encap.p4): the
 * session's unicast packets, classified by service address and port, are
 * wrapped in the p4cast header and replicated by the session's PRE group to
 * the tree's first hops and, for overlays in use, to each last hop's
 * overlay path.
 */
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { T } from "./intent.js";
import { add, type PlanContext } from "./context.js";
import type { SessionPlan } from "./sessions.js";
import { type MeterOverrides, yellowDscp } from "./burst-meter.js";
import { planOverlayReplicas } from "./overlay-dedup.js";
import { type TreeRids, treeChildReplicas } from "./tree-replication.js";

export function planSessionEncap(
  ctx: PlanContext,
  plan: SessionPlan,
  treeRids: TreeRids,
  overlayRids: Map<string, Map<number, TableEntryInput>>,
  meterOverrides: MeterOverrides | undefined,
): void {
  const s = plan.session;
  const ses = ctx.sessionPath(s.id);
  const it = ctx.intent(plan.ingress);
  const ing = ctx.sw(plan.ingress);
  const replicas = [...treeChildReplicas(plan, plan.ingress, treeRids), ...planOverlayReplicas(ctx, plan, overlayRids)];
  ctx.setGroup(it, s.id, replicas, ses);
  add(it, `${ses}.service`, {
    table: s.service.address.includes(":") ? T.sessionV6 : T.sessionV4,
    match: { dst_addr: s.service.address, l4_dst_port: s.service.port },
    action: {
      name: "encap_session",
      params: {
        session_id: s.id,
        group_addr: s.group,
        src_addr: ing.loopback.ipv4,
        mcast_grp: s.id,
        yellow_dscp: yellowDscp(s, meterOverrides),
      },
    },
  });
}
