/**
 * The decoders of the two bulk paths, without protobuf-es reflection:
 * ReadResponse bytes to p4.v1.Entity messages (the client's reads) and
 * WriteRequest bytes to a p4.v1.WriteRequest (the embedded switch's
 * server). Table entries (the bulk of either) are decoded here into the
 * same message objects fromBinary builds (same fields, same values, bytes
 * as views of the received buffer); any other entity, and any table entry
 * with something this decoder does not handle (unknown fields, one-shot
 * action sets, a message field given twice, a wrong wire type), is decoded
 * by fromBinary from its own bytes, and a WriteRequest with anything but
 * its own fields in their wire types entirely by fromBinary, so the result
 * is always what fromBinary gives. test/p4runtime/wire-reader.test.ts
 * compares the two on random messages.
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  type Action,
  type Action_Param,
  type CounterData,
  type Entity,
  EntitySchema,
  type FieldMatch,
  type MeterConfig,
  type MeterCounterData,
  ReadResponseSchema,
  type TableAction,
  type TableEntry,
  type Uint128,
  type Update,
  type WriteRequest,
  WriteRequestSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";

/** How often the general decoder took over (tests check that table entries do not need it). */
export const readerStats = { fallbacks: 0 };

/** Thrown inside the decoder when a table entry needs fromBinary. */
const FALLBACK = new Error("fallback");

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint's low 32 bits (the rest of a longer varint skipped), as protobuf-es reads uint32/int32. */
  varint32(): number {
    const b = this.buf;
    let p = this.pos;
    let x = b[p++]!;
    let v = x & 0x7f;
    if (x >= 0x80) {
      x = b[p++]!;
      v |= (x & 0x7f) << 7;
      if (x >= 0x80) {
        x = b[p++]!;
        v |= (x & 0x7f) << 14;
        if (x >= 0x80) {
          x = b[p++]!;
          v |= (x & 0x7f) << 21;
          if (x >= 0x80) {
            x = b[p++]!;
            v |= (x & 0x0f) << 28;
            for (let i = 0; x >= 0x80 && i < 5; i++) x = b[p++]!;
            if (x >= 0x80) throw FALLBACK;
          }
        }
      }
    }
    if (p > this.end) throw FALLBACK;
    this.pos = p;
    return v;
  }

  /** A varint as a 64-bit two's-complement bigint (signed when `signed`). */
  varint64(signed: boolean): bigint {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let x: number;
    do {
      if (p >= this.end || shift > 63) throw FALLBACK;
      x = b[p++]!;
      if (shift < 28) lo |= (x & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (x & 0x0f) << 28;
        hi |= (x & 0x7f) >> 4;
      } else hi |= (x & 0x7f) << (shift - 32);
      shift += 7;
    } while (x >= 0x80);
    this.pos = p;
    if (hi === 0 && lo >= 0) return BigInt(lo);
    const u = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    return signed ? BigInt.asIntN(64, u) : BigInt.asUintN(64, u);
  }

  /** The end of a length-delimited field that starts here. */
  lenEnd(): number {
    const n = this.varint32() >>> 0;
    const e = this.pos + n;
    if (e > this.end) throw FALLBACK;
    return e;
  }

  bytes(): Uint8Array {
    const e = this.lenEnd();
    const v = this.buf.subarray(this.pos, e);
    this.pos = e;
    return v;
  }
}

/** The entities of one serialized ReadResponse. */
export function decodeReadResponse(buf: Uint8Array): Entity[] {
  const out: Entity[] = [];
  const r = new Reader(buf, 0, buf.length);
  try {
    while (r.pos < buf.length) {
      const tag = r.varint32();
      if (tag !== 0x0a) throw FALLBACK; // ReadResponse.entities (1, LEN); anything else: the general decoder
      const end = r.lenEnd();
      out.push(decodeEntity(buf, r.pos, end));
      r.pos = end;
    }
  } catch (e) {
    if (e !== FALLBACK) throw e;
    readerStats.fallbacks++;
    return fromBinary(ReadResponseSchema, buf).entities;
  }
  return out;
}

function decodeEntity(buf: Uint8Array, start: number, end: number): Entity {
  try {
    const r = new Reader(buf, start, end);
    if (r.pos < end && r.varint32() === 0x12) {
      // Entity.table_entry (2, LEN), and nothing else
      const teEnd = r.lenEnd();
      if (teEnd === end) {
        const value = decodeTableEntry(r, teEnd);
        return { $typeName: "p4.v1.Entity", entity: { case: "tableEntry", value } };
      }
    }
  } catch (e) {
    if (e !== FALLBACK) throw e;
  }
  readerStats.fallbacks++;
  return fromBinary(EntitySchema, buf.subarray(start, end));
}

/** One serialized WriteRequest (the server's Write path). */
export function decodeWriteRequest(buf: Uint8Array): WriteRequest {
  const req: WriteRequest = {
    $typeName: "p4.v1.WriteRequest",
    deviceId: 0n,
    roleId: 0n,
    role: "",
    updates: [],
    atomicity: 0,
  };
  const r = new Reader(buf, 0, buf.length);
  try {
    while (r.pos < buf.length) {
      const tag = r.varint32();
      switch (tag) {
        case 0x08: // device_id
          req.deviceId = r.varint64(false);
          break;
        case 0x10: // role_id (deprecated)
          req.roleId = r.varint64(false);
          break;
        case 0x1a: {
          // election_id
          if (req.electionId !== undefined) throw FALLBACK;
          req.electionId = decodeUint128(r, r.lenEnd());
          break;
        }
        case 0x22: {
          // updates
          const e = r.lenEnd();
          req.updates.push(decodeUpdate(buf, r, e));
          r.pos = e;
          break;
        }
        case 0x28: // atomicity
          req.atomicity = r.varint32() | 0;
          break;
        case 0x32: // role: ASCII here; anything else is left to protobuf-es's UTF-8 rules
          req.role = ascii(r.bytes());
          break;
        default:
          throw FALLBACK;
      }
    }
  } catch (e) {
    if (e !== FALLBACK) throw e;
    readerStats.fallbacks++;
    return fromBinary(WriteRequestSchema, buf);
  }
  return req;
}

function decodeUint128(r: Reader, end: number): Uint128 {
  const v: Uint128 = { $typeName: "p4.v1.Uint128", high: 0n, low: 0n };
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === 0x08) v.high = r.varint64(false);
    else if (tag === 0x10) v.low = r.varint64(false);
    else throw FALLBACK;
  }
  if (r.pos !== end) throw FALLBACK;
  return v;
}

function decodeUpdate(buf: Uint8Array, r: Reader, end: number): Update {
  const u: Update = { $typeName: "p4.v1.Update", type: 0 };
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === 0x08) u.type = r.varint32() | 0;
    else if (tag === 0x12) {
      if (u.entity !== undefined) throw FALLBACK; // given twice: merged by protobuf
      const e = r.lenEnd();
      u.entity = decodeEntity(buf, r.pos, e);
      r.pos = e;
    } else throw FALLBACK;
  }
  if (r.pos !== end) throw FALLBACK;
  return u;
}

function ascii(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) {
    if (b[i]! >= 0x80) throw FALLBACK;
    s += String.fromCharCode(b[i]!);
  }
  return s;
}

/**
 * An empty bytes field: the unset `metadata` of every table entry shares it (nearly every entry has none, and a typed
 * array is a costly allocation; an empty one has nothing to change). Also the marker of "not given" while decoding.
 */
const EMPTY: Uint8Array = new Uint8Array(0);

function decodeTableEntry(r: Reader, end: number): TableEntry {
  const te: TableEntry = {
    $typeName: "p4.v1.TableEntry",
    tableId: 0,
    match: [],
    priority: 0,
    controllerMetadata: 0n,
    isDefaultAction: false,
    idleTimeoutNs: 0n,
    metadata: EMPTY,
    isConst: false,
  };
  while (r.pos < end) {
    const tag = r.varint32();
    switch (tag) {
      case 0x08: // table_id
        te.tableId = r.varint32() >>> 0;
        break;
      case 0x12: {
        // match
        const e = r.lenEnd();
        te.match.push(decodeFieldMatch(r, e));
        break;
      }
      case 0x1a: {
        if (te.action !== undefined) throw FALLBACK; // given twice: merged by protobuf
        const e = r.lenEnd();
        te.action = decodeTableAction(r, e);
        break;
      }
      case 0x20:
        te.priority = r.varint32() | 0;
        break;
      case 0x28:
        te.controllerMetadata = r.varint64(false);
        break;
      case 0x32: {
        if (te.meterConfig !== undefined) throw FALLBACK;
        const e = r.lenEnd();
        te.meterConfig = decodeMeterConfig(r, e);
        break;
      }
      case 0x3a: {
        if (te.counterData !== undefined) throw FALLBACK;
        const e = r.lenEnd();
        te.counterData = decodeCounterData(r, e);
        break;
      }
      case 0x40:
        te.isDefaultAction = r.varint64(false) !== 0n;
        break;
      case 0x48:
        te.idleTimeoutNs = r.varint64(true);
        break;
      case 0x52: {
        if (te.timeSinceLastHit !== undefined) throw FALLBACK;
        const e = r.lenEnd();
        let elapsedNs = 0n;
        while (r.pos < e) {
          if (r.varint32() !== 0x08) throw FALLBACK;
          elapsedNs = r.varint64(true);
        }
        te.timeSinceLastHit = { $typeName: "p4.v1.TableEntry.IdleTimeout", elapsedNs };
        break;
      }
      case 0x5a:
        te.metadata = r.bytes();
        break;
      case 0x62: {
        if (te.meterCounterData !== undefined) throw FALLBACK;
        const e = r.lenEnd();
        te.meterCounterData = decodeMeterCounterData(r, e);
        break;
      }
      case 0x68:
        te.isConst = r.varint64(false) !== 0n;
        break;
      default:
        throw FALLBACK;
    }
  }
  if (r.pos !== end) throw FALLBACK;
  return te;
}

function decodeFieldMatch(r: Reader, end: number): FieldMatch {
  const fm: FieldMatch = { $typeName: "p4.v1.FieldMatch", fieldId: 0, fieldMatchType: { case: undefined } };
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === 0x08) {
      fm.fieldId = r.varint32() >>> 0;
      continue;
    }
    if (fm.fieldMatchType.case !== undefined) throw FALLBACK; // a second member: leave the merge rules to protobuf-es
    const e = tag === 0x12 || tag === 0x1a || tag === 0x22 || tag === 0x32 || tag === 0x3a ? r.lenEnd() : -1;
    if (e < 0) throw FALLBACK;
    let a = EMPTY;
    let b = EMPTY;
    let n = 0;
    while (r.pos < e) {
      const t = r.varint32();
      if (t === 0x0a) a = r.bytes();
      else if (t === 0x12 && (tag === 0x1a || tag === 0x32)) b = r.bytes();
      else if (t === 0x10 && tag === 0x22) n = r.varint32() | 0;
      else throw FALLBACK;
    }
    // Absent bytes fields are empty arrays of their own (as protobuf-es makes them); the second one only where the kind has it.
    if (a === EMPTY) a = new Uint8Array(0);
    if (b === EMPTY && (tag === 0x1a || tag === 0x32)) b = new Uint8Array(0);
    switch (tag) {
      case 0x12:
        fm.fieldMatchType = { case: "exact", value: { $typeName: "p4.v1.FieldMatch.Exact", value: a } };
        break;
      case 0x1a:
        fm.fieldMatchType = { case: "ternary", value: { $typeName: "p4.v1.FieldMatch.Ternary", value: a, mask: b } };
        break;
      case 0x22:
        fm.fieldMatchType = { case: "lpm", value: { $typeName: "p4.v1.FieldMatch.LPM", value: a, prefixLen: n } };
        break;
      case 0x32:
        fm.fieldMatchType = { case: "range", value: { $typeName: "p4.v1.FieldMatch.Range", low: a, high: b } };
        break;
      case 0x3a:
        fm.fieldMatchType = { case: "optional", value: { $typeName: "p4.v1.FieldMatch.Optional", value: a } };
        break;
    }
  }
  return fm;
}

function decodeTableAction(r: Reader, end: number): TableAction {
  const ta: TableAction = { $typeName: "p4.v1.TableAction", type: { case: undefined } };
  while (r.pos < end) {
    if (ta.type.case !== undefined) throw FALLBACK;
    const tag = r.varint32();
    if (tag === 0x0a) {
      const e = r.lenEnd();
      ta.type = { case: "action", value: decodeAction(r, e) };
    } else if (tag === 0x10) ta.type = { case: "actionProfileMemberId", value: r.varint32() >>> 0 };
    else if (tag === 0x18) ta.type = { case: "actionProfileGroupId", value: r.varint32() >>> 0 };
    else throw FALLBACK; // one-shot action sets and anything else
  }
  return ta;
}

function decodeAction(r: Reader, end: number): Action {
  const a: Action = { $typeName: "p4.v1.Action", actionId: 0, params: [] };
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === 0x08) a.actionId = r.varint32() >>> 0;
    else if (tag === 0x22) {
      const e = r.lenEnd();
      const p: Action_Param = { $typeName: "p4.v1.Action.Param", paramId: 0, value: EMPTY };
      while (r.pos < e) {
        const t = r.varint32();
        if (t === 0x10) p.paramId = r.varint32() >>> 0;
        else if (t === 0x1a) p.value = r.bytes();
        else throw FALLBACK;
      }
      if (p.value === EMPTY) p.value = new Uint8Array(0);
      a.params.push(p);
    } else throw FALLBACK;
  }
  return a;
}

function decodeMeterConfig(r: Reader, end: number): MeterConfig {
  const m: MeterConfig = { $typeName: "p4.v1.MeterConfig", cir: 0n, cburst: 0n, pir: 0n, pburst: 0n, eburst: 0n };
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === 0x08) m.cir = r.varint64(true);
    else if (tag === 0x10) m.cburst = r.varint64(true);
    else if (tag === 0x18) m.pir = r.varint64(true);
    else if (tag === 0x20) m.pburst = r.varint64(true);
    else if (tag === 0x28) m.eburst = r.varint64(true);
    else throw FALLBACK;
  }
  return m;
}

function decodeCounterData(r: Reader, end: number): CounterData {
  const d: CounterData = { $typeName: "p4.v1.CounterData", byteCount: 0n, packetCount: 0n };
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === 0x08) d.byteCount = r.varint64(true);
    else if (tag === 0x10) d.packetCount = r.varint64(true);
    else throw FALLBACK;
  }
  return d;
}

function decodeMeterCounterData(r: Reader, end: number): MeterCounterData {
  const m: MeterCounterData = { $typeName: "p4.v1.MeterCounterData" };
  while (r.pos < end) {
    const tag = r.varint32();
    const e = tag === 0x0a || tag === 0x12 || tag === 0x1a ? r.lenEnd() : -1;
    if (e < 0) throw FALLBACK;
    const d = decodeCounterData(r, e);
    if (tag === 0x0a) {
      if (m.green) throw FALLBACK;
      m.green = d;
    } else if (tag === 0x12) {
      if (m.yellow) throw FALLBACK;
      m.yellow = d;
    } else {
      if (m.red) throw FALLBACK;
      m.red = d;
    }
  }
  return m;
}
