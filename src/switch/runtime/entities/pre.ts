/** Multicast group and clone session entries of the packet replication engine. */
import { create } from "@bufbuild/protobuf";
import {
  type CloneSessionEntry,
  CloneSessionEntrySchema,
  type MulticastGroupEntry,
  MulticastGroupEntrySchema,
  type Replica,
  ReplicaSchema,
  Update_Type,
} from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import type { Replica as EngineReplica } from "../../engine/runtime-api.js";
import { decodeUnsigned, encodeUnsigned } from "../../../client/codec/bytestring.js";
import { alreadyExists, invalid, notFound, unimplemented } from "../status.js";
import type { RuntimeState, UndoLog } from "./context.js";

function toEngineReplicas(replicas: readonly Replica[], what: string): { list: EngineReplica[]; uint32: boolean } {
  let uint32 = false;
  const seen = new Set<string>();
  const list = replicas.map((r) => {
    let port: number;
    if (r.portKind.case === "egressPort") {
      port = r.portKind.value;
      uint32 = true;
    } else if (r.portKind.case === "port") {
      if (r.portKind.value.length === 0 || r.portKind.value.length > 4) throw invalid(`${what}: replica port must be 1 to 4 bytes`);
      port = Number(decodeUnsigned(r.portKind.value));
    } else {
      throw invalid(`${what}: replica without a port`);
    }
    if (r.backupReplicas.length > 0) throw unimplemented(`${what}: backup replicas are not supported`);
    const key = `${port}/${r.instance}`;
    if (seen.has(key)) throw invalid(`${what}: replica (port ${port}, instance ${r.instance}) is listed twice`);
    seen.add(key);
    return { port, rid: r.instance };
  });
  return { list, uint32 };
}

function toReplicas(list: readonly EngineReplica[], uint32: boolean): Replica[] {
  return list.map((r) =>
    create(ReplicaSchema, { instance: r.rid, portKind: uint32 ? { case: "egressPort", value: r.port } : { case: "port", value: encodeUnsigned(BigInt(r.port), 32) } }),
  );
}

export function writeMulticastGroup(st: RuntimeState, type: Update_Type, e: MulticastGroupEntry, undo: UndoLog): void {
  const engine = st.pipeline.engine;
  const id = e.multicastGroupId;
  const what = `multicast group ${id}`;
  if (id === 0) throw invalid("multicast group id 0 is not valid");
  const before = engine.getMulticastGroup(id);
  const wasUint32 = st.uint32Ports.mcast.has(id);
  const restore = () => {
    if (before) engine.setMulticastGroup(id, before);
    else engine.deleteMulticastGroup(id);
    if (wasUint32) st.uint32Ports.mcast.add(id);
    else st.uint32Ports.mcast.delete(id);
  };
  if (type === Update_Type.DELETE) {
    if (!before) throw notFound(`${what} does not exist`);
    engine.deleteMulticastGroup(id);
    st.uint32Ports.mcast.delete(id);
    undo.push(restore);
    return;
  }
  const { list, uint32 } = toEngineReplicas(e.replicas, what);
  if (type === Update_Type.INSERT && before) throw alreadyExists(`${what} already exists`);
  if (type === Update_Type.MODIFY && !before) throw notFound(`${what} does not exist`);
  if (type !== Update_Type.INSERT && type !== Update_Type.MODIFY) throw invalid(`${what}: update type must be INSERT, MODIFY or DELETE`);
  engine.setMulticastGroup(id, list);
  if (uint32) st.uint32Ports.mcast.add(id);
  else st.uint32Ports.mcast.delete(id);
  undo.push(restore);
}

export function writeCloneSession(st: RuntimeState, type: Update_Type, e: CloneSessionEntry, undo: UndoLog): void {
  const engine = st.pipeline.engine;
  const id = e.sessionId;
  const what = `clone session ${id}`;
  if (id === 0) throw invalid("clone session id 0 is not valid");
  if (e.packetLengthBytes < 0) throw invalid(`${what}: negative packet_length_bytes`);
  const before = engine.getCloneSession(id);
  const wasUint32 = st.uint32Ports.clone.has(id);
  const restore = () => {
    if (before) engine.setCloneSession(id, before);
    else engine.deleteCloneSession(id);
    if (wasUint32) st.uint32Ports.clone.add(id);
    else st.uint32Ports.clone.delete(id);
  };
  if (type === Update_Type.DELETE) {
    if (!before) throw notFound(`${what} does not exist`);
    engine.deleteCloneSession(id);
    st.uint32Ports.clone.delete(id);
    undo.push(restore);
    return;
  }
  const { list, uint32 } = toEngineReplicas(e.replicas, what);
  if (type === Update_Type.INSERT && before) throw alreadyExists(`${what} already exists`);
  if (type === Update_Type.MODIFY && !before) throw notFound(`${what} does not exist`);
  if (type !== Update_Type.INSERT && type !== Update_Type.MODIFY) throw invalid(`${what}: update type must be INSERT, MODIFY or DELETE`);
  engine.setCloneSession(id, { replicas: list, truncateBytes: e.packetLengthBytes });
  if (uint32) st.uint32Ports.clone.add(id);
  else st.uint32Ports.clone.delete(id);
  undo.push(restore);
}

export function readMulticastGroups(st: RuntimeState, q: MulticastGroupEntry): MulticastGroupEntry[] {
  const engine = st.pipeline.engine;
  const ids = q.multicastGroupId === 0 ? engine.multicastGroups() : [q.multicastGroupId];
  return ids.flatMap((id) => {
    const r = engine.getMulticastGroup(id);
    return r ? [create(MulticastGroupEntrySchema, { multicastGroupId: id, replicas: toReplicas(r, st.uint32Ports.mcast.has(id)) })] : [];
  });
}

export function readCloneSessions(st: RuntimeState, q: CloneSessionEntry): CloneSessionEntry[] {
  const engine = st.pipeline.engine;
  const ids = q.sessionId === 0 ? engine.cloneSessions() : [q.sessionId];
  return ids.flatMap((id) => {
    const s = engine.getCloneSession(id);
    return s
      ? [create(CloneSessionEntrySchema, { sessionId: id, replicas: toReplicas(s.replicas, st.uint32Ports.clone.has(id)), packetLengthBytes: s.truncateBytes })]
      : [];
  });
}
