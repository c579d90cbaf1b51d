/**
 * The packet replication engine: multicast groups and clone (mirroring)
 * sessions. Replication order follows BMv2's simple_pre as programmed through
 * PI: one L1 node per distinct replication id (in order of first appearance),
 * and within a node the ports in ascending order. A replica with backups
 * takes its place in that order by its own (port, rid), whichever of its
 * destinations the copy goes to.
 */
import type { PortStatus } from "./port-status.js";
import { EngineError, type CloneSessionSpec, type Replica, type ReplicaDestination } from "./runtime-api.js";

export interface GroupPlan {
  /** As written (a copy). */
  readonly replicas: readonly Replica[];
  /** Replication order: the replicas as the PRE emits them. */
  readonly order: readonly Replica[];
}

function checkDestination(d: ReplicaDestination, what: string): void {
  if (!Number.isInteger(d.port) || d.port < 0 || !Number.isInteger(d.rid) || d.rid < 0 || d.rid > 0xffff)
    throw new EngineError("BAD_VALUE", `bad ${what} ${JSON.stringify({ port: d.port, rid: d.rid })}`);
}

/** A deep copy (the engine hands out copies of what it stores). */
export function copyReplica(r: Replica): Replica {
  return r.backups && r.backups.length > 0
    ? { port: r.port, rid: r.rid, backups: r.backups.map((b) => ({ port: b.port, rid: b.rid })) }
    : { port: r.port, rid: r.rid };
}

function plan(replicas: readonly Replica[]): GroupPlan {
  const byRid = new Map<number, Map<number, Replica>>();
  for (const r of replicas) {
    checkDestination(r, "replica");
    for (const b of r.backups ?? []) checkDestination(b, "backup replica");
    const node = byRid.get(r.rid) ?? new Map<number, Replica>();
    byRid.set(r.rid, node);
    if (!node.has(r.port)) node.set(r.port, copyReplica(r));
  }
  const order: Replica[] = [];
  for (const node of byRid.values()) for (const port of [...node.keys()].sort((a, b) => a - b)) order.push(node.get(port)!);
  return { replicas: replicas.map(copyReplica), order };
}

/**
 * Where a replica's copy goes: without backups, to the replica itself; with
 * backups, to the first of the replica and its backups whose port is up, or
 * nowhere (undefined) when all are down.
 */
export function liveDestination(r: Replica, ports: Pick<PortStatus, "isUp">): ReplicaDestination | undefined {
  const backups = r.backups;
  if (backups === undefined || backups.length === 0 || ports.isUp(r.port)) return r;
  for (const b of backups) if (ports.isUp(b.port)) return b;
  return undefined;
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
      spec: { replicas: spec.replicas.map(copyReplica), truncateBytes: spec.truncateBytes },
      plan: plan(spec.replicas),
    });
  }
  deleteSession(session: number): void {
    if (!this.sessions.delete(session)) throw new EngineError("NO_SUCH_ENTRY", `no clone session ${session}`);
  }
}
