/**
 * The packet replication engine: multicast groups and clone (mirroring)
 * sessions. Replication order follows BMv2's simple_pre as programmed through
 * PI: one L1 node per distinct replication id (in order of first appearance),
 * and within a node the ports in ascending order.
 */
import { EngineError, type CloneSessionSpec, type Replica } from "./runtime-api.js";

export interface GroupPlan {
  readonly replicas: readonly Replica[];
  /** Replication order: (port, rid) as the PRE emits them. */
  readonly order: readonly Replica[];
}

function plan(replicas: readonly Replica[]): GroupPlan {
  const byRid = new Map<number, Set<number>>();
  for (const r of replicas) {
    if (!Number.isInteger(r.port) || r.port < 0 || !Number.isInteger(r.rid) || r.rid < 0 || r.rid > 0xffff)
      throw new EngineError("BAD_VALUE", `bad replica ${JSON.stringify(r)}`);
    const s = byRid.get(r.rid);
    if (s) s.add(r.port);
    else byRid.set(r.rid, new Set([r.port]));
  }
  const order: Replica[] = [];
  for (const [rid, ports] of byRid) for (const port of [...ports].sort((a, b) => a - b)) order.push({ port, rid });
  return { replicas: replicas.map((r) => ({ port: r.port, rid: r.rid })), order };
}

/** A configured clone session and the replication it does. */
export interface CloneSession {
  readonly spec: CloneSessionSpec;
  readonly plan: GroupPlan;
}

export class Pre {
  readonly groups = new Map<number, GroupPlan>();
  readonly sessions = new Map<number, CloneSession>();

  setGroup(group: number, replicas: readonly Replica[]): void {
    if (!Number.isInteger(group) || group <= 0 || group > 0xffff)
      throw new EngineError("BAD_VALUE", `multicast group id ${group} out of range`);
    this.groups.set(group, plan(replicas));
  }
  deleteGroup(group: number): void {
    if (!this.groups.delete(group)) throw new EngineError("NO_SUCH_ENTRY", `no multicast group ${group}`);
  }
  setSession(session: number, spec: CloneSessionSpec): void {
    if (!Number.isInteger(session) || session < 0 || session > 0xffff)
      throw new EngineError("BAD_VALUE", `clone session id ${session} out of range`);
    if (!Number.isInteger(spec.truncateBytes) || spec.truncateBytes < 0) throw new EngineError("BAD_VALUE", "bad truncateBytes");
    this.sessions.set(session, {
      spec: { replicas: spec.replicas.map((r) => ({ ...r })), truncateBytes: spec.truncateBytes },
      plan: plan(spec.replicas),
    });
  }
  deleteSession(session: number): void {
    if (!this.sessions.delete(session)) throw new EngineError("NO_SUCH_ENTRY", `no clone session ${session}`);
  }
}
