/**
 * Packet replication engine entries: multicast groups and clone sessions.
 * A replica is an egress port plus an instance number (egress_rid on
 * v1model). Ports are sent in the `port` bytes field of P4Runtime 1.4 unless
 * the client is set to the older uint32 `egress_port` form.
 */
import { create } from "@bufbuild/protobuf";
import { P4ValueError } from "../../p4runtime/errors.js";
import { decodeUnsigned, encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import {
  type CloneSessionEntry,
  CloneSessionEntrySchema,
  type MulticastGroupEntry,
  MulticastGroupEntrySchema,
  type Replica,
  ReplicaSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";

export type ReplicaPortEncoding = "bytes" | "uint32";

export interface ReplicaValue {
  readonly port: number;
  readonly instance?: number;
}

export interface MulticastGroupInput {
  readonly groupId?: number;
  readonly replicas?: readonly ReplicaValue[];
  readonly metadata?: Uint8Array;
}

export interface DecodedMulticastGroup {
  readonly groupId: number;
  readonly replicas: readonly Required<ReplicaValue>[];
}

export interface CloneSessionInput {
  readonly sessionId?: number;
  readonly replicas?: readonly ReplicaValue[];
  readonly classOfService?: number;
  readonly packetLengthBytes?: number;
}

export interface DecodedCloneSession {
  readonly sessionId: number;
  readonly replicas: readonly Required<ReplicaValue>[];
  readonly classOfService: number;
  readonly packetLengthBytes: number;
}

function encodeReplica(r: ReplicaValue, portEncoding: ReplicaPortEncoding): Replica {
  if (!Number.isInteger(r.port) || r.port < 0 || r.port > 0xffffffff)
    throw new P4ValueError(`replica port ${r.port} is not a 32-bit port number`, "port");
  const instance = r.instance ?? 0;
  if (!Number.isInteger(instance) || instance < 0 || instance > 0xffffffff)
    throw new P4ValueError(`replica instance ${instance} is not a 32-bit number`, "instance");
  return create(ReplicaSchema, {
    instance,
    portKind:
      portEncoding === "bytes" ? { case: "port", value: encodeUnsigned(BigInt(r.port), 32) } : { case: "egressPort", value: r.port },
  });
}

export function decodeReplica(r: Replica): Required<ReplicaValue> {
  const port =
    r.portKind.case === "port"
      ? Number(decodeUnsigned(r.portKind.value, 32, "replica port"))
      : r.portKind.case === "egressPort"
        ? r.portKind.value
        : 0;
  return { port, instance: r.instance };
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
