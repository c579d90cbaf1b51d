/** Indexed counters and direct (per-table-entry) counters. */
import { create } from "@bufbuild/protobuf";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { P4ValueError } from "../../p4runtime/errors.js";
import {
  type CounterEntry,
  CounterEntrySchema,
  type DirectCounterEntry,
  DirectCounterEntrySchema,
  IndexSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { type CounterDataValue, type EncodeOptions, checkIndex, decodeCounterData, encodeCounterData } from "./common.js";
import { type DecodedTableEntry, type TableEntryInput, decodeTableEntry, encodeTableEntry } from "./table-entry.js";

export interface CounterEntryInput {
  readonly counter: string | number;
  /** Omitted: every index (reads) or all cells (writes reset every cell). */
  readonly index?: number | bigint;
  readonly data?: CounterDataValue;
}

export interface DecodedCounterEntry {
  readonly counter: string;
  readonly index: bigint;
  readonly data: CounterDataValue;
}

export interface DirectCounterEntryInput {
  /** The table entry (table and match) whose counter this is. */
  readonly entry: TableEntryInput;
  readonly data?: CounterDataValue;
}

export interface DecodedDirectCounterEntry {
  readonly entry: DecodedTableEntry;
  readonly data: CounterDataValue;
}

export function encodeCounterEntry(index: P4InfoIndex, input: CounterEntryInput): CounterEntry {
  const counter = index.counter(input.counter);
  return create(CounterEntrySchema, {
    counterId: counter.id,
    ...(input.index !== undefined
      ? { index: create(IndexSchema, { index: checkIndex(input.index, counter.size, `counter "${counter.name}"`) }) }
      : {}),
    ...(input.data ? { data: encodeCounterData(input.data) } : {}),
  });
}

export function decodeCounterEntry(index: P4InfoIndex, e: CounterEntry): DecodedCounterEntry {
  return { counter: index.counter(e.counterId).name, index: e.index?.index ?? 0n, data: decodeCounterData(e.data) };
}

export function encodeDirectCounterEntry(index: P4InfoIndex, input: DirectCounterEntryInput, opts: EncodeOptions = {}): DirectCounterEntry {
  const table = index.table(input.entry.table);
  if (!table.directCounter) throw new P4ValueError(`table "${table.name}" has no direct counter`);
  const { action: _ignored, ...rest } = input.entry;
  return create(DirectCounterEntrySchema, {
    tableEntry: encodeTableEntry(index, rest, { ...opts, forRead: true }),
    ...(input.data ? { data: encodeCounterData(input.data) } : {}),
  });
}

export function decodeDirectCounterEntry(index: P4InfoIndex, e: DirectCounterEntry): DecodedDirectCounterEntry {
  return { entry: decodeTableEntry(index, e.tableEntry!), data: decodeCounterData(e.data) };
}
