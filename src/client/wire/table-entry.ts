/**
 * The encoder of table-entry updates: a p4.v1.Update of a table entry
 * straight from the friendly input to wire bytes, framed as a WriteRequest
 * `updates` field, without building protobuf-es messages. P4Info lookups
 * are resolved once per table, match field and action name and cached in
 * plans; exact fields and parameters given as numbers are written without
 * bigints.
 *
 * It covers every table-entry write: all match kinds, direct actions,
 * action-profile members and groups, one-shot action sets, priority, the
 * default entry, idle timeout, metadata, counter and meter data. It never
 * raises an error of its own: input it does not accept (anything the
 * general encoder, entities/table-entry.ts, would reject) is declined
 * (false, nothing written), and the boundary (encode-update.ts) hands it to
 * the general encoder, which reports the one documented error.
 * test/client/encode-update.test.ts decodes its output with protobuf-es and
 * compares it with the input.
 */
import type { BytestringMode } from "../../p4runtime/codec/bytestring.js";
import { byteWidth, encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import { type MatchInput, type MatchKind, parseMatch } from "../../p4runtime/codec/match.js";
import { parseValue } from "../../p4runtime/codec/values.js";
import type { ActionInfo, MatchFieldInfo, P4InfoIndex, TableInfo } from "../../p4runtime/p4info/index.js";
import type { CounterData } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { EntityInput } from "../entities/entity.js";
import { encodeCounterData, encodeMeterConfig, encodeMeterCounterData } from "../entities/common.js";
import { WT_LEN, WireWriter } from "./writer.js";

/**
 * Where an encoded update lives without a view of its own: buf[start..end)
 * is the update framed as a WriteRequest `updates` field (tag, length,
 * p4.v1.Update), so consecutive updates of one buffer frame a request with
 * one copy. `hash` identifies the entity the update touches (see
 * entityHash in encode-update.ts).
 */
export interface WireSlot {
  buf: Uint8Array;
  start: number;
  end: number;
  hash: number;
}

export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** The running FNV-1a state `h` after b[from..to). */
export function fnvBytes(h: number, b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
  return h;
}

/** The FNV-1a state after "t" and a table's id (the start of every key of the table, see entityHash). */
function tableKeySeed(head: Uint8Array): number {
  return fnvBytes(Math.imul(FNV_OFFSET ^ 0x74, FNV_PRIME), head, 0, head.length);
}

/**
 * Own-property test of the for-in loops over match fields and parameters:
 * Object.prototype.hasOwnProperty called on the object being enumerated,
 * which the optimizing compiler folds away (Object.hasOwn it does not).
 */
const hasOwn = Object.prototype.hasOwnProperty;

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
  /** Action.Param.param_id, encoded. */
  readonly head: Uint8Array;
  readonly width: number;
  readonly max: number;
  /** How the general encoder names the parameter in errors. */
  readonly label: string;
}

interface ActionPlan {
  /** Action.action_id, encoded. */
  readonly head: Uint8Array;
  readonly params: readonly ParamPlan[];
  readonly names: ReadonlySet<string>;
}

interface TablePlan {
  readonly info: TableInfo;
  /** TableEntry.table_id, encoded. */
  readonly head: Uint8Array;
  readonly exactCount: number;
  /** The key hash's state after the table id (see tableKeySeed). */
  readonly keySeed: number;
  readonly fields: Map<string, FieldPlan | null>;
  /** The match field names of the last entry, in the order given, and their plans (entries of one table mostly repeat them). */
  readonly orderNames: (string | undefined)[];
  readonly orderFields: (FieldPlan | undefined)[];
  readonly actions: Map<string | number, ActionPlan | null>;
  /** One-entry cache in front of the action map (entries of one table mostly repeat the action). */
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

const NO_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({});
/** Entries with more match fields than this are declined. */
const MAX_FIELDS = 64;

/** Updates are written straight into slabs of this size, one after the other. */
const SLAB = 64 * 1024;
/** Room left in a slab below which the next update starts a new one. */
const SLAB_SPARE = 4096;
/**
 * Most bytes of an exact match field given as a number: FieldMatch tag and
 * length, field id of up to 6 bytes, Exact tag and length, value tag and
 * length, up to 7 value bytes (52 bits, padded). Its lengths stay below 128.
 */
const NUMBER_FIELD_BOUND = 2 + 6 + 2 + 2 + 8;
/** Most bytes of an action parameter given as a number: Param tag and length, id, value tag and length, value. */
const NUMBER_PARAM_BOUND = 2 + 6 + 2 + 8;
/** The Update, Entity and TableEntry tags and one-byte lengths written before the table id. */
const FRAME_HEAD = 8;

/**
 * Encodes table-entry updates against one P4Info index; create one per
 * index (the plans it caches belong to that P4Info).
 */
export class TableEntryEncoder {
  private readonly tables = new Map<string | number, TablePlan | null>();
  /** Writes into the current slab; `w.pos` is where the next update starts. */
  private readonly w = new WireWriter(SLAB);
  private readonly padded: boolean;
  private lastTableKey: unknown;
  private lastTable: TablePlan | undefined;
  /** Scratch for the match fields of one entry: ids seen, and [start, end, field id] of each written field. */
  private readonly seenIds = new Int32Array(MAX_FIELDS);
  private readonly segments = new Int32Array(MAX_FIELDS * 3);

  constructor(
    readonly index: P4InfoIndex,
    mode: BytestringMode = "canonical",
  ) {
    this.padded = mode === "padded";
  }

  /**
   * Encodes the update (type 1 insert, 2 modify, 3 delete, which is
   * `keyOnly`) of a table entry into the slab as a framed WriteRequest
   * `updates` field and describes it in `slot`; false (nothing written)
   * when the input is declined.
   */
  encodeTo(type: 1 | 2 | 3, input: EntityInput, keyOnly: boolean, slot: WireSlot): boolean {
    if (input.kind !== "tableEntry") return false;
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
      ok = this.write(plan, type, input, keyOnly, slot);
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

  private write(plan: TablePlan, type: number, input: EntityInput & { kind: "tableEntry" }, keyOnly: boolean, slot: WireSlot): boolean {
    const w = this.w;
    const table = plan.info;
    const isDefault = input.isDefault === undefined ? false : Boolean(input.isDefault);
    w.ensure(FRAME_HEAD + plan.head.length);
    let b = w.buf;
    let p = w.pos;
    b[p] = 0x22; // WriteRequest.updates
    const mUpdate = p + 1;
    b[p + 2] = 0x08; // Update.type
    b[p + 3] = type;
    b[p + 4] = 0x12; // Update.entity
    const mEntity = p + 5;
    b[p + 6] = 0x12; // Entity.table_entry
    const mEntry = p + 7;
    p += FRAME_HEAD;
    const keyStart = p;
    p = copy(b, p, plan.head);
    w.pos = p;

    // Match fields, in the order given; sorted by id below.
    const match = input.match;
    if (match !== undefined && (typeof match !== "object" || match === null)) return false;
    const seen = this.seenIds;
    const segs = this.segments; // [start, end, fieldId]*
    const names = plan.orderNames;
    const known = plan.orderFields;
    const padded = this.padded;
    let fields = 0; // fields given
    let written = 0; // fields written (don't-care fields write none)
    let exactSeen = 0;
    for (const name in match) {
      if (!hasOwn.call(match, name) || fields === MAX_FIELDS || isDefault) return false;
      let f = names[fields] === name ? known[fields] : undefined;
      if (f === undefined) {
        f = this.field(plan, name);
        if (f === undefined) return false;
        names[fields] = name;
        known[fields] = f;
      }
      for (let i = 0; i < fields; i++) if (seen[i] === f.id) return false;
      seen[fields++] = f.id;
      const v = match[name]!;
      const start = w.pos;
      if (f.kind === "exact") {
        exactSeen++;
        if (typeof v === "number" && f.max >= 0) {
          if (!Number.isSafeInteger(v) || v < 0 || v > f.max) return false;
          w.ensure(NUMBER_FIELD_BOUND);
          b = w.buf;
          p = w.pos;
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
          w.pos = p;
        } else if (!this.writeMatch(w, f, v)) return false;
      } else if (!this.writeMatch(w, f, v)) return false;
      if (w.pos > start) {
        segs[written * 3] = start;
        segs[written * 3 + 1] = w.pos;
        segs[written * 3 + 2] = f.id;
        written++;
      }
    }
    if (!isDefault && exactSeen !== plan.exactCount) return false;
    if (written > 1) sortSegments(w, segs, written);
    const keyEnd = w.pos;

    // Priority (checked now, written after the action).
    let priority = 0;
    if (input.priority !== undefined) {
      const pr = input.priority;
      if (!Number.isInteger(pr) || pr < 0 || pr > 0x7fffffff) return false;
      priority = pr;
    }
    if (!isDefault && (table.needsPriority ? priority === 0 : priority !== 0)) return false;

    const action = input.action;
    if (action === undefined) {
      if (!keyOnly && !isDefault) return false;
    } else if (typeof action === "string") {
      if (table.implementation || !this.writeAction(w, plan, action, undefined)) return false;
    } else if (typeof action === "object" && action !== null) {
      if ("member" in action) {
        if (!table.implementation) return false;
        const m = w.fork(3); // TableEntry.action
        w.uint32Always(2, action.member);
        w.join(m);
      } else if ("group" in action) {
        if (!table.implementation?.withSelector) return false;
        const m = w.fork(3);
        w.uint32Always(3, action.group);
        w.join(m);
      } else if ("oneShot" in action) {
        if (!table.implementation?.withSelector || !this.writeOneShot(w, plan, action.oneShot)) return false;
      } else {
        if (table.implementation) return false;
        const name = action.name;
        if ((typeof name !== "string" && typeof name !== "number") || !this.writeAction(w, plan, name, action.params)) return false;
      }
    } else {
      return false;
    }

    const prioStart = w.pos;
    w.int32(4, priority);
    const prioEnd = w.pos;

    if (input.meterConfig) {
      if (!table.directMeter) return false;
      const c = encodeMeterConfig(input.meterConfig, `direct meter of "${table.name}"`);
      const m = w.fork(6);
      w.int64(1, c.cir);
      w.int64(2, c.cburst);
      w.int64(3, c.pir);
      w.int64(4, c.pburst);
      w.int64(5, c.eburst);
      w.join(m);
    }
    if (input.counterData) {
      if (!table.directCounter) return false;
      writeCounterData(w, 7, encodeCounterData(input.counterData));
    }
    const defaultStart = w.pos;
    w.bool(8, isDefault);
    const defaultEnd = w.pos;
    if (input.idleTimeoutNs !== undefined) {
      const t = input.idleTimeoutNs;
      if (typeof t !== "bigint" || (t !== 0n && !table.supportsIdleTimeout)) return false;
      w.int64(9, t);
    }
    if (input.withTimeSinceLastHit) w.join(w.fork(10));
    if (input.metadata) w.bytes(11, input.metadata);
    if (input.meterCounterData) {
      const d = encodeMeterCounterData(input.meterCounterData);
      const m = w.fork(12);
      if (d.green) writeCounterData(w, 1, d.green);
      if (d.yellow) writeCounterData(w, 2, d.yellow);
      if (d.red) writeCounterData(w, 3, d.red);
      w.join(m);
    }

    // The entity's key (table id, match, priority, default flag), hashed before the joins move the body.
    b = w.buf;
    let h = fnvBytes(plan.keySeed, b, keyStart + plan.head.length, keyEnd);
    h = fnvBytes(h, b, prioStart, prioEnd);
    h = fnvBytes(h, b, defaultStart, defaultEnd);
    slot.hash = h & 0x3fff_ffff;
    w.join(mEntry);
    w.join(mEntity);
    w.join(mUpdate);
    return true;
  }

  private writeMatch(w: WireWriter, f: FieldPlan, value: MatchInput): boolean {
    const spec = parseMatch(value, f.info);
    if (!spec) return true; // "don't care": omitted
    const enc = (v: bigint) => encodeUnsigned(v, f.width, this.padded ? "padded" : "canonical", f.info.name);
    const mField = w.fork(2); // TableEntry.match
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
    w.ensure(4);
    const b = w.buf;
    const p = w.pos;
    b[p] = 0x1a; // TableEntry.action
    const mTa = p + 1;
    b[p + 2] = 0x0a; // TableAction.action
    const mA = p + 3;
    w.pos = p + 4;
    if (!this.writeActionBody(w, plan, name, params)) return false;
    w.join(mA);
    w.join(mTa);
    return true;
  }

  /** TableEntry.action = TableAction{action_profile_action_set: {ActionProfileAction{action, weight}...}}. */
  private writeOneShot(w: WireWriter, plan: TablePlan, actions: unknown): boolean {
    if (!Array.isArray(actions)) return false;
    const mTa = w.fork(3);
    const mSet = w.fork(4);
    for (const a of actions as unknown[]) {
      let name: unknown;
      let params: unknown;
      let weight: unknown = 1;
      if (typeof a === "string") name = a;
      else if (typeof a === "object" && a !== null) {
        const call = a as { name?: unknown; params?: unknown; weight?: unknown };
        name = call.name;
        params = call.params;
        if (call.weight !== undefined) weight = call.weight;
      }
      if (typeof name !== "string" && typeof name !== "number") return false;
      const mPa = w.fork(1);
      const mA = w.fork(1);
      if (!this.writeActionBody(w, plan, name, params)) return false;
      w.join(mA);
      w.int32(2, weight as number);
      w.join(mPa);
    }
    w.join(mSet);
    w.join(mTa);
    return true;
  }

  /** The fields of an Action message: its id and every parameter, given exactly once. */
  private writeActionBody(w: WireWriter, plan: TablePlan, name: string | number, params: unknown): boolean {
    const a = this.action(plan, name);
    if (!a) return false;
    const given = (params === undefined ? NO_PARAMS : params) as Record<string, unknown>;
    if (typeof given !== "object" || given === null) return false;
    const ps = a.params;
    let count = 0;
    for (const k in given) {
      // Parameters given in the P4Info's order (the usual case) need no set lookup.
      if (!hasOwn.call(given, k) || ((count >= ps.length || ps[count]!.name !== k) && !a.names.has(k))) return false;
      count++;
    }
    if (count !== ps.length) return false;
    w.ensure(a.head.length);
    w.pos = copy(w.buf, w.pos, a.head);
    for (let i = 0; i < ps.length; i++) {
      const pp = ps[i]!;
      const v = given[pp.name];
      if (v === undefined) return false;
      if (typeof v === "number" && pp.max >= 0) {
        if (!Number.isSafeInteger(v) || v < 0 || v > pp.max) return false;
        w.ensure(NUMBER_PARAM_BOUND);
        const b = w.buf;
        let p = w.pos;
        b[p] = 0x22; // Action.params
        const mP = p + 1;
        p = copy(b, p + 2, pp.head);
        const len = this.padded ? byteWidth(pp.width) : valueLength(v);
        b[p] = (3 << 3) | WT_LEN; // Param.value
        b[p + 1] = len;
        p = writeBigEndian(b, p + 2, v, len);
        b[mP] = p - mP - 1;
        w.pos = p;
      } else {
        const value = parseValue(v as bigint, pp.width, pp.label);
        const mP = w.fork(4);
        w.raw(pp.head);
        w.bytes(3, encodeUnsigned(value, pp.width, this.padded ? "padded" : "canonical", pp.label));
        w.join(mP);
      }
    }
    return true;
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
            head: head(1, info.id),
            exactCount: info.matchFieldList.filter((f) => f.kind === "exact").length,
            keySeed: tableKeySeed(head(1, info.id)),
            fields: new Map(),
            orderNames: [],
            orderFields: [],
            actions: new Map(),
            lastActionName: undefined,
            lastAction: undefined,
          }
        : null;
      if (this.tables.size < 10_000) this.tables.set(key, plan);
    }
    return plan ?? undefined;
  }

  private field(plan: TablePlan, name: string): FieldPlan | undefined {
    let f = plan.fields.get(name);
    if (f === undefined) {
      let info: MatchFieldInfo | undefined;
      try {
        info = plan.info.matchFields.find(name);
      } catch {
        info = undefined;
      }
      f = info
        ? { info, id: info.id, head: head(1, info.id), kind: info.kind, width: info.bitwidth, max: numericMax(info.bitwidth) }
        : null;
      if (plan.fields.size < 10_000) plan.fields.set(name, f);
    }
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
            head: head(1, info.id),
            params: [...info.params].map((p) => ({
              name: p.name,
              head: head(2, p.id),
              width: p.bitwidth,
              max: numericMax(p.bitwidth),
              label: `${info.name}.${p.name}`,
            })),
            names: new Set([...info.params].map((p) => p.name)),
          }
        : null;
      if (plan.actions.size < 10_000) plan.actions.set(name, a);
    }
    plan.lastActionName = name;
    plan.lastAction = a ?? undefined;
    return a ?? undefined;
  }
}

/** A CounterData message as field `field`. */
function writeCounterData(w: WireWriter, field: number, d: CounterData): void {
  const m = w.fork(field);
  w.int64(1, d.byteCount);
  w.int64(2, d.packetCount);
  w.join(m);
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
