/**
 * Tree replication (p4/controls/tree_replication.p4): every tree member
 * after the ingress router maps the session's group address to the
 * session's PRE group, one replica per tree child (replica id = port, the
 * egress rewrites the source MAC per port; a backup where the link has a
 * detour, tree-backup.ts) plus, at a last hop, one per client
 * (lasthop-delivery.ts).
 */
import type { ReplicaValue } from "../../client/entities/pre.js";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { portMac } from "../topology/addressing.js";
import { T } from "./intent.js";
import { add, type PlanContext } from "./context.js";
import type { SessionPlan } from "./sessions.js";
import { treeBackups } from "./tree-backup.js";

/** Tree ports per switch (replica id = port); their source-MAC rewrites are written once per switch (planTreeRidRewrites). */
export type TreeRids = Map<string, Set<number>>;

/** The replicas of `member`'s tree children, with their backups (tree-backup.ts), recording their ports in `treeRids`. */
export function treeChildReplicas(plan: SessionPlan, member: string, treeRids: TreeRids): ReplicaValue[] {
  const replicas: ReplicaValue[] = [];
  for (const a of plan.tree.children.get(member) ?? []) {
    const backups = treeBackups(plan, a);
    replicas.push(backups.length > 0 ? { port: a.port, instance: a.port, backups } : { port: a.port, instance: a.port });
    const set = treeRids.get(member) ?? new Set<number>();
    set.add(a.port);
    treeRids.set(member, set);
  }
  return replicas;
}

/** Transit and last-hop routers on the tree: group address → the session's tree group. */
export function planTreeReplication(
  ctx: PlanContext,
  plan: SessionPlan,
  treeRids: TreeRids,
  clientRids: ReadonlyMap<string, ReadonlyMap<number, TableEntryInput>>,
): void {
  const s = plan.session;
  const v6 = s.service.address.includes(":");
  const ses = ctx.sessionPath(s.id);
  for (const m of plan.tree.members) {
    if (m === plan.ingress) continue;
    const it = ctx.intent(m);
    const replicas = treeChildReplicas(plan, m, treeRids);
    for (const c of plan.lastHops.get(m) ?? []) {
      const rid = ctx.clientRid(c.name, v6);
      if (clientRids.get(m)?.has(rid)) replicas.push({ port: c.attach.port, instance: rid });
    }
    ctx.setGroup(it, s.id, replicas, ses);
    add(it, `${ses}.group`, {
      table: T.mcastV4,
      match: { group_addr: s.group },
      action: { name: "replicate_to_group", params: { mcast_grp: s.id } },
    });
  }
}

/** One source-MAC rewrite per tree port per switch, in port order. */
export function planTreeRidRewrites(ctx: PlanContext, treeRids: TreeRids): void {
  for (const [s, ports] of treeRids) {
    const it = ctx.intent(s);
    const spec = ctx.sw(s);
    for (const p of [...ports].sort((a, b) => a - b)) {
      add(it, ctx.switchPath(s), {
        table: T.treeRid,
        match: { egress_rid: p },
        action: { name: "rewrite_replica_src_mac", params: { src_mac: portMac(spec, p) } },
      });
    }
  }
}
