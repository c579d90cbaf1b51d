/**
 * Packet replication engine entries: multicast groups and clone sessions.
 * A replica is an egress port plus an instance number (egress_rid on
 * v1model), and, in a multicast group, its backups (P4Runtime 1.5: the
 * first of replica and backups whose port is up is used). Ports are sent
 * in the `port` bytes field of P4Runtime 1.4 unless the client is set to
 * the older uint32 `egress_port` form.
 */
import { create } from "@bufbuild/protobuf";
import { P4ValueError } from "../../p4runtime/errors.js";
import { decodeUnsigned, encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import {
  BackupReplicaSchema,
  type CloneSessionEntry,
  CloneSessionEntrySchema,
  type MulticastGroupEntry,
  MulticastGroupEntrySchema,
  type Replica,
  ReplicaSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";

export type ReplicaPortEncoding = "bytes" | "uint32";

/** A backup of a multicast replica: always a port in the `port` bytes field (P4Runtime 1.5 has no uint32 form for it). */
export interface BackupReplicaValue {
  readonly port: number;
  readonly instance?: number;
}

export interface ReplicaValue {
  readonly port: number;
  readonly instance?: number;
  /** Multicast groups only: used in order when the replica's port is down (P4Runtime 1.5 backup_replicas). */
  readonly backups?: readonly BackupReplicaValue[];
}

/** A replica as read back: the instance always; backups only when it has some. */
export interface DecodedReplica {
  readonly port: number;
  readonly instance: number;
  readonly backups?: readonly Required<BackupReplicaValue>[];
}

export interface MulticastGroupInput {
  readonly groupId?: number;
  readonly replicas?: readonly ReplicaValue[];
  readonly metadata?: Uint8Array;
}

export interface DecodedMulticastGroup {
  readonly groupId: number;
  readonly replicas: readonly DecodedReplica[];
}

export interface CloneSessionInput {
  readonly sessionId?: number;
  readonly replicas?: readonly ReplicaValue[];
  readonly classOfService?: number;
  readonly packetLengthBytes?: number;
}

export interface DecodedCloneSession {
  readonly sessionId: number;
  readonly replicas: readonly DecodedReplica[];
  readonly classOfService: number;
  readonly packetLengthBytes: number;
}

function checkPortAndInstance(port: number, instance: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffffffff)
    throw new P4ValueError(`${what} port ${port} is not a 32-bit port number`, "port");
  if (!Number.isInteger(instance) || instance < 0 || instance > 0xffffffff)
    throw new P4ValueError(`${what} instance ${instance} is not a 32-bit number`, "instance");
}

function encodeReplica(r: ReplicaValue, portEncoding: ReplicaPortEncoding): Replica {
  const instance = r.instance ?? 0;
  checkPortAndInstance(r.port, instance, "replica");
  const backups = (r.backups ?? []).map((b, i) => {
    const bi = b.instance ?? 0;
    checkPortAndInstance(b.port, bi, `replica (port ${r.port}, instance ${instance}) backup ${i}:`);
    return create(BackupReplicaSchema, { port: encodeUnsigned(BigInt(b.port), 32), instance: bi });
  });
  return create(ReplicaSchema, {
    instance,
    portKind:
      portEncoding === "bytes" ? { case: "port", value: encodeUnsigned(BigInt(r.port), 32) } : { case: "egressPort", value: r.port },
    backupReplicas: backups,
  });
}

export function decodeReplica(r: Replica): DecodedReplica {
  const port =
    r.portKind.case === "port"
      ? Number(decodeUnsigned(r.portKind.value, 32, "replica port"))
      : r.portKind.case === "egressPort"
        ? r.portKind.value
        : 0;
  if (r.backupReplicas.length === 0) return { port, instance: r.instance };
  const backups = r.backupReplicas.map((b) => ({ port: Number(decodeUnsigned(b.port, 32, "backup replica port")), instance: b.instance }));
  return { port, instance: r.instance, backups };
}

/**
 * A replica set as canonical text, independent of replica order (backups
 * keep theirs: it is the order of use): "[1:1, 2:2 (3:515)]". Equal texts,
 * equal groups.
 */
export function replicaSetText(replicas: readonly ReplicaValue[]): string {
  const one = (r: ReplicaValue) => {
    const base = `${r.port}:${r.instance ?? 0}`;
    const backups = r.backups ?? [];
    return backups.length === 0 ? base : `${base} (${backups.map((b) => `${b.port}:${b.instance ?? 0}`).join(" ")})`;
  };
  return `[${[...replicas]
    .sort((a, b) => a.port - b.port || (a.instance ?? 0) - (b.instance ?? 0))
    .map(one)
    .join(", ")}]`;
}

function checkReplicas(replicas: readonly ReplicaValue[], what: string): void {
  const seen = new Set<string>();
  for (const r of replicas) {
    const key = `${r.port}/${r.instance ?? 0}`;
    if (seen.has(key)) throw new P4ValueError(`${what}: replica (port ${r.port}, instance ${r.instance ?? 0}) is listed twice`);
    seen.add(key);
  }
}

export function encodeMulticastGroup(
  input: MulticastGroupInput,
  portEncoding: ReplicaPortEncoding = "bytes",
  forRead = false,
): MulticastGroupEntry {
  if (!forRead && !input.groupId) throw new P4ValueError("a multicast group needs a groupId > 0");
  const replicas = input.replicas ?? [];
  checkReplicas(replicas, `multicast group ${input.groupId}`);
  return create(MulticastGroupEntrySchema, {
    multicastGroupId: input.groupId ?? 0,
    replicas: replicas.map((r) => encodeReplica(r, portEncoding)),
    ...(input.metadata ? { metadata: input.metadata } : {}),
  });
}

export function decodeMulticastGroup(e: MulticastGroupEntry): DecodedMulticastGroup {
  return { groupId: e.multicastGroupId, replicas: e.replicas.map(decodeReplica) };
}

export function encodeCloneSession(
  input: CloneSessionInput,
  portEncoding: ReplicaPortEncoding = "bytes",
  forRead = false,
): CloneSessionEntry {
  if (!forRead && !input.sessionId) throw new P4ValueError("a clone session needs a sessionId > 0");
  const replicas = input.replicas ?? [];
  checkReplicas(replicas, `clone session ${input.sessionId}`);
  const withBackups = replicas.find((r) => (r.backups?.length ?? 0) > 0);
  if (withBackups)
    throw new P4ValueError(
      `clone session ${input.sessionId}: replica (port ${withBackups.port}) has backups; only multicast group replicas can`,
    );
  return create(CloneSessionEntrySchema, {
    sessionId: input.sessionId ?? 0,
    replicas: replicas.map((r) => encodeReplica(r, portEncoding)),
    classOfService: input.classOfService ?? 0,
    packetLengthBytes: input.packetLengthBytes ?? 0,
  });
}

export function decodeCloneSession(e: CloneSessionEntry): DecodedCloneSession {
  return {
    sessionId: e.sessionId,
    replicas: e.replicas.map(decodeReplica),
    classOfService: e.classOfService,
    packetLengthBytes: e.packetLengthBytes,
  };
}
