/**
 * Table entries: match fields by name with human-readable values, an action
 * (direct, action-profile member or group, or one-shot action set),
 * priority, default entry, idle timeout, and direct counter/meter data.
 */
import { create } from "@bufbuild/protobuf";
import { P4ValueError } from "../../p4runtime/errors.js";
import { type MatchInput, type MatchSpec, decodeMatch, encodeMatch, formatMatch, parseMatch } from "../../p4runtime/codec/match.js";
import { guessFormat } from "../../p4runtime/codec/values.js";
import type { P4InfoIndex, TableInfo } from "../../p4runtime/p4info/index.js";
import {
  ActionProfileActionSchema,
  ActionProfileActionSetSchema,
  type TableEntry,
  TableEntrySchema,
  TableEntry_IdleTimeoutSchema,
  type TableAction,
  TableActionSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import {
  type ActionCallInput,
  type CounterDataValue,
  type DecodedActionCall,
  type EncodeOptions,
  type MeterConfigValue,
  type MeterCounterDataValue,
  decodeAction,
  decodeCounterData,
  decodeMeterConfig,
  decodeMeterCounterData,
  encodeAction,
  encodeCounterData,
  encodeMeterConfig,
  encodeMeterCounterData,
  formatAction,
} from "./common.js";

/** One action of a one-shot action set, with its weight. */
export interface WeightedActionInput extends ActionCallInput {
  readonly weight?: number;
}

export type TableActionInput =
  | string
  | ActionCallInput
  | { readonly member: number }
  | { readonly group: number }
  | { readonly oneShot: readonly WeightedActionInput[] };

export interface TableEntryInput {
  /** Name or id; in reads, "*" (or 0) reads every table. */
  readonly table: string | number;
  /** Match values by field name; omitted ternary/lpm/range/optional fields are "don't care". */
  readonly match?: Readonly<Record<string, MatchInput>>;
  readonly action?: TableActionInput;
  readonly priority?: number;
  /** Addresses the table's default entry (no match allowed). */
  readonly isDefault?: boolean;
  readonly idleTimeoutNs?: bigint;
  readonly meterConfig?: MeterConfigValue;
  readonly counterData?: CounterDataValue;
  readonly meterCounterData?: MeterCounterDataValue;
  readonly metadata?: Uint8Array;
  /** In reads: ask for the time since the entry's last hit. */
  readonly withTimeSinceLastHit?: boolean;
}

export type DecodedTableAction =
  | ({ readonly kind: "action" } & DecodedActionCall)
  | { readonly kind: "member"; readonly member: number }
  | { readonly kind: "group"; readonly group: number }
  | { readonly kind: "oneShot"; readonly actions: readonly (DecodedActionCall & { readonly weight: number })[] };

export interface DecodedTableEntry {
  readonly table: string;
  readonly match: Readonly<Record<string, MatchSpec>>;
  readonly action?: DecodedTableAction;
  readonly priority: number;
  readonly isDefault: boolean;
  readonly isConst: boolean;
  readonly idleTimeoutNs: bigint;
  readonly timeSinceLastHitNs?: bigint;
  readonly meterConfig?: MeterConfigValue;
  readonly counterData?: CounterDataValue;
  readonly meterCounterData?: MeterCounterDataValue;
  readonly metadata: Uint8Array;
}

/**
 * Builds a p4.v1.TableEntry. With `forRead`, a missing action and missing
 * exact fields are allowed (a wildcard read); with `keyOnly` (deletes) the
 * action may be omitted; otherwise the entry must be complete for a write.
 */
export function encodeTableEntry(
  index: P4InfoIndex,
  input: TableEntryInput,
  opts: EncodeOptions & { forRead?: boolean; keyOnly?: boolean } = {},
): TableEntry {
  if (opts.forRead && (input.table === "*" || input.table === 0)) {
    if (input.match && Object.keys(input.match).length > 0)
      throw new P4ValueError('a read of every table (table "*") cannot filter by match fields');
    return create(TableEntrySchema, { tableId: 0, ...(input.counterData ? { counterData: encodeCounterData(input.counterData) } : {}) });
  }
  const table = index.table(input.table);
  const te = create(TableEntrySchema, { tableId: table.id });
  const given = input.match ?? {};
  if (input.isDefault) {
    if (Object.keys(given).length > 0) throw new P4ValueError(`table "${table.name}": the default entry has no match fields`);
    te.isDefaultAction = true;
  } else {
    const seen = new Set<number>();
    for (const [name, value] of Object.entries(given)) {
      const field = table.matchFields.get(name);
      if (seen.has(field.id)) throw new P4ValueError(`table "${table.name}": match field "${field.name}" given twice`, field.name);
      seen.add(field.id);
      const spec = parseMatch(value, field);
      if (spec) te.match.push(encodeMatch(spec, field, opts.mode));
    }
    if (!opts.forRead) {
      const missing = table.matchFieldList.filter((f) => f.kind === "exact" && !seen.has(f.id));
      if (missing.length > 0) {
        throw new P4ValueError(`table "${table.name}": exact match field(s) ${missing.map((f) => `"${f.name}"`).join(", ")} must be given`);
      }
    }
    te.match.sort((a, b) => a.fieldId - b.fieldId);
  }
  if (input.priority !== undefined) {
    if (!Number.isInteger(input.priority) || input.priority < 0 || input.priority > 0x7fffffff) {
      throw new P4ValueError(`table "${table.name}": priority ${input.priority} is outside 1..2147483647`);
    }
    te.priority = input.priority;
  }
  if (!opts.forRead && !input.isDefault) {
    if (table.needsPriority && te.priority === 0) {
      throw new P4ValueError(`table "${table.name}" has ternary, range or optional fields: entries need a priority > 0`);
    }
    if (!table.needsPriority && te.priority !== 0) {
      throw new P4ValueError(`table "${table.name}" has only exact/lpm fields: entries must not set a priority`);
    }
  }
  if (input.action !== undefined) te.action = encodeTableAction(index, table, input.action, opts);
  else if (!opts.forRead && !opts.keyOnly && !input.isDefault) throw new P4ValueError(`table "${table.name}": an entry needs an action`);
  if (input.idleTimeoutNs !== undefined) {
    if (input.idleTimeoutNs !== 0n && !table.supportsIdleTimeout) {
      throw new P4ValueError(`table "${table.name}" does not support idle timeouts (declare support_timeout = true)`);
    }
    te.idleTimeoutNs = input.idleTimeoutNs;
  }
  if (input.meterConfig) {
    if (!table.directMeter) throw new P4ValueError(`table "${table.name}" has no direct meter`);
    te.meterConfig = encodeMeterConfig(input.meterConfig, `direct meter of "${table.name}"`);
  }
  if (input.counterData) {
    if (!table.directCounter && !opts.forRead) throw new P4ValueError(`table "${table.name}" has no direct counter`);
    te.counterData = encodeCounterData(input.counterData);
  }
  if (input.meterCounterData) te.meterCounterData = encodeMeterCounterData(input.meterCounterData);
  if (input.metadata) te.metadata = input.metadata;
  if (input.withTimeSinceLastHit) te.timeSinceLastHit = create(TableEntry_IdleTimeoutSchema, {});
  return te;
}

function encodeTableAction(index: P4InfoIndex, table: TableInfo, input: TableActionInput, opts: EncodeOptions): TableAction {
  if (typeof input === "object" && "member" in input) {
    if (!table.implementation)
      throw new P4ValueError(`table "${table.name}" is not indirect: it takes actions, not action-profile members`);
    return create(TableActionSchema, { type: { case: "actionProfileMemberId", value: input.member } });
  }
  if (typeof input === "object" && "group" in input) {
    if (!table.implementation?.withSelector) throw new P4ValueError(`table "${table.name}" has no action selector: it cannot use groups`);
    return create(TableActionSchema, { type: { case: "actionProfileGroupId", value: input.group } });
  }
  if (typeof input === "object" && "oneShot" in input) {
    if (!table.implementation?.withSelector)
      throw new P4ValueError(`table "${table.name}" has no action selector: one-shot selection needs one`);
    const set = create(ActionProfileActionSetSchema, {
      actionProfileActions: input.oneShot.map((a) =>
        create(ActionProfileActionSchema, { action: encodeAction(index, a, opts, table), weight: a.weight ?? 1 }),
      ),
    });
    return create(TableActionSchema, { type: { case: "actionProfileActionSet", value: set } });
  }
  if (table.implementation) {
    throw new P4ValueError(
      `table "${table.name}" is indirect (action profile "${table.implementation.name}"): use { member }, { group } or { oneShot }`,
    );
  }
  return create(TableActionSchema, { type: { case: "action", value: encodeAction(index, input, opts, table) } });
}

export function decodeTableEntry(index: P4InfoIndex, te: TableEntry): DecodedTableEntry {
  const table = index.table(te.tableId);
  const match: Record<string, MatchSpec> = {};
  for (const fm of te.match) {
    const field = table.matchFields.get(fm.fieldId);
    match[field.name] = decodeMatch(fm, field);
  }
  let action: DecodedTableAction | undefined;
  const t = te.action?.type;
  switch (t?.case) {
    case "action":
      action = { kind: "action", ...decodeAction(index, t.value) };
      break;
    case "actionProfileMemberId":
      action = { kind: "member", member: t.value };
      break;
    case "actionProfileGroupId":
      action = { kind: "group", group: t.value };
      break;
    case "actionProfileActionSet":
      action = {
        kind: "oneShot",
        actions: t.value.actionProfileActions.map((a) => ({ ...decodeAction(index, a.action!), weight: a.weight })),
      };
      break;
    default:
      action = undefined;
  }
  const meterConfig = decodeMeterConfig(te.meterConfig);
  const meterCounterData = decodeMeterCounterData(te.meterCounterData);
  return {
    table: table.name,
    match,
    ...(action ? { action } : {}),
    priority: te.priority,
    isDefault: te.isDefaultAction,
    isConst: te.isConst,
    idleTimeoutNs: te.idleTimeoutNs,
    ...(te.timeSinceLastHit ? { timeSinceLastHitNs: te.timeSinceLastHit.elapsedNs } : {}),
    ...(meterConfig ? { meterConfig } : {}),
    ...(te.counterData ? { counterData: decodeCounterData(te.counterData) } : {}),
    ...(meterCounterData ? { meterCounterData } : {}),
    metadata: te.metadata,
  };
}

/** One line per entry, e.g. `ipv4_lpm hdr.ipv4.dst_addr=10.0.0.0/8 -> set_nhop(port=1)`. */
export function formatTableEntry(index: P4InfoIndex, e: DecodedTableEntry): string {
  const table = index.table(e.table);
  const parts: string[] = [table.name];
  if (e.isDefault) parts.push("(default)");
  for (const [name, spec] of Object.entries(e.match)) {
    const f = table.matchFields.get(name);
    parts.push(`${name}=${formatMatch(spec, guessFormat(name, f.bitwidth, f.annotations))}`);
  }
  if (e.priority) parts.push(`priority=${e.priority}`);
  const a = e.action;
  if (a) {
    const text =
      a.kind === "action"
        ? formatAction(index, a)
        : a.kind === "member"
          ? `member ${a.member}`
          : a.kind === "group"
            ? `group ${a.group}`
            : a.actions.map((x) => `${formatAction(index, x)}*${x.weight}`).join(" | ");
    parts.push("->", text);
  }
  return parts.join(" ");
}
