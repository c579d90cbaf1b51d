/**
 * Multicast group and clone session entries of the packet replication
 * engine, with P4Runtime 1.5 backup replicas. The specification defines
 * backups for multicast groups; clone sessions take them under the same
 * rules (their replicas are the same message and go through the same PRE).
 */
import { create } from "@bufbuild/protobuf";
import {
  BackupReplicaSchema,
  type CloneSessionEntry,
  CloneSessionEntrySchema,
  type MulticastGroupEntry,
  MulticastGroupEntrySchema,
  type Replica,
  ReplicaSchema,
  Update_Type,
} from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import type { CloneSessionSpec, Replica as EngineReplica } from "../../engine/runtime-api.js";
import { alreadyExists, invalid, notFound } from "../status.js";
import type { RuntimeState, UndoLog } from "./context.js";
import { MAX_PORT, portFromBytes, portToBytes } from "./ports.js";

/** v1model's egress_rid is bit<16>. */
const MAX_INSTANCE = 0xffff;

interface DecodedReplicas {
  readonly list: EngineReplica[];
  /** Indexes of the replicas written with the deprecated uint32 `egress_port`. */
  readonly egressPortForm: ReadonlySet<number>;
}

function checkInstance(instance: number, what: string, field: string): void {
  if (instance > MAX_INSTANCE)
    throw invalid(`${what}: ${field}.instance ${instance} does not fit in the target's 16-bit egress_rid (0..${MAX_INSTANCE})`);
}

/**
 * Checks and converts the replicas of one PRE object: ports in range, every
 * (port, instance) pair of the replicas and their backups once, no backup
 * on its replica's port.
 */
function decodeReplicas(replicas: readonly Replica[], what: string): DecodedReplicas {
  const egressPortForm = new Set<number>();
  /** (port, instance) → the field that has it. */
  const seen = new Map<string, string>();
  const once = (port: number, instance: number, field: string) => {
    const key = `${port}/${instance}`;
    const first = seen.get(key);
    if (first !== undefined) throw invalid(`${what}: ${field} (port ${port}, instance ${instance}) repeats ${first}`);
    seen.set(key, field);
  };
  const list = replicas.map((r, i): EngineReplica => {
    const field = `replicas[${i}]`;
    let port: number;
    if (r.portKind.case === "egressPort") {
      port = r.portKind.value;
      egressPortForm.add(i);
      if (port > MAX_PORT) throw invalid(`${what}: ${field}.egress_port ${port} is outside the target's ports 0..${MAX_PORT}`);
    } else if (r.portKind.case === "port") {
      port = portFromBytes(r.portKind.value, what, `${field}.port`);
    } else {
      throw invalid(`${what}: ${field} has no port`);
    }
    checkInstance(r.instance, what, field);
    once(port, r.instance, field);
    const backups = r.backupReplicas.map((b, j) => {
      const bf = `${field}.backup_replicas[${j}]`;
      const bport = portFromBytes(b.port, what, `${bf}.port`);
      if (bport === port) throw invalid(`${what}: ${bf}.port ${bport} is the port of the replica it backs up`);
      checkInstance(b.instance, what, bf);
      once(bport, b.instance, bf);
      return { port: bport, rid: b.instance };
    });
    return backups.length > 0 ? { port, rid: r.instance, backups } : { port, rid: r.instance };
  });
  return { list, egressPortForm };
}

/** The replicas as written: each port in the form it came in, backups in order. */
function encodeReplicas(list: readonly EngineReplica[], egressPortForm: ReadonlySet<number> | undefined): Replica[] {
  return list.map((r, i) =>
    create(ReplicaSchema, {
      instance: r.rid,
      portKind: egressPortForm?.has(i) ? { case: "egressPort", value: r.port } : { case: "port", value: portToBytes(r.port) },
      backupReplicas: (r.backups ?? []).map((b) => create(BackupReplicaSchema, { port: portToBytes(b.port), instance: b.rid })),
    }),
  );
}

/** The operations shared by multicast groups and clone sessions. */
interface PreTable<V> {
  readonly what: string;
  get(id: number): V | undefined;
  set(id: number, value: V): void;
  remove(id: number): void;
  /** Per id, the replicas written with the uint32 `egress_port` form (echoed back in reads). */
  readonly egressPortForm: Map<number, ReadonlySet<number>>;
}

/** INSERT / MODIFY / DELETE of one PRE object, with its undo step. */
function writePre<V>(
  t: PreTable<V>,
  type: Update_Type,
  id: number,
  build: () => { value: V; egressPortForm: ReadonlySet<number> },
  undo: UndoLog,
): void {
  const what = `${t.what} ${id}`;
  if (id === 0) throw invalid(`${t.what} id 0 is not valid`);
  const before = t.get(id);
  const formBefore = t.egressPortForm.get(id);
  const setForm = (form: ReadonlySet<number> | undefined) => {
    if (form && form.size > 0) t.egressPortForm.set(id, form);
    else t.egressPortForm.delete(id);
  };
  const restore = () => {
    if (before) t.set(id, before);
    else t.remove(id);
    setForm(formBefore);
  };
  if (type === Update_Type.DELETE) {
    if (!before) throw notFound(`${what} does not exist`);
    t.remove(id);
    setForm(undefined);
    undo.push(restore);
    return;
  }
  if (type !== Update_Type.INSERT && type !== Update_Type.MODIFY) throw invalid(`${what}: update type must be INSERT, MODIFY or DELETE`);
  const { value, egressPortForm } = build();
  if (type === Update_Type.INSERT && before) throw alreadyExists(`${what} already exists`);
  if (type === Update_Type.MODIFY && !before) throw notFound(`${what} does not exist`);
  t.set(id, value);
  setForm(egressPortForm);
  undo.push(restore);
}

export function writeMulticastGroup(st: RuntimeState, type: Update_Type, e: MulticastGroupEntry, undo: UndoLog): void {
  const engine = st.pipeline.engine;
  const table: PreTable<readonly EngineReplica[]> = {
    what: "multicast group",
    get: (id) => engine.getMulticastGroup(id),
    set: (id, v) => engine.setMulticastGroup(id, v),
    remove: (id) => engine.deleteMulticastGroup(id),
    egressPortForm: st.egressPortForm.mcast,
  };
  writePre(
    table,
    type,
    e.multicastGroupId,
    () => {
      const { list, egressPortForm } = decodeReplicas(e.replicas, `multicast group ${e.multicastGroupId}`);
      return { value: list, egressPortForm };
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
    egressPortForm: st.egressPortForm.clone,
  };
  writePre(
    table,
    type,
    e.sessionId,
    () => {
      if (e.packetLengthBytes < 0) throw invalid(`clone session ${e.sessionId}: negative packet_length_bytes`);
      const { list, egressPortForm } = decodeReplicas(e.replicas, `clone session ${e.sessionId}`);
      return { value: { replicas: list, truncateBytes: e.packetLengthBytes }, egressPortForm };
    },
    undo,
  );
}

export function readMulticastGroups(st: RuntimeState, q: MulticastGroupEntry): MulticastGroupEntry[] {
  const engine = st.pipeline.engine;
  const ids = q.multicastGroupId === 0 ? engine.multicastGroups() : [q.multicastGroupId];
  return ids.flatMap((id) => {
    const r = engine.getMulticastGroup(id);
    return r
      ? [create(MulticastGroupEntrySchema, { multicastGroupId: id, replicas: encodeReplicas(r, st.egressPortForm.mcast.get(id)) })]
      : [];
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
            replicas: encodeReplicas(s.replicas, st.egressPortForm.clone.get(id)),
            packetLengthBytes: s.truncateBytes,
          }),
        ]
      : [];
  });
}
