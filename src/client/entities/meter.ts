/** Indexed meters and direct (per-table-entry) meters. */
import { create } from "@bufbuild/protobuf";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { P4ValueError } from "../../p4runtime/errors.js";
import {
  type DirectMeterEntry,
  DirectMeterEntrySchema,
  IndexSchema,
  type MeterEntry,
  MeterEntrySchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import {
  type EncodeOptions,
  type MeterConfigValue,
  type MeterCounterDataValue,
  checkIndex,
  decodeMeterConfig,
  decodeMeterCounterData,
  encodeMeterConfig,
} from "./common.js";
import { type DecodedTableEntry, type TableEntryInput, decodeTableEntry, encodeTableEntry } from "./table-entry.js";

export interface MeterEntryInput {
  readonly meter: string | number;
  readonly index?: number | bigint;
  /** Omitted in a write: back to "everything green". */
  readonly config?: MeterConfigValue;
}

export interface DecodedMeterEntry {
  readonly meter: string;
  readonly index: bigint;
  readonly config?: MeterConfigValue;
  readonly counterData?: MeterCounterDataValue;
}

export interface DirectMeterEntryInput {
  readonly entry: TableEntryInput;
  readonly config?: MeterConfigValue;
}

export interface DecodedDirectMeterEntry {
  readonly entry: DecodedTableEntry;
  readonly config?: MeterConfigValue;
  readonly counterData?: MeterCounterDataValue;
}

export function encodeMeterEntry(index: P4InfoIndex, input: MeterEntryInput): MeterEntry {
  const meter = index.meter(input.meter);
  return create(MeterEntrySchema, {
    meterId: meter.id,
    ...(input.index !== undefined
      ? { index: create(IndexSchema, { index: checkIndex(input.index, meter.size, `meter "${meter.name}"`) }) }
      : {}),
    ...(input.config ? { config: encodeMeterConfig(input.config, `meter "${meter.name}"`) } : {}),
  });
}

export function decodeMeterEntry(index: P4InfoIndex, e: MeterEntry): DecodedMeterEntry {
  const config = decodeMeterConfig(e.config);
  const counterData = decodeMeterCounterData(e.counterData);
  return {
    meter: index.meter(e.meterId).name,
    index: e.index?.index ?? 0n,
    ...(config ? { config } : {}),
    ...(counterData ? { counterData } : {}),
  };
}

export function encodeDirectMeterEntry(index: P4InfoIndex, input: DirectMeterEntryInput, opts: EncodeOptions = {}): DirectMeterEntry {
  const table = index.table(input.entry.table);
  if (!table.directMeter) throw new P4ValueError(`table "${table.name}" has no direct meter`);
  const { action: _ignored, ...rest } = input.entry;
  return create(DirectMeterEntrySchema, {
    tableEntry: encodeTableEntry(index, rest, { ...opts, forRead: true }),
    ...(input.config ? { config: encodeMeterConfig(input.config, `direct meter of "${table.name}"`) } : {}),
  });
}

export function decodeDirectMeterEntry(index: P4InfoIndex, e: DirectMeterEntry): DecodedDirectMeterEntry {
  const config = decodeMeterConfig(e.config);
  const counterData = decodeMeterCounterData(e.counterData);
  return { entry: decodeTableEntry(index, e.tableEntry!), ...(config ? { config } : {}), ...(counterData ? { counterData } : {}) };
}
