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
import type { CloneSessionSpec, Replica as EngineReplica } from "../../engine/runtime-api.js";
import { decodeUnsigned, encodeUnsigned } from "../../../p4runtime/codec/bytestring.js";
import { alreadyExists, invalid, notFound, outOfRange, unimplemented } from "../status.js";
import type { RuntimeState, UndoLog } from "./context.js";

/** v1model's port width (standard_metadata.egress_spec is bit<9>), as on simple_switch. */
export const PORT_BITS = 9;
const MAX_PORT = (1 << PORT_BITS) - 1;

function toEngineReplicas(replicas: readonly Replica[], what: string): { list: EngineReplica[]; uint32: boolean } {
  let uint32 = false;
  const seen = new Set<string>();
  const list = replicas.map((r) => {
    let port: number;
    if (r.portKind.case === "egressPort") {
      port = r.portKind.value;
      uint32 = true;
      if (port > MAX_PORT) throw invalid(`${what}: replica egress_port ${port} is outside the target's ports 0..${MAX_PORT}`);
    } else if (r.portKind.case === "port") {
      // A bytestring of PORT_BITS bits: empty or wider is OUT_OF_RANGE ("Bytestrings").
      if (r.portKind.value.length === 0) throw outOfRange(`${what}: replica port is an empty bytestring`);
      const v = decodeUnsigned(r.portKind.value);
      if (v > BigInt(MAX_PORT))
        throw outOfRange(`${what}: replica port ${v} does not fit in the target's ${PORT_BITS}-bit ports (0..${MAX_PORT})`);
      port = Number(v);
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
    create(ReplicaSchema, {
      instance: r.rid,
      portKind: uint32 ? { case: "egressPort", value: r.port } : { case: "port", value: encodeUnsigned(BigInt(r.port), 32) },
    }),
  );
}

/** The operations shared by multicast groups and clone sessions. */
interface PreTable<V> {
  readonly what: string;
  get(id: number): V | undefined;
  set(id: number, value: V): void;
  remove(id: number): void;
  /** Ids written with the uint32 `egress_port` form (echoed back in reads). */
  readonly uint32: Set<number>;
}

/** INSERT / MODIFY / DELETE of one PRE object, with its undo step. */
function writePre<V>(t: PreTable<V>, type: Update_Type, id: number, build: () => { value: V; uint32: boolean }, undo: UndoLog): void {
  const what = `${t.what} ${id}`;
  if (id === 0) throw invalid(`${t.what} id 0 is not valid`);
  const before = t.get(id);
  const wasUint32 = t.uint32.has(id);
  const restore = () => {
    if (before) t.set(id, before);
    else t.remove(id);
    if (wasUint32) t.uint32.add(id);
    else t.uint32.delete(id);
  };
  if (type === Update_Type.DELETE) {
    if (!before) throw notFound(`${what} does not exist`);
    t.remove(id);
    t.uint32.delete(id);
    undo.push(restore);
    return;
  }
  if (type !== Update_Type.INSERT && type !== Update_Type.MODIFY) throw invalid(`${what}: update type must be INSERT, MODIFY or DELETE`);
  const { value, uint32 } = build();
  if (type === Update_Type.INSERT && before) throw alreadyExists(`${what} already exists`);
  if (type === Update_Type.MODIFY && !before) throw notFound(`${what} does not exist`);
  t.set(id, value);
  if (uint32) t.uint32.add(id);
  else t.uint32.delete(id);
  undo.push(restore);
}

export function writeMulticastGroup(st: RuntimeState, type: Update_Type, e: MulticastGroupEntry, undo: UndoLog): void {
  const engine = st.pipeline.engine;
  const table: PreTable<readonly EngineReplica[]> = {
    what: "multicast group",
    get: (id) => engine.getMulticastGroup(id),
    set: (id, v) => engine.setMulticastGroup(id, v),
    remove: (id) => engine.deleteMulticastGroup(id),
    uint32: st.uint32Ports.mcast,
  };
  writePre(
    table,
    type,
    e.multicastGroupId,
    () => {
      const { list, uint32 } = toEngineReplicas(e.replicas, `multicast group ${e.multicastGroupId}`);
      return { value: list, uint32 };
    },
    undo,
  );
}

export function writeCloneSession(st: RuntimeState, type: Update_Type, e: CloneSessionEntry, undo: UndoLog): void {
  const engine = st.pipeline.engine;
  const table: PreTable<CloneSessionSpec> = {
    what: "clone session",
    get: (id) => engine.getCloneSession(id),
    set: (id, v) => engine.setCloneSession(id, v),
    remove: (id) => engine.deleteCloneSession(id),
    uint32: st.uint32Ports.clone,
  };
  writePre(
    table,
    type,
    e.sessionId,
    () => {
      if (e.packetLengthBytes < 0) throw invalid(`clone session ${e.sessionId}: negative packet_length_bytes`);
      const { list, uint32 } = toEngineReplicas(e.replicas, `clone session ${e.sessionId}`);
      return { value: { replicas: list, truncateBytes: e.packetLengthBytes }, uint32 };
    },
    undo,
  );
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
      ? [
          create(CloneSessionEntrySchema, {
            sessionId: id,
            replicas: toReplicas(s.replicas, st.uint32Ports.clone.has(id)),
            packetLengthBytes: s.truncateBytes,
          }),
        ]
      : [];
  });
}
