/**
 * Last-hop delivery (p4/controls/lasthop_delivery.p4): at each last-hop
 * router of a session, one unicast copy per client through the session's
 * client group (a replica per client; egress rewrites it by replica id to
 * the client's address and MACs), and the entry that accepts the session's
 * copies there; per (session, client) an entry whose direct counter counts
 * the copies the client was sent. A relay (tree-backup.ts) gets the same
 * group and entry, its group holding its replicas to its tree children
 * besides its clients, if any.
 */
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { hostV4, hostV6, portMac } from "../topology/addressing.js";
import { CLIENT_GROUP_BASE, T } from "./intent.js";
import { add, origin, type PlanContext } from "./context.js";
import type { SessionPlan } from "./sessions.js";
import { relayReplicas } from "./tree-backup.js";

/** The client group of session `id` at its last hops and relays. */
export const clientGroupOf = (id: number): number => CLIENT_GROUP_BASE + id;

/**
 * Client delivery of one session at each last hop and relay; the per-client rewrite entries go to `clientRids` (one per
 * replica id per switch).
 */
export function planLastHopDelivery(
  ctx: PlanContext,
  plan: SessionPlan,
  clientRids: Map<string, Map<number, TableEntryInput>>,
  delivered: Map<string, Map<string, number>>,
): void {
  const s = plan.session;
  const v6 = s.service.address.includes(":");
  const ses = ctx.sessionPath(s.id);
  const routers = new Set([...plan.lastHops.keys(), ...plan.relays.keys()]);
  for (const lh of routers) {
    const clients = plan.lastHops.get(lh) ?? [];
    const it = ctx.intent(lh);
    const lhSw = ctx.sw(lh);
    const rids = clientRids.get(lh) ?? new Map<number, TableEntryInput>();
    clientRids.set(lh, rids);
    const replicas = relayReplicas(plan, lh);
    for (const c of clients) {
      const rid = ctx.clientRid(c.name, v6);
      const addr = v6 ? hostV6(c) : hostV4(c);
      if (addr === undefined) {
        ctx.warnings.push(`session ${s.id}: client ${c.name} has no ${v6 ? "IPv6" : "IPv4"} address; not delivered`);
        continue;
      }
      rids.set(
        rid,
        origin(it, ctx.clientPath(s, c.name), {
          table: T.clientRid,
          match: { egress_rid: rid },
          action: {
            name: v6 ? "deliver_to_client_v6" : "deliver_to_client_v4",
            params: { client_addr: addr, src_mac: portMac(lhSw, c.attach.port), dst_mac: BigInt(`0x${c.mac.replace(/:/g, "")}`) },
          },
        }),
      );
      replicas.push({ port: c.attach.port, instance: rid });
      if (lh !== plan.ingress) {
        // The client's delivered counter for this session.
        add(it, ctx.clientPath(s, c.name), {
          table: T.clientSession,
          match: { session_id: s.id, egress_rid: rid },
          action: "count_client_copy",
        });
        delivered.set(lh, (delivered.get(lh) ?? new Map<string, number>()).set(c.name, rid));
      }
    }
    if (lh !== plan.ingress) {
      ctx.setGroup(it, clientGroupOf(s.id), replicas, `${ses}.clients`);
      add(it, `${ses}.clients`, {
        table: T.lastHopSession,
        match: { session_id: s.id },
        action: { name: "accept_session", params: { client_grp: clientGroupOf(s.id) } },
      });
      it.lastHopSessions.add(s.id);
    }
  }
}
