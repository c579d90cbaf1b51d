/**
 * Hand-written protobuf encoders for the messages a WriteRequest carries:
 * Update, Entity and every entity family (table entries with all match
 * kinds, direct actions, members, groups and one-shot action sets,
 * priority, metadata, idle timeout, counter and meter data; action-profile
 * members and groups; meters, counters, PRE entries, value sets, registers,
 * digests, P4Data). They write exactly what protobuf-es's toBinary writes
 * for the same message (fields in number order, implicit-presence zeros
 * left out, oneof members always written, unknown fields last), only
 * without reflection. test/client/wire.test.ts proves byte equality on
 * random messages and checks that every field of every schema is covered.
 *
 * A value outside its field's range (a non-integer uint32, an int64 given
 * as a string...) makes the encoder throw `Unencodable`; the entry points
 * then fall back to toBinary, which encodes it or raises its usual error.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import {
  type Action,
  type ActionProfileAction,
  type ActionProfileActionSet,
  type ActionProfileGroup,
  type ActionProfileMember,
  type BackupReplica,
  type CloneSessionEntry,
  type CounterData,
  type CounterEntry,
  type DigestEntry,
  type DirectCounterEntry,
  type DirectMeterEntry,
  type Entity,
  EntitySchema,
  type ExternEntry,
  type FieldMatch,
  type Index,
  type MeterConfig,
  type MeterCounterData,
  type MeterEntry,
  type MulticastGroupEntry,
  type PacketReplicationEngineEntry,
  type RegisterEntry,
  type Replica,
  type TableAction,
  type TableEntry,
  TableEntrySchema,
  type Uint128,
  type Update,
  UpdateSchema,
  type ValueSetEntry,
  type WriteRequest,
  WriteRequestSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { P4Data, P4Header, P4HeaderUnion, P4StructLike } from "../../proto/gen/p4/v1/p4data_pb.js";
import { Unencodable, WireWriter } from "./writer.js";

type Unknown = { readonly no: number; readonly wireType: number; readonly data: Uint8Array }[] | undefined;

/** Unknown fields are written last, as toBinary does. */
function unknown(w: WireWriter, m: { $unknown?: Unknown }): void {
  const u = m.$unknown;
  if (!u) return;
  for (const f of u) {
    w.tag(f.no, f.wireType);
    w.raw(f.data);
  }
}

function sub<T>(w: WireWriter, field: number, m: T | undefined, write: (w: WireWriter, m: T) => void): void {
  if (m === undefined) return;
  const mark = w.fork(field);
  write(w, m);
  w.join(mark);
}

function list<T>(w: WireWriter, field: number, items: readonly T[], write: (w: WireWriter, m: T) => void): void {
  for (const m of items) {
    const mark = w.fork(field);
    write(w, m);
    w.join(mark);
  }
}

export function writeAny(w: WireWriter, m: Any): void {
  w.string(1, m.typeUrl);
  w.bytes(2, m.value);
  unknown(w, m);
}

function writeUint128(w: WireWriter, m: Uint128): void {
  w.uint64(1, m.high);
  w.uint64(2, m.low);
  unknown(w, m);
}

export function writeWriteRequest(w: WireWriter, m: WriteRequest): void {
  w.uint64(1, m.deviceId);
  w.uint64(2, m.roleId);
  sub(w, 3, m.electionId, writeUint128);
  list(w, 4, m.updates, writeUpdate);
  w.int32(5, m.atomicity);
  w.string(6, m.role);
  unknown(w, m);
}

export function writeUpdate(w: WireWriter, m: Update): void {
  w.int32(1, m.type);
  sub(w, 2, m.entity, writeEntity);
  unknown(w, m);
}

export function writeEntity(w: WireWriter, m: Entity): void {
  const e = m.entity;
  switch (e.case) {
    case undefined:
      break;
    case "externEntry":
      sub(w, 1, e.value, writeExternEntry);
      break;
    case "tableEntry":
      sub(w, 2, e.value, writeTableEntry);
      break;
    case "actionProfileMember":
      sub(w, 3, e.value, writeActionProfileMember);
      break;
    case "actionProfileGroup":
      sub(w, 4, e.value, writeActionProfileGroup);
      break;
    case "meterEntry":
      sub(w, 5, e.value, writeMeterEntry);
      break;
    case "directMeterEntry":
      sub(w, 6, e.value, writeDirectMeterEntry);
      break;
    case "counterEntry":
      sub(w, 7, e.value, writeCounterEntry);
      break;
    case "directCounterEntry":
      sub(w, 8, e.value, writeDirectCounterEntry);
      break;
    case "packetReplicationEngineEntry":
      sub(w, 9, e.value, writePreEntry);
      break;
    case "valueSetEntry":
      sub(w, 10, e.value, writeValueSetEntry);
      break;
    case "registerEntry":
      sub(w, 11, e.value, writeRegisterEntry);
      break;
    case "digestEntry":
      sub(w, 12, e.value, writeDigestEntry);
      break;
    default:
      throw new Unencodable(`entity case ${String((e as { case: unknown }).case)}`);
  }
  unknown(w, m);
}

function writeExternEntry(w: WireWriter, m: ExternEntry): void {
  w.uint32(1, m.externTypeId);
  w.uint32(2, m.externId);
  sub(w, 3, m.entry, writeAny);
  unknown(w, m);
}

export function writeTableEntry(w: WireWriter, m: TableEntry): void {
  w.uint32(1, m.tableId);
  list(w, 2, m.match, writeFieldMatch);
  sub(w, 3, m.action, writeTableAction);
  w.int32(4, m.priority);
  w.uint64(5, m.controllerMetadata);
  sub(w, 6, m.meterConfig, writeMeterConfig);
  sub(w, 7, m.counterData, writeCounterData);
  w.bool(8, m.isDefaultAction);
  w.int64(9, m.idleTimeoutNs);
  if (m.timeSinceLastHit !== undefined) {
    const t = m.timeSinceLastHit;
    const mark = w.fork(10);
    w.int64(1, t.elapsedNs);
    unknown(w, t);
    w.join(mark);
  }
  w.bytes(11, m.metadata);
  sub(w, 12, m.meterCounterData, writeMeterCounterData);
  w.bool(13, m.isConst);
  unknown(w, m);
}

/** The identity of a table entry: table id, match, priority and the default flag (what the coalescer orders by). */
export function writeTableEntryKey(w: WireWriter, m: TableEntry): void {
  w.uint32(1, m.tableId);
  list(w, 2, m.match, writeFieldMatch);
  w.int32(4, m.priority);
  w.bool(8, m.isDefaultAction);
}

export function writeFieldMatch(w: WireWriter, m: FieldMatch): void {
  w.uint32(1, m.fieldId);
  const t = m.fieldMatchType;
  switch (t.case) {
    case undefined:
      break;
    case "exact": {
      const mark = w.fork(2);
      w.bytes(1, t.value.value);
      unknown(w, t.value);
      w.join(mark);
      break;
    }
    case "ternary": {
      const mark = w.fork(3);
      w.bytes(1, t.value.value);
      w.bytes(2, t.value.mask);
      unknown(w, t.value);
      w.join(mark);
      break;
    }
    case "lpm": {
      const mark = w.fork(4);
      w.bytes(1, t.value.value);
      w.int32(2, t.value.prefixLen);
      unknown(w, t.value);
      w.join(mark);
      break;
    }
    case "range": {
      const mark = w.fork(6);
      w.bytes(1, t.value.low);
      w.bytes(2, t.value.high);
      unknown(w, t.value);
      w.join(mark);
      break;
    }
    case "optional": {
      const mark = w.fork(7);
      w.bytes(1, t.value.value);
      unknown(w, t.value);
      w.join(mark);
      break;
    }
    case "other":
      sub(w, 100, t.value, writeAny);
      break;
    default:
      throw new Unencodable(`field match case ${String((t as { case: unknown }).case)}`);
  }
  unknown(w, m);
}

function writeTableAction(w: WireWriter, m: TableAction): void {
  const t = m.type;
  switch (t.case) {
    case undefined:
      break;
    case "action":
      sub(w, 1, t.value, writeAction);
      break;
    case "actionProfileMemberId":
      w.uint32Always(2, t.value);
      break;
    case "actionProfileGroupId":
      w.uint32Always(3, t.value);
      break;
    case "actionProfileActionSet":
      sub(w, 4, t.value, writeActionSet);
      break;
    default:
      throw new Unencodable(`table action case ${String((t as { case: unknown }).case)}`);
  }
  unknown(w, m);
}

export function writeAction(w: WireWriter, m: Action): void {
  w.uint32(1, m.actionId);
  for (const p of m.params) {
    const mark = w.fork(4);
    w.uint32(2, p.paramId);
    w.bytes(3, p.value);
    unknown(w, p);
    w.join(mark);
  }
  unknown(w, m);
}

function writeActionSet(w: WireWriter, m: ActionProfileActionSet): void {
  list(w, 1, m.actionProfileActions, writeProfileAction);
  w.int32(2, m.actionSelectionMode);
  w.int32(3, m.sizeSemantics);
  unknown(w, m);
}

function writeWatch(w: WireWriter, k: ActionProfileAction["watchKind"]): void {
  switch (k.case) {
    case undefined:
      break;
    case "watch":
      w.int32Always(3, k.value);
      break;
    case "watchPort":
      w.bytesAlways(4, k.value);
      break;
    default:
      throw new Unencodable(`watch kind case ${String((k as { case: unknown }).case)}`);
  }
}

function writeProfileAction(w: WireWriter, m: ActionProfileAction): void {
  sub(w, 1, m.action, writeAction);
  w.int32(2, m.weight);
  writeWatch(w, m.watchKind);
  unknown(w, m);
}

function writeActionProfileMember(w: WireWriter, m: ActionProfileMember): void {
  w.uint32(1, m.actionProfileId);
  w.uint32(2, m.memberId);
  sub(w, 3, m.action, writeAction);
  unknown(w, m);
}

function writeActionProfileGroup(w: WireWriter, m: ActionProfileGroup): void {
  w.uint32(1, m.actionProfileId);
  w.uint32(2, m.groupId);
  for (const x of m.members) {
    const mark = w.fork(3);
    w.uint32(1, x.memberId);
    w.int32(2, x.weight);
    writeWatch(w, x.watchKind);
    unknown(w, x);
    w.join(mark);
  }
  w.int32(4, m.maxSize);
  unknown(w, m);
}

function writeIndex(w: WireWriter, m: Index): void {
  w.int64(1, m.index);
  unknown(w, m);
}

function writeMeterEntry(w: WireWriter, m: MeterEntry): void {
  w.uint32(1, m.meterId);
  sub(w, 2, m.index, writeIndex);
  sub(w, 3, m.config, writeMeterConfig);
  sub(w, 4, m.counterData, writeMeterCounterData);
  unknown(w, m);
}

function writeDirectMeterEntry(w: WireWriter, m: DirectMeterEntry): void {
  sub(w, 1, m.tableEntry, writeTableEntry);
  sub(w, 2, m.config, writeMeterConfig);
  sub(w, 3, m.counterData, writeMeterCounterData);
  unknown(w, m);
}

export function writeMeterConfig(w: WireWriter, m: MeterConfig): void {
  w.int64(1, m.cir);
  w.int64(2, m.cburst);
  w.int64(3, m.pir);
  w.int64(4, m.pburst);
  w.int64(5, m.eburst);
  unknown(w, m);
}

function writeCounterEntry(w: WireWriter, m: CounterEntry): void {
  w.uint32(1, m.counterId);
  sub(w, 2, m.index, writeIndex);
  sub(w, 3, m.data, writeCounterData);
  unknown(w, m);
}

function writeDirectCounterEntry(w: WireWriter, m: DirectCounterEntry): void {
  sub(w, 1, m.tableEntry, writeTableEntry);
  sub(w, 2, m.data, writeCounterData);
  unknown(w, m);
}

export function writeCounterData(w: WireWriter, m: CounterData): void {
  w.int64(1, m.byteCount);
  w.int64(2, m.packetCount);
  unknown(w, m);
}

export function writeMeterCounterData(w: WireWriter, m: MeterCounterData): void {
  sub(w, 1, m.green, writeCounterData);
  sub(w, 2, m.yellow, writeCounterData);
  sub(w, 3, m.red, writeCounterData);
  unknown(w, m);
}

function writePreEntry(w: WireWriter, m: PacketReplicationEngineEntry): void {
  const t = m.type;
  switch (t.case) {
    case undefined:
      break;
    case "multicastGroupEntry":
      sub(w, 1, t.value, writeMulticastGroup);
      break;
    case "cloneSessionEntry":
      sub(w, 2, t.value, writeCloneSession);
      break;
    default:
      throw new Unencodable(`PRE entry case ${String((t as { case: unknown }).case)}`);
  }
  unknown(w, m);
}

function writeBackupReplica(w: WireWriter, m: BackupReplica): void {
  w.bytes(1, m.port);
  w.uint32(2, m.instance);
  unknown(w, m);
}

function writeReplica(w: WireWriter, m: Replica): void {
  const k = m.portKind;
  if (k.case !== undefined && k.case !== "egressPort" && k.case !== "port") throw new Unencodable(`replica port case ${String((k as { case: unknown }).case)}`);
  if (k.case === "egressPort") w.uint32Always(1, k.value);
  w.uint32(2, m.instance);
  if (k.case === "port") w.bytesAlways(3, k.value);
  list(w, 4, m.backupReplicas, writeBackupReplica);
  unknown(w, m);
}

function writeMulticastGroup(w: WireWriter, m: MulticastGroupEntry): void {
  w.uint32(1, m.multicastGroupId);
  list(w, 2, m.replicas, writeReplica);
  w.bytes(3, m.metadata);
  unknown(w, m);
}

function writeCloneSession(w: WireWriter, m: CloneSessionEntry): void {
  w.uint32(1, m.sessionId);
  list(w, 2, m.replicas, writeReplica);
  w.uint32(3, m.classOfService);
  w.int32(4, m.packetLengthBytes);
  unknown(w, m);
}

function writeValueSetEntry(w: WireWriter, m: ValueSetEntry): void {
  w.uint32(1, m.valueSetId);
  for (const x of m.members) {
    const mark = w.fork(2);
    list(w, 1, x.match, writeFieldMatch);
    unknown(w, x);
    w.join(mark);
  }
  unknown(w, m);
}

function writeRegisterEntry(w: WireWriter, m: RegisterEntry): void {
  w.uint32(1, m.registerId);
  sub(w, 2, m.index, writeIndex);
  sub(w, 3, m.data, writeP4Data);
  unknown(w, m);
}

function writeDigestEntry(w: WireWriter, m: DigestEntry): void {
  w.uint32(1, m.digestId);
  if (m.config !== undefined) {
    const c = m.config;
    const mark = w.fork(2);
    w.int64(1, c.maxTimeoutNs);
    w.int32(2, c.maxListSize);
    w.int64(3, c.ackTimeoutNs);
    unknown(w, c);
    w.join(mark);
  }
  unknown(w, m);
}

export function writeP4Data(w: WireWriter, m: P4Data): void {
  const d = m.data;
  switch (d.case) {
    case undefined:
      break;
    case "bitstring":
      w.bytesAlways(1, d.value);
      break;
    case "varbit": {
      const mark = w.fork(2);
      w.bytes(1, d.value.bitstring);
      w.int32(2, d.value.bitwidth);
      unknown(w, d.value);
      w.join(mark);
      break;
    }
    case "bool":
      if (typeof d.value !== "boolean") throw new Unencodable("bool value is not a boolean");
      w.tag(3, 0);
      w.varint(d.value ? 1 : 0);
      break;
    case "tuple":
      sub(w, 4, d.value, writeStructLike);
      break;
    case "struct":
      sub(w, 5, d.value, writeStructLike);
      break;
    case "header":
      sub(w, 6, d.value, writeHeader);
      break;
    case "headerUnion":
      sub(w, 7, d.value, writeHeaderUnion);
      break;
    case "headerStack": {
      const mark = w.fork(8);
      list(w, 1, d.value.entries, writeHeader);
      unknown(w, d.value);
      w.join(mark);
      break;
    }
    case "headerUnionStack": {
      const mark = w.fork(9);
      list(w, 1, d.value.entries, writeHeaderUnion);
      unknown(w, d.value);
      w.join(mark);
      break;
    }
    case "enum":
      w.stringAlways(10, d.value);
      break;
    case "error":
      w.stringAlways(11, d.value);
      break;
    case "enumValue":
      w.bytesAlways(12, d.value);
      break;
    default:
      throw new Unencodable(`P4Data case ${String((d as { case: unknown }).case)}`);
  }
  unknown(w, m);
}

function writeStructLike(w: WireWriter, m: P4StructLike): void {
  list(w, 1, m.members, writeP4Data);
  unknown(w, m);
}

function writeHeader(w: WireWriter, m: P4Header): void {
  w.bool(1, m.isValid);
  for (const b of m.bitstrings) w.bytesAlways(2, b);
  unknown(w, m);
}

function writeHeaderUnion(w: WireWriter, m: P4HeaderUnion): void {
  w.string(1, m.validHeaderName);
  sub(w, 2, m.validHeader, writeHeader);
  unknown(w, m);
}

/**
 * Field numbers each hand-written encoder covers, by message type name; the
 * wire test fails when a schema gains a field that is not listed here.
 */
export const coveredFields: Readonly<Record<string, readonly number[]>> = {
  "p4.v1.WriteRequest": [1, 2, 3, 4, 5, 6],
  "p4.v1.Uint128": [1, 2],
  "p4.v1.Update": [1, 2],
  "p4.v1.Entity": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  "p4.v1.ExternEntry": [1, 2, 3],
  "google.protobuf.Any": [1, 2],
  "p4.v1.TableEntry": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  "p4.v1.TableEntry.IdleTimeout": [1],
  "p4.v1.FieldMatch": [1, 2, 3, 4, 6, 7, 100],
  "p4.v1.FieldMatch.Exact": [1],
  "p4.v1.FieldMatch.Ternary": [1, 2],
  "p4.v1.FieldMatch.LPM": [1, 2],
  "p4.v1.FieldMatch.Range": [1, 2],
  "p4.v1.FieldMatch.Optional": [1],
  "p4.v1.TableAction": [1, 2, 3, 4],
  "p4.v1.Action": [1, 4],
  "p4.v1.Action.Param": [2, 3],
  "p4.v1.ActionProfileActionSet": [1, 2, 3],
  "p4.v1.ActionProfileAction": [1, 2, 3, 4],
  "p4.v1.ActionProfileMember": [1, 2, 3],
  "p4.v1.ActionProfileGroup": [1, 2, 3, 4],
  "p4.v1.ActionProfileGroup.Member": [1, 2, 3, 4],
  "p4.v1.Index": [1],
  "p4.v1.MeterEntry": [1, 2, 3, 4],
  "p4.v1.DirectMeterEntry": [1, 2, 3],
  "p4.v1.MeterConfig": [1, 2, 3, 4, 5],
  "p4.v1.CounterEntry": [1, 2, 3],
  "p4.v1.DirectCounterEntry": [1, 2],
  "p4.v1.CounterData": [1, 2],
  "p4.v1.MeterCounterData": [1, 2, 3],
  "p4.v1.PacketReplicationEngineEntry": [1, 2],
  "p4.v1.BackupReplica": [1, 2],
  "p4.v1.Replica": [1, 2, 3, 4],
  "p4.v1.MulticastGroupEntry": [1, 2, 3],
  "p4.v1.CloneSessionEntry": [1, 2, 3, 4],
  "p4.v1.ValueSetMember": [1],
  "p4.v1.ValueSetEntry": [1, 2],
  "p4.v1.RegisterEntry": [1, 2, 3],
  "p4.v1.DigestEntry": [1, 2],
  "p4.v1.DigestEntry.Config": [1, 2, 3],
  "p4.v1.P4Data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  "p4.v1.P4Varbit": [1, 2],
  "p4.v1.P4StructLike": [1],
  "p4.v1.P4Header": [1, 2],
  "p4.v1.P4HeaderUnion": [1, 2],
  "p4.v1.P4HeaderStack": [1],
  "p4.v1.P4HeaderUnionStack": [1],
};

const scratch = new WireWriter(4096);

function encodeWith<T>(write: (w: WireWriter, m: T) => void, m: T, fallback: () => Uint8Array): Uint8Array {
  const w = scratch.reset();
  try {
    write(w, m);
  } catch (e) {
    if (e instanceof Unencodable) return fallback();
    throw e;
  }
  return w.finish();
}

/** toBinary(WriteRequestSchema, m), faster. */
export function encodeWriteRequest(m: WriteRequest): Uint8Array {
  return encodeWith(writeWriteRequest, m, () => toBinary(WriteRequestSchema, m));
}

/** toBinary(UpdateSchema, m), faster. */
export function encodeUpdate(m: Update): Uint8Array {
  return encodeWith(writeUpdate, m, () => toBinary(UpdateSchema, m));
}

/** toBinary(EntitySchema, m), faster. */
export function encodeEntityMessage(m: Entity): Uint8Array {
  return encodeWith(writeEntity, m, () => toBinary(EntitySchema, m));
}

/** toBinary(TableEntrySchema, m), faster. */
export function encodeTableEntryMessage(m: TableEntry): Uint8Array {
  return encodeWith(writeTableEntry, m, () => toBinary(TableEntrySchema, m));
}

/** The bytes of a TableEntry holding only `m`'s key fields (see writeTableEntryKey). */
export function encodeTableEntryKey(m: TableEntry): Uint8Array {
  return encodeWith(writeTableEntryKey, m, () =>
    toBinary(TableEntrySchema, create(TableEntrySchema, { tableId: m.tableId, match: m.match, priority: m.priority, isDefaultAction: m.isDefaultAction })),
  );
}
