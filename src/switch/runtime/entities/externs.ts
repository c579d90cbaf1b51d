/**
 * Indexed and direct counters, meters and registers. Counters, meters and
 * registers are fixed-size arrays: only MODIFY is a valid write, and an
 * unset index addresses every cell.
 */
import { create } from "@bufbuild/protobuf";
import {
  type CounterEntry,
  CounterEntrySchema,
  type DirectCounterEntry,
  DirectCounterEntrySchema,
  type DirectMeterEntry,
  DirectMeterEntrySchema,
  IndexSchema,
  type MeterEntry,
  MeterEntrySchema,
  type RegisterEntry,
  RegisterEntrySchema,
  type TableEntry,
  Update_Type,
} from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import { P4DataSchema } from "../../../proto/gen/p4/v1/p4data_pb.js";
import type { EntryHandle } from "../../engine/runtime-api.js";
import { decodeUnsigned, encodeSigned, decodeSigned, encodeUnsigned, maxUnsigned } from "../../../p4runtime/codec/bytestring.js";
import { invalid, notFound, outOfRange, unimplemented } from "../status.js";
import { matchToKey } from "./convert.js";
import type { RuntimeState, UndoLog } from "./context.js";
import { counterDataOf, meterRatesOf, toCounterData, toMeterConfig } from "./resources.js";
import type { TableBinding } from "../pipeline.js";

function indices(index: bigint | undefined, size: number, what: string): number[] {
  if (index === undefined) return Array.from({ length: size }, (_, i) => i);
  if (index < 0n) throw invalid(`${what}: negative index ${index}`);
  if (index >= BigInt(size)) throw outOfRange(`${what}: index ${index} is outside 0..${size - 1}`);
  return [Number(index)];
}

function onlyModify(type: Update_Type, what: string): void {
  if (type !== Update_Type.MODIFY) throw invalid(`${what}: only MODIFY is allowed (the array has a fixed size)`);
}

// -- counters ---------------------------------------------------------------

export function writeCounter(st: RuntimeState, type: Update_Type, e: CounterEntry, undo: UndoLog): void {
  const c = st.pipeline.index.counters.find(e.counterId);
  if (!c) throw notFound(`unknown counter id ${e.counterId}`);
  const what = `counter "${c.name}"`;
  onlyModify(type, what);
  const engine = st.pipeline.engine;
  const value = e.data ? counterDataOf(e.data) : { packets: 0n, bytes: 0n };
  for (const i of indices(e.index?.index, engine.counterSize(c.name), what)) {
    const before = engine.readCounter(c.name, i);
    engine.writeCounter(c.name, i, value);
    undo.push(() => engine.writeCounter(c.name, i, before));
  }
}

export function readCounters(st: RuntimeState, q: CounterEntry): CounterEntry[] {
  const idx = st.pipeline.index;
  const engine = st.pipeline.engine;
  const list =
    q.counterId === 0 ? [...idx.counters] : [idx.counters.find(q.counterId) ?? notFoundThrow(`unknown counter id ${q.counterId}`)];
  return list.flatMap((c) =>
    indices(q.index?.index, engine.counterSize(c.name), `counter "${c.name}"`).map((i) =>
      create(CounterEntrySchema, {
        counterId: c.id,
        index: create(IndexSchema, { index: BigInt(i) }),
        data: toCounterData(engine.readCounter(c.name, i)),
      }),
    ),
  );
}

function notFoundThrow(m: string): never {
  throw notFound(m);
}

/** Finds the table entry a direct resource belongs to. */
function directHandle(
  st: RuntimeState,
  te: TableEntry | undefined,
  what: string,
): { b: TableBinding; handle: EntryHandle | "default"; again: () => EntryHandle } {
  if (!te) throw invalid(`${what}: no table entry given`);
  const b = st.pipeline.table(te.tableId);
  const none = () => {
    throw invalid(`${what}: the default entry has no handle`);
  };
  if (te.isDefaultAction) return { b, handle: "default", again: none };
  const key = matchToKey(b, te.match);
  const h = st.pipeline.engine.findEntry(b.info.name, key, te.priority);
  if (h === undefined) throw notFound(`${what}: table "${b.info.name}" has no entry with this match and priority`);
  // Undo steps find the entry again by key: an earlier undo step may have re-inserted it under a new handle.
  const again = () => {
    const now = st.pipeline.engine.findEntry(b.info.name, key, te.priority);
    if (now === undefined) throw new Error(`undo of ${what} write: table "${b.info.name}" has no entry with this match and priority`);
    return now;
  };
  return { b, handle: h, again };
}

export function writeDirectCounter(st: RuntimeState, type: Update_Type, e: DirectCounterEntry, undo: UndoLog): void {
  onlyModify(type, "direct counter");
  const { b, handle, again } = directHandle(st, e.tableEntry, "direct counter");
  if (!b.info.directCounter) throw invalid(`table "${b.info.name}" has no direct counter`);
  if (handle === "default") throw unimplemented(`table "${b.info.name}": the default entry's direct counter is not supported`);
  const engine = st.pipeline.engine;
  const before = engine.readDirectCounter(b.info.name, handle);
  engine.writeDirectCounter(b.info.name, handle, e.data ? counterDataOf(e.data) : { packets: 0n, bytes: 0n });
  undo.push(() => engine.writeDirectCounter(b.info.name, again(), before));
}

export function readDirectCounters(
  st: RuntimeState,
  q: DirectCounterEntry,
  readEntries: (te: TableEntry) => TableEntry[],
): DirectCounterEntry[] {
  const engine = st.pipeline.engine;
  const te = q.tableEntry;
  const entries = readEntries(te ?? create(DirectCounterEntrySchema).tableEntry!);
  return entries.flatMap((x) => {
    const b = st.pipeline.table(x.tableId);
    if (!b.info.directCounter || x.isDefaultAction) return [];
    const h = engine.findEntry(b.info.name, matchToKey(b, x.match), x.priority)!;
    const { action: _a, ...rest } = x;
    return [
      create(DirectCounterEntrySchema, {
        tableEntry: { ...rest, action: undefined },
        data: toCounterData(engine.readDirectCounter(b.info.name, h)),
      }),
    ];
  });
}

// -- meters -----------------------------------------------------------------

export function writeMeter(st: RuntimeState, type: Update_Type, e: MeterEntry, undo: UndoLog): void {
  const m = st.pipeline.index.meters.find(e.meterId);
  if (!m) throw notFound(`unknown meter id ${e.meterId}`);
  const what = `meter "${m.name}"`;
  onlyModify(type, what);
  if (e.counterData) throw unimplemented(`${what}: writing meter counter data is not supported`);
  const engine = st.pipeline.engine;
  const rates = e.config ? meterRatesOf(e.config, what) : undefined;
  for (const i of indices(e.index?.index, engine.meterSize(m.name), what)) {
    const before = engine.getMeter(m.name, i);
    engine.setMeter(m.name, i, rates);
    undo.push(() => engine.setMeter(m.name, i, before));
  }
}

export function readMeters(st: RuntimeState, q: MeterEntry): MeterEntry[] {
  const idx = st.pipeline.index;
  const engine = st.pipeline.engine;
  const list = q.meterId === 0 ? [...idx.meters] : [idx.meters.find(q.meterId) ?? notFoundThrow(`unknown meter id ${q.meterId}`)];
  return list.flatMap((m) =>
    indices(q.index?.index, engine.meterSize(m.name), `meter "${m.name}"`).map((i) => {
      const rates = engine.getMeter(m.name, i);
      return create(MeterEntrySchema, {
        meterId: m.id,
        index: create(IndexSchema, { index: BigInt(i) }),
        ...(rates ? { config: toMeterConfig(rates) } : {}),
      });
    }),
  );
}

export function writeDirectMeter(st: RuntimeState, type: Update_Type, e: DirectMeterEntry, undo: UndoLog): void {
  onlyModify(type, "direct meter");
  const { b, handle, again } = directHandle(st, e.tableEntry, "direct meter");
  if (!b.info.directMeter) throw invalid(`table "${b.info.name}" has no direct meter`);
  if (handle === "default") throw unimplemented(`table "${b.info.name}": the default entry's direct meter is not supported`);
  if (e.counterData) throw unimplemented("writing direct meter counter data is not supported");
  const engine = st.pipeline.engine;
  const before = engine.getDirectMeter(b.info.name, handle);
  engine.setDirectMeter(b.info.name, handle, e.config ? meterRatesOf(e.config, `direct meter of "${b.info.name}"`) : undefined);
  undo.push(() => engine.setDirectMeter(b.info.name, again(), before));
}

export function readDirectMeters(st: RuntimeState, q: DirectMeterEntry, readEntries: (te: TableEntry) => TableEntry[]): DirectMeterEntry[] {
  const engine = st.pipeline.engine;
  const entries = readEntries(q.tableEntry ?? create(DirectMeterEntrySchema).tableEntry!);
  return entries.flatMap((x) => {
    const b = st.pipeline.table(x.tableId);
    if (!b.info.directMeter || x.isDefaultAction) return [];
    const h = engine.findEntry(b.info.name, matchToKey(b, x.match), x.priority)!;
    const rates = engine.getDirectMeter(b.info.name, h);
    const { action: _a, ...rest } = x;
    return [
      create(DirectMeterEntrySchema, { tableEntry: { ...rest, action: undefined }, ...(rates ? { config: toMeterConfig(rates) } : {}) }),
    ];
  });
}

// -- registers --------------------------------------------------------------

export function writeRegister(st: RuntimeState, type: Update_Type, e: RegisterEntry, undo: UndoLog): void {
  const r = st.pipeline.index.registers.find(e.registerId);
  if (!r) throw notFound(`unknown register id ${e.registerId}`);
  const what = `register "${r.name}"`;
  onlyModify(type, what);
  const engine = st.pipeline.engine;
  const width = engine.registerWidth(r.name);
  if (e.data?.data.case !== "bitstring") throw invalid(`${what}: the value must be a bitstring`);
  const raw = e.data.data.value;
  let v: bigint;
  // Empty or too wide: OUT_OF_RANGE ("Bytestrings").
  if (raw.length === 0) throw outOfRange(`${what}: the value is an empty bytestring`);
  if (r.signed) {
    let s: bigint;
    try {
      s = decodeSigned(raw, width, what);
    } catch (e) {
      throw outOfRange(e instanceof Error ? e.message : String(e));
    }
    v = s < 0n ? (1n << BigInt(width)) + s : s;
  } else {
    v = decodeUnsigned(raw);
    if (v > maxUnsigned(width)) throw outOfRange(`${what}: value does not fit in ${width} bits`);
  }
  for (const i of indices(e.index?.index, engine.registerSize(r.name), what)) {
    const before = engine.readRegister(r.name, i);
    engine.writeRegister(r.name, i, v);
    undo.push(() => engine.writeRegister(r.name, i, before));
  }
}

export function readRegisters(st: RuntimeState, q: RegisterEntry): RegisterEntry[] {
  const idx = st.pipeline.index;
  const engine = st.pipeline.engine;
  const list =
    q.registerId === 0 ? [...idx.registers] : [idx.registers.find(q.registerId) ?? notFoundThrow(`unknown register id ${q.registerId}`)];
  return list.flatMap((r) => {
    const width = engine.registerWidth(r.name);
    return indices(q.index?.index, engine.registerSize(r.name), `register "${r.name}"`).map((i) => {
      const v = engine.readRegister(r.name, i);
      const bytes = r.signed ? encodeSigned(v >= 1n << BigInt(width - 1) ? v - (1n << BigInt(width)) : v, width) : encodeUnsigned(v, width);
      return create(RegisterEntrySchema, {
        registerId: r.id,
        index: create(IndexSchema, { index: BigInt(i) }),
        data: create(P4DataSchema, { data: { case: "bitstring", value: bytes } }),
      });
    });
  });
}
