/**
 * Table-entry updates straight from the friendly input to wire bytes: the
 * write path's hot case (insert/modify/delete of an entry with a direct
 * action, member or group) without building protobuf-es messages. P4Info
 * lookups are resolved once per table, match field and action name and
 * cached in plans; plain numbers are encoded without bigints.
 *
 * The fast path never raises a validation error of its own: whenever the
 * input is anything it does not handle, or anything the general encoder
 * (entities/table-entry.ts) would reject, it declines (undefined / false,
 * writing nothing) and the caller runs the general encoder, which produces
 * the result or the one documented error. For accepted input the bytes are exactly
 * toBinary(UpdateSchema, create(UpdateSchema, { type, entity:
 * encodeEntity(...) })) — test/client/wire.test.ts checks both properties
 * on random valid and invalid entries.
 */
import type { BytestringMode } from "../../p4runtime/codec/bytestring.js";
import { byteWidth, encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import { type MatchInput, type MatchKind, parseMatch } from "../../p4runtime/codec/match.js";
import { parseValue } from "../../p4runtime/codec/values.js";
import type { EntityInput } from "../entities/entity.js";
import { encodeCounterData, encodeMeterConfig, encodeMeterCounterData } from "../entities/common.js";
import type { ActionInfo, MatchFieldInfo, P4InfoIndex, TableInfo } from "../../p4runtime/p4info/index.js";
import { writeCounterData, writeMeterConfig, writeMeterCounterData } from "./messages.js";
import { WT_LEN, WT_VARINT, WireWriter, varintSize } from "./writer.js";

/** One update, encoded: the p4.v1.Update message's bytes and the identity of the entity it touches. */
export interface EncodedUpdate {
  readonly bytes: Uint8Array;
  /** Same string as entityKey() of the update's entity: updates with equal keys touch the same entity. */
  readonly key: string;
}

/**
 * Where an encoded update lives without a view of its own: buf[start..end)
 * is the update framed as a WriteRequest `updates` field (tag, length,
 * p4.v1.Update), so consecutive updates of one buffer frame a request with
 * one copy. `hash` is keyHash() of the entity's key.
 */
export interface WireSlot {
  buf: Uint8Array;
  start: number;
  end: number;
  hash: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * A small-integer hash of an entity key (FNV-1a over its character codes).
 * Equal keys have equal hashes; the coalescer and bulk writes order by it,
 * where a collision only costs a needless wait, never a reordering.
 */
export function keyHash(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  return h & 0x3fff_ffff;
}

/**
 * Own-property test of the for-in loops over match fields and parameters:
 * Object.prototype.hasOwnProperty called on the object being enumerated,
 * which the optimizing compiler folds away (Object.hasOwn it does not).
 */
const hasOwn = Object.prototype.hasOwnProperty;

/** The running state of tableKeyHash after `h` and then b[from..to). */
function fnvBytes(h: number, b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
  return h;
}

/** tableKeyHash's state after "t" and a table's id (the start of every key of the table). */
function tableKeySeed(head: Uint8Array): number {
  return fnvBytes(Math.imul(FNV_OFFSET ^ 0x74, FNV_PRIME), head, 0, head.length);
}

/** keyHash("t" + latin1(b[from1..to1)) + latin1(b[from2..to2))), without building the string. */
function tableKeyHash(b: Uint8Array, from1: number, to1: number, from2: number, to2: number): number {
  let h = Math.imul(FNV_OFFSET ^ 0x74, FNV_PRIME);
  for (let i = from1; i < to1; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
  for (let i = from2; i < to2; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
  return h & 0x3fff_ffff;
}

interface FieldPlan {
  readonly info: MatchFieldInfo;
  readonly id: number;
  /** FieldMatch.field_id, encoded (tag and varint). */
  readonly head: Uint8Array;
  readonly kind: MatchKind;
  readonly width: number;
  /** Largest value of the field when it fits a double exactly (width ≤ 52), else -1. */
  readonly max: number;
}

interface ParamPlan {
  readonly name: string;
  readonly id: number;
  /** Action.Param.param_id, encoded. */
  readonly head: Uint8Array;
  readonly width: number;
  readonly max: number;
  /** How the general encoder names the parameter in errors. */
  readonly label: string;
}

interface ActionPlan {
  readonly id: number;
  /** Action.action_id, encoded. */
  readonly head: Uint8Array;
  readonly params: readonly ParamPlan[];
  readonly names: ReadonlySet<string>;
  /** Every parameter fits a double (width ≤ 52): numbers are written directly (see encodeDirect). */
  readonly direct: boolean;
  /** Most bytes the action takes when written directly. */
  readonly bound: number;
}

interface TablePlan {
  readonly info: TableInfo;
  readonly id: number;
  /** TableEntry.table_id, encoded. */
  readonly head: Uint8Array;
  readonly exactCount: number;
  /**
   * Entries of this table may take encodeDirect: every match field is exact
   * and fits a double, actions are direct, no priority, and the key's bytes
   * are bounded well below the slab's spare room.
   */
  readonly direct: boolean;
  /** The key hash's state after the table id (see tableKeySeed). */
  readonly keySeed: number;
  readonly fields: Map<string, FieldPlan | null>;
  /** The match field names of the last entry, in the order given, and their plans (entries of one table mostly repeat them). */
  readonly orderNames: (string | undefined)[];
  readonly orderFields: (FieldPlan | undefined)[];
  readonly actions: Map<string | number, ActionPlan | null>;
  /** One-entry caches in front of the maps (entries of one table mostly repeat names). */
  lastFieldName: string | undefined;
  lastField: FieldPlan | undefined;
  lastActionName: string | number | undefined;
  lastAction: ActionPlan | undefined;
}

const numericMax = (width: number) => (width >= 1 && width <= 52 ? 2 ** width - 1 : -1);

/** A uint32 field, encoded (nothing for 0, as protobuf leaves it out). */
function head(field: number, v: number): Uint8Array {
  const w = new WireWriter(16);
  w.uint32(field, v);
  return w.finish();
}

/** Arrays of character codes by length, reused: a key is one flat string, built without concatenation. */
const keyCodes: number[][] = [];

/** "t" + the Latin-1 string of b[from1..to1) and b[from2..to2): what entityKey() computes for the same entry. */
function tableKey(b: Uint8Array, from1: number, to1: number, from2: number, to2: number): string {
  const n = 1 + (to1 - from1) + (to2 - from2);
  if (n > 256) return "t" + Buffer.from(b.buffer, b.byteOffset + from1, to1 - from1).toString("latin1") + Buffer.from(b.buffer, b.byteOffset + from2, to2 - from2).toString("latin1");
  const codes = (keyCodes[n] ??= new Array<number>(n).fill(0));
  codes[0] = 0x74; // "t"
  let j = 1;
  for (let i = from1; i < to1; i++) codes[j++] = b[i]!;
  for (let i = from2; i < to2; i++) codes[j++] = b[i]!;
  return String.fromCharCode.apply(null, codes);
}

const NO_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({});
/** Entries with more match fields than this take the general path. */
const MAX_FIELDS = 64;
const EMPTY = new Uint8Array(0);

/** The length of the message framed at b[start] (a one-byte tag, then the varint length). */
export function framedLength(b: Uint8Array, start: number): number {
  let v = 0;
  let shift = 0;
  for (let p = start + 1; ; p++) {
    const x = b[p]!;
    v += (x & 0x7f) * 2 ** shift;
    if (x < 0x80) return v;
    shift += 7;
  }
}

/** A bail-out: the general encoder handles this input. */
const BAIL = undefined;

/** Updates are written straight into slabs of this size, one after the other. */
const SLAB = 64 * 1024;
/** Room left in a slab below which the next update starts a new one. */
const SLAB_SPARE = 4096;
/**
 * Most bytes encodeDirect writes: per match field (FieldMatch tag and length,
 * field id of up to 6 bytes, Exact tag and length, value tag and length, 8
 * value bytes), per action (TableAction and Action tags and lengths, action id)
 * and per parameter, plus the Update, Entity and TableEntry framing with room
 * for their lengths to grow to 5 bytes.
 */
const DIRECT_FIELD_BOUND = 2 + 6 + 2 + 2 + 8;
const DIRECT_ACTION_BOUND = 2 + 2 + 6 + 8;
const DIRECT_PARAM_BOUND = 2 + 6 + 2 + 8;
const DIRECT_FRAME_BOUND = 2 + 2 + 2 + 2 + 6 + 16;

/**
 * Encodes table-entry updates against one P4Info index; create one per
 * index (the plans it caches belong to that P4Info).
 */
export class TableEntryFastPath {
  private readonly tables = new Map<string | number, TablePlan | null>();
  /** Writes into the current slab; `w.pos` is where the next update starts. */
  private readonly w = new WireWriter(SLAB);
  private readonly padded: boolean;
  private lastTableKey: unknown;
  private lastTable: TablePlan | undefined;
  /** Scratch for the match fields of one entry. */
  private readonly seenIds = new Int32Array(MAX_FIELDS);
  private readonly segments = new Int32Array(MAX_FIELDS * 3);
  /** The key of the last update encoded (when asked for), read before the body can move. */
  private lastKey = "";
  private wantKey = false;

  constructor(
    readonly index: P4InfoIndex,
    mode: BytestringMode = "canonical",
  ) {
    this.padded = mode === "padded";
  }

  /**
   * The Update (type 1 insert, 2 modify, 3 delete) of a table entry, or
   * undefined when the general encoder must handle the input.
   */
  update(type: 1 | 2 | 3, input: EntityInput, keyOnly: boolean): EncodedUpdate | undefined {
    const slot: WireSlot = { buf: EMPTY, start: 0, end: 0, hash: 0 };
    this.wantKey = true;
    const ok = this.encodeTo(type, input, keyOnly, slot);
    this.wantKey = false;
    if (!ok) return BAIL;
    const b = slot.buf;
    const len = framedLength(b, slot.start);
    return { bytes: new Uint8Array(b.buffer, b.byteOffset + slot.end - len, len), key: this.lastKey };
  }

  /**
   * Encodes a table-entry update into the slab as a framed WriteRequest
   * `updates` field and describes it in `slot`; false (nothing written)
   * when the general encoder must handle the input.
   */
  encodeTo(type: 1 | 2 | 3, input: EntityInput, keyOnly: boolean, slot: WireSlot): boolean {
    if (input.kind !== "tableEntry" || input.isDefault) return false;
    const key = input.table;
    let plan: TablePlan | undefined;
    if (key === this.lastTableKey) plan = this.lastTable;
    else {
      plan = this.table(key);
      this.lastTableKey = key;
      this.lastTable = plan;
    }
    if (!plan) return false;
    const w = this.w;
    if (w.buf.length - w.pos < SLAB_SPARE) {
      w.buf = Buffer.allocUnsafeSlow(SLAB);
      w.pos = 0;
    }
    const start = w.pos;
    let ok: boolean;
    try {
      ok = plan.direct && this.encodeDirect(plan, type, input, keyOnly, slot);
      if (!ok) {
        w.pos = start;
        ok = this.encode(plan, type, input, keyOnly, slot);
      }
    } catch {
      // Anything the input does wrong is the general encoder's to report.
      ok = false;
    }
    if (!ok) {
      w.pos = start;
      return false;
    }
    slot.buf = w.buf;
    slot.start = start;
    slot.end = w.pos;
    return true;
  }

  /**
   * The common entry written straight into the slab: exact match fields
   * given as numbers, a direct action (by name, with number parameters) or
   * none, nothing else. Sizes are bounded (see DIRECT_*_BOUND) so nothing is
   * checked for room, and inner lengths are below 128, so only the outer
   * messages may need their body moved. False (the caller rewinds and runs
   * encode, which accepts or declines) for any other input: the bytes, when
   * written, are exactly what encode writes.
   */
  private encodeDirect(plan: TablePlan, type: number, input: EntityInput & { kind: "tableEntry" }, keyOnly: boolean, slot: WireSlot): boolean {
    if (
      input.priority !== undefined ||
      input.meterConfig !== undefined ||
      input.counterData !== undefined ||
      input.idleTimeoutNs !== undefined ||
      input.withTimeSinceLastHit !== undefined ||
      input.metadata !== undefined ||
      input.meterCounterData !== undefined
    ) {
      return false;
    }
    const action = input.action;
    let a: ActionPlan | undefined;
    let given: Record<string, unknown> = NO_PARAMS;
    if (action === undefined) {
      if (!keyOnly) return false;
    } else if (typeof action === "string") {
      a = this.action(plan, action);
    } else if (typeof action === "object" && action !== null && !("member" in action) && !("group" in action) && !("oneShot" in action)) {
      const name = action.name;
      if (typeof name !== "string" && typeof name !== "number") return false;
      a = this.action(plan, name);
      const params = action.params;
      if (params !== undefined) {
        if (typeof params !== "object" || params === null) return false;
        given = params as Record<string, unknown>;
      }
    } else {
      return false;
    }
    if (action !== undefined && (a === undefined || !a.direct || a.bound > SLAB_SPARE / 2)) return false;
    const match = input.match;
    if (typeof match !== "object" || match === null) return false;

    const w = this.w;
    const b = w.buf;
    const padded = this.padded;
    let p = w.pos;
    b[p] = 0x22; // WriteRequest.updates
    const mUpdate = p + 1;
    b[p + 2] = 0x08; // Update.type
    b[p + 3] = type;
    b[p + 4] = 0x12; // Update.entity
    const mEntity = p + 5;
    b[p + 6] = 0x12; // Entity.table_entry
    const mEntry = p + 7;
    p += 8;
    const keyStart = p;
    p = copy(b, p, plan.head);

    const seen = this.seenIds;
    const segs = this.segments;
    const names = plan.orderNames;
    const known = plan.orderFields;
    let fields = 0;
    for (const name in match) {
      if (!hasOwn.call(match, name) || fields === MAX_FIELDS) return false;
      let f = names[fields] === name ? known[fields] : undefined;
      if (f === undefined) {
        f = this.field(plan, name);
        if (f === undefined) return false;
        names[fields] = name;
        known[fields] = f;
      }
      for (let i = 0; i < fields; i++) if (seen[i] === f.id) return false;
      const v = (match as Record<string, unknown>)[name];
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > f.max) return false;
      const start = p;
      b[p] = 0x12; // TableEntry.match
      const mField = p + 1;
      p = copy(b, p + 2, f.head);
      const len = padded ? byteWidth(f.width) : valueLength(v);
      b[p] = 0x12; // FieldMatch.exact
      b[p + 1] = len + 2;
      b[p + 2] = 0x0a; // Exact.value
      b[p + 3] = len;
      p = writeBigEndian(b, p + 4, v, len);
      b[mField] = p - mField - 1;
      segs[fields * 3] = start;
      segs[fields * 3 + 1] = p;
      segs[fields * 3 + 2] = f.id;
      seen[fields++] = f.id;
    }
    if (fields !== plan.exactCount) return false;
    if (fields > 1) {
      w.pos = p;
      sortSegments(w, segs, fields);
    }
    const keyEnd = p;

    if (a !== undefined) {
      const params = a.params;
      let count = 0;
      for (const k in given) {
        // Parameters given in the P4Info's order (the usual case) need no set lookup.
        if (!hasOwn.call(given, k) || ((count >= params.length || params[count]!.name !== k) && !a.names.has(k))) return false;
        count++;
      }
      if (count !== params.length) return false;
      b[p] = 0x1a; // TableEntry.action
      const mTa = p + 1;
      b[p + 2] = 0x0a; // TableAction.action
      const mA = p + 3;
      p = copy(b, p + 4, a.head);
      for (let i = 0; i < params.length; i++) {
        const pp = params[i]!;
        const v = given[pp.name];
        if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > pp.max) return false;
        b[p] = 0x22; // Action.params
        const mP = p + 1;
        p = copy(b, p + 2, pp.head);
        const len = padded ? byteWidth(pp.width) : valueLength(v);
        b[p] = 0x1a; // Param.value
        b[p + 1] = len;
        p = writeBigEndian(b, p + 2, v, len);
        b[mP] = p - mP - 1;
      }
      p = joinAt(b, mA, p);
      p = joinAt(b, mTa, p);
    }

    // No priority: the key is the match fields (read before the joins move the body).
    slot.hash = fnvBytes(plan.keySeed, b, keyStart + plan.head.length, keyEnd) & 0x3fff_ffff;
    if (this.wantKey) this.lastKey = tableKey(b, keyStart, keyEnd, keyEnd, keyEnd);
    p = joinAt(b, mEntry, p);
    p = joinAt(b, mEntity, p);
    p = joinAt(b, mUpdate, p);
    w.pos = p;
    return true;
  }

  private encode(plan: TablePlan, type: number, input: EntityInput & { kind: "tableEntry" }, keyOnly: boolean, slot: WireSlot): boolean {
    const w = this.w;
    const table = plan.info;
    const mUpdate = w.fork(4); // WriteRequest.updates
    w.tag(1, WT_VARINT);
    w.varint(type);
    const mEntity = w.fork(2);
    const mEntry = w.fork(2); // Entity.table_entry
    const keyStart = w.pos;
    w.raw(plan.head);

    // Match fields, in the order given; sorted by id below.
    const match = input.match;
    let exactSeen = 0;
    let fields = 0; // fields given
    let written = 0; // segments written (don't-care fields write none)
    const seen = this.seenIds;
    const segs = this.segments; // [start, end, fieldId]*
    if (match !== undefined) {
      if (typeof match !== "object" || match === null) return false;
      for (const name in match) {
        if (!hasOwn.call(match, name)) return false;
        const f = this.field(plan, name);
        if (!f || fields === MAX_FIELDS) return false;
        for (let i = 0; i < fields; i++) if (seen[i] === f.id) return false;
        seen[fields++] = f.id;
        if (f.kind === "exact") exactSeen++;
        const start = w.pos;
        if (!this.writeMatch(w, f, match[name]!)) return false;
        if (w.pos > start) {
          segs[written * 3] = start;
          segs[written * 3 + 1] = w.pos;
          segs[written * 3 + 2] = f.id;
          written++;
        }
      }
    }
    if (exactSeen !== plan.exactCount) return false;
    if (written > 1) sortSegments(w, segs, written);
    const keyEnd = w.pos;

    // Priority (checked now, written after the action).
    let priority = 0;
    if (input.priority !== undefined) {
      const p = input.priority;
      if (!Number.isInteger(p) || p < 0 || p > 0x7fffffff) return false;
      priority = p;
    }
    if (table.needsPriority ? priority === 0 : priority !== 0) return false;

    const action = input.action;
    if (action === undefined) {
      if (!keyOnly) return false;
    } else if (typeof action === "string") {
      if (table.implementation) return false;
      if (!this.writeAction(w, plan, action, undefined)) return false;
    } else if (typeof action === "object" && action !== null) {
      if ("member" in action) {
        if (!table.implementation) return false;
        const m = w.fork(3);
        w.uint32Always(2, action.member);
        w.join(m);
      } else if ("group" in action) {
        if (!table.implementation?.withSelector) return false;
        const m = w.fork(3);
        w.uint32Always(3, action.group);
        w.join(m);
      } else if ("oneShot" in action) {
        return false;
      } else {
        if (table.implementation) return false;
        const name = action.name;
        if (typeof name !== "string" && typeof name !== "number") return false;
        if (!this.writeAction(w, plan, name, action.params)) return false;
      }
    } else {
      return false;
    }

    const prioStart = w.pos;
    w.int32(4, priority);
    const prioEnd = w.pos;

    if (input.idleTimeoutNs !== undefined) {
      const t = input.idleTimeoutNs;
      if (typeof t !== "bigint" || (t !== 0n && !table.supportsIdleTimeout)) return false;
    }
    if (input.meterConfig) {
      if (!table.directMeter) return false;
      const mark = w.fork(6);
      writeMeterConfig(w, encodeMeterConfig(input.meterConfig, `direct meter of "${table.name}"`));
      w.join(mark);
    }
    if (input.counterData) {
      if (!table.directCounter) return false;
      const mark = w.fork(7);
      writeCounterData(w, encodeCounterData(input.counterData));
      w.join(mark);
    }
    if (input.idleTimeoutNs !== undefined) w.int64(9, input.idleTimeoutNs);
    if (input.withTimeSinceLastHit) w.join(w.fork(10));
    if (input.metadata) w.bytes(11, input.metadata);
    if (input.meterCounterData) {
      const mark = w.fork(12);
      writeMeterCounterData(w, encodeMeterCounterData(input.meterCounterData));
      w.join(mark);
    }

    // The key is read before the joins move the body (they only move bytes after a mark).
    const buf = w.buf;
    slot.hash = tableKeyHash(buf, keyStart, keyEnd, prioStart, prioEnd);
    if (this.wantKey) this.lastKey = tableKey(buf, keyStart, keyEnd, prioStart, prioEnd);
    w.join(mEntry);
    w.join(mEntity);
    w.join(mUpdate);
    return true;
  }

  private writeMatch(w: WireWriter, f: FieldPlan, value: MatchInput): boolean {
    if (f.kind === "exact" && typeof value === "number" && f.max >= 0) {
      if (!Number.isSafeInteger(value) || value < 0 || value > f.max) return false;
      const mField = w.fork(2); // TableEntry.match
      w.raw(f.head);
      const mExact = w.fork(2);
      this.writeNumber(w, 1, value, f.width);
      w.join(mExact);
      w.join(mField);
      return true;
    }
    const spec = parseMatch(value, f.info);
    if (!spec) return true; // "don't care": omitted
    const enc = (v: bigint) => encodeUnsigned(v, f.width, this.padded ? "padded" : "canonical", f.info.name);
    const mField = w.fork(2);
    w.raw(f.head);
    switch (spec.kind) {
      case "exact": {
        const m = w.fork(2);
        w.bytes(1, enc(spec.value));
        w.join(m);
        break;
      }
      case "ternary": {
        const m = w.fork(3);
        w.bytes(1, enc(spec.value));
        w.bytes(2, enc(spec.mask));
        w.join(m);
        break;
      }
      case "lpm": {
        const m = w.fork(4);
        w.bytes(1, enc(spec.value));
        w.int32(2, spec.prefixLen);
        w.join(m);
        break;
      }
      case "range": {
        const m = w.fork(6);
        w.bytes(1, enc(spec.low));
        w.bytes(2, enc(spec.high));
        w.join(m);
        break;
      }
      case "optional": {
        const m = w.fork(7);
        w.bytes(1, enc(spec.value));
        w.join(m);
        break;
      }
    }
    w.join(mField);
    return true;
  }

  /** TableEntry.action = TableAction{action: Action{...}}. */
  private writeAction(w: WireWriter, plan: TablePlan, name: string | number, params: unknown): boolean {
    const a = this.action(plan, name);
    if (!a) return false;
    const given = (params ?? NO_PARAMS) as Record<string, unknown>;
    if (typeof given !== "object" || given === null) return false;
    let count = 0;
    for (const k in given) {
      if (!hasOwn.call(given, k) || !a.names.has(k)) return false;
      count++;
    }
    if (count !== a.params.length) return false;
    const mTa = w.fork(3);
    const mA = w.fork(1);
    w.raw(a.head);
    for (let i = 0; i < a.params.length; i++) {
      const p = a.params[i]!;
      const v = given[p.name];
      if (v === undefined) return false;
      const mP = w.fork(4);
      w.raw(p.head);
      if (typeof v === "number" && p.max >= 0) {
        if (!Number.isSafeInteger(v) || v < 0 || v > p.max) return false;
        this.writeNumber(w, 3, v, p.width);
      } else {
        const value = parseValue(v as bigint, p.width, p.label);
        w.bytes(3, encodeUnsigned(value, p.width, this.padded ? "padded" : "canonical", p.label));
      }
      w.join(mP);
    }
    w.join(mA);
    w.join(mTa);
    return true;
  }

  /** A bytes field holding an unsigned value (0 ≤ v < 2^52) in canonical or padded form. */
  private writeNumber(w: WireWriter, field: number, v: number, width: number): void {
    let len: number;
    if (this.padded) len = byteWidth(width);
    else if (v < 0x100) len = 1;
    else if (v < 0x1_0000) len = 2;
    else if (v < 0x100_0000) len = 3;
    else if (v < 0x1_0000_0000) len = 4;
    else if (v < 0x100_0000_0000) len = 5;
    else if (v < 0x1_0000_0000_0000) len = 6;
    else len = 7;
    w.ensure(len + 2);
    const b = w.buf;
    let p = w.pos;
    b[p++] = (field << 3) | WT_LEN; // fields 1 and 3: one-byte tags
    b[p++] = len;
    const end = p + len;
    if (v <= 0xffff_ffff) {
      for (let q = end - 1; q >= p; q--) {
        b[q] = v & 0xff;
        v >>>= 8;
      }
    } else {
      for (let q = end - 1; q >= p; q--) {
        const byte = v % 256;
        b[q] = byte;
        v = (v - byte) / 256;
      }
    }
    w.pos = end;
  }

  private table(key: string | number): TablePlan | undefined {
    let plan = this.tables.get(key);
    if (plan === undefined) {
      let info: TableInfo | undefined;
      try {
        info = typeof key === "string" || typeof key === "number" ? this.index.tables.find(key) : undefined;
      } catch {
        info = undefined;
      }
      plan = info
        ? {
            info,
            id: info.id,
            head: head(1, info.id),
            exactCount: info.matchFieldList.filter((f) => f.kind === "exact").length,
            direct:
              !info.implementation &&
              !info.needsPriority &&
              info.matchFieldList.every((f) => f.kind === "exact" && numericMax(f.bitwidth) >= 0) &&
              DIRECT_FRAME_BOUND + info.matchFieldList.length * DIRECT_FIELD_BOUND <= SLAB_SPARE / 2,
            keySeed: tableKeySeed(head(1, info.id)),
            fields: new Map(),
            orderNames: [],
            orderFields: [],
            actions: new Map(),
            lastFieldName: undefined,
            lastField: undefined,
            lastActionName: undefined,
            lastAction: undefined,
          }
        : null;
      if (this.tables.size < 10_000) this.tables.set(key, plan);
    }
    return plan ?? undefined;
  }

  private field(plan: TablePlan, name: string): FieldPlan | undefined {
    if (name === plan.lastFieldName) return plan.lastField;
    let f = plan.fields.get(name);
    if (f === undefined) {
      let info: MatchFieldInfo | undefined;
      try {
        info = plan.info.matchFields.find(name);
      } catch {
        info = undefined;
      }
      f = info ? { info, id: info.id, head: head(1, info.id), kind: info.kind, width: info.bitwidth, max: numericMax(info.bitwidth) } : null;
      if (plan.fields.size < 10_000) plan.fields.set(name, f);
    }
    plan.lastFieldName = name;
    plan.lastField = f ?? undefined;
    return f ?? undefined;
  }

  private action(plan: TablePlan, name: string | number): ActionPlan | undefined {
    if (name === plan.lastActionName) return plan.lastAction;
    let a = plan.actions.get(name);
    if (a === undefined) {
      let info: ActionInfo | undefined;
      try {
        info = plan.info.actions.find(name);
      } catch {
        info = undefined;
      }
      a = info
        ? {
            id: info.id,
            head: head(1, info.id),
            params: [...info.params].map((p) => ({ name: p.name, id: p.id, head: head(2, p.id), width: p.bitwidth, max: numericMax(p.bitwidth), label: `${info.name}.${p.name}` })),
            names: new Set([...info.params].map((p) => p.name)),
            direct: [...info.params].every((p) => numericMax(p.bitwidth) >= 0),
            bound: DIRECT_ACTION_BOUND + [...info.params].length * DIRECT_PARAM_BOUND,
          }
        : null;
      if (plan.actions.size < 10_000) plan.actions.set(name, a);
    }
    plan.lastActionName = name;
    plan.lastAction = a ?? undefined;
    return a ?? undefined;
  }
}

/** Reorders the encoded match fields (segments of the writer) by field id, as the general encoder sorts them. */
function sortSegments(w: WireWriter, segs: Int32Array, n: number): void {
  let sorted = true;
  for (let i = 1; i < n; i++) if (segs[i * 3 + 2]! < segs[(i - 1) * 3 + 2]!) sorted = false;
  if (sorted) return;
  const parts: { id: number; bytes: Buffer }[] = [];
  for (let i = 0; i < n; i++) parts.push({ id: segs[i * 3 + 2]!, bytes: Buffer.from(w.buf.subarray(segs[i * 3]!, segs[i * 3 + 1]!)) });
  parts.sort((a, b) => a.id - b.id);
  let p = segs[0]!;
  for (const x of parts) {
    x.bytes.copy(w.buf, p);
    p += x.bytes.length;
  }
}

/** Copies a short encoded head into b at p; returns the position after it. */
function copy(b: Uint8Array, p: number, src: Uint8Array): number {
  for (let i = 0; i < src.length; i++) b[p++] = src[i]!;
  return p;
}

/** Bytes of the canonical form of 0 ≤ v < 2^53 (at least one). */
function valueLength(v: number): number {
  if (v < 0x100) return 1;
  if (v < 0x1_0000) return 2;
  if (v < 0x100_0000) return 3;
  if (v < 0x1_0000_0000) return 4;
  if (v < 0x100_0000_0000) return 5;
  if (v < 0x1_0000_0000_0000) return 6;
  return 7;
}

/** Writes v (0 ≤ v < 2^53) big-endian in `len` bytes at p; returns the position after it. */
function writeBigEndian(b: Uint8Array, p: number, v: number, len: number): number {
  const end = p + len;
  if (v <= 0xffff_ffff) {
    for (let q = end - 1; q >= p; q--) {
      b[q] = v & 0xff;
      v >>>= 8;
    }
  } else {
    for (let q = end - 1; q >= p; q--) {
      const byte = v % 256;
      b[q] = byte;
      v = (v - byte) / 256;
    }
  }
  return end;
}

/** Ends a length-delimited field whose one length byte is at `mark` and whose body ends at `end`; returns the new end (the body moves when its length needs more than one byte). */
function joinAt(b: Uint8Array, mark: number, end: number): number {
  let len = end - mark - 1;
  if (len < 0x80) {
    b[mark] = len;
    return end;
  }
  const n = varintSize(len);
  b.copyWithin(mark + n, mark + 1, end);
  let p = mark;
  while (len > 0x7f) {
    b[p++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  b[p] = len;
  return end + n - 1;
}
