/**
 * Pieces shared by the entity families: encoding options, action calls
 * (used by table entries, action-profile members and one-shot selection),
 * counter and meter data.
 */
import { create } from "@bufbuild/protobuf";
import { P4ValueError } from "../../p4runtime/errors.js";
import type { BytestringMode } from "../../p4runtime/codec/bytestring.js";
import { decodeUnsigned, encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import { type ValueInput, formatValue, guessFormat, parseValue } from "../../p4runtime/codec/values.js";
import type { ActionInfo, P4InfoIndex, TableInfo } from "../../p4runtime/p4info/index.js";
import {
  type Action,
  ActionSchema,
  Action_ParamSchema,
  type CounterData,
  CounterDataSchema,
  type MeterConfig,
  MeterConfigSchema,
  type MeterCounterData,
  MeterCounterDataSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";

export interface EncodeOptions {
  /** Bytestring form for values sent to the server (default canonical). */
  readonly mode?: BytestringMode;
}

/** An action with named parameters: `{ name: "set_nhop", params: { port: 1 } }`. */
export interface ActionCallInput {
  readonly name: string | number;
  readonly params?: Readonly<Record<string, ValueInput>>;
}

export interface DecodedActionCall {
  readonly name: string;
  readonly params: Readonly<Record<string, bigint>>;
}

/** Encodes an action call; every parameter must be given exactly once. */
export function encodeAction(index: P4InfoIndex, input: ActionCallInput | string, opts: EncodeOptions = {}, table?: TableInfo): Action {
  const call = typeof input === "string" ? { name: input } : input;
  const action = table ? tableAction(table, call.name) : index.action(call.name);
  const given = call.params ?? {};
  const params = [];
  const used = new Set<string>();
  for (const p of action.params) {
    const key = p.name in given ? p.name : undefined;
    if (key === undefined) {
      const names = action.params.size ? [...action.params].map((x) => x.name).join(", ") : "none";
      throw new P4ValueError(`action "${action.name}": missing parameter "${p.name}" (parameters: ${names})`, p.name);
    }
    used.add(key);
    const value = parseValue(given[key]!, p.bitwidth, `${action.name}.${p.name}`);
    params.push(
      create(Action_ParamSchema, { paramId: p.id, value: encodeUnsigned(value, p.bitwidth, opts.mode, `${action.name}.${p.name}`) }),
    );
  }
  for (const k of Object.keys(given)) {
    if (!used.has(k)) {
      const names = [...action.params].map((x) => x.name).join(", ") || "none";
      throw new P4ValueError(`action "${action.name}": unknown parameter "${k}" (parameters: ${names})`, k);
    }
  }
  return create(ActionSchema, { actionId: action.id, params });
}

function tableAction(table: TableInfo, name: string | number): ActionInfo {
  return table.actions.get(name);
}

export function decodeAction(index: P4InfoIndex, action: Action): DecodedActionCall {
  const info = index.action(action.actionId);
  const params: Record<string, bigint> = {};
  for (const p of action.params) {
    const pi = info.params.get(p.paramId);
    params[pi.name] = decodeUnsigned(p.value, pi.bitwidth, `${info.name}.${pi.name}`);
  }
  return { name: info.name, params };
}

export function formatAction(index: P4InfoIndex, call: DecodedActionCall): string {
  const info = index.action(call.name);
  const args = Object.entries(call.params).map(([k, v]) => {
    const p = info.params.get(k);
    return `${k}=${formatValue(v, guessFormat(k, p.bitwidth, p.annotations))}`;
  });
  return `${info.name}(${args.join(", ")})`;
}

export interface CounterDataValue {
  readonly packets: bigint;
  readonly bytes: bigint;
}

export function encodeCounterData(d: CounterDataValue): CounterData {
  return create(CounterDataSchema, { packetCount: d.packets, byteCount: d.bytes });
}

export function decodeCounterData(d: CounterData | undefined): CounterDataValue {
  return { packets: d?.packetCount ?? 0n, bytes: d?.byteCount ?? 0n };
}

/**
 * Meter configuration in P4Runtime units: rates per second and bursts in the
 * meter's unit (bytes or packets). eburst is for single-rate meters.
 */
export interface MeterConfigValue {
  readonly cir: bigint | number;
  readonly cburst: bigint | number;
  readonly pir: bigint | number;
  readonly pburst: bigint | number;
  readonly eburst?: bigint | number;
}

export function encodeMeterConfig(c: MeterConfigValue, what = "meter"): MeterConfig {
  const big = (v: bigint | number, k: string) => {
    const b = BigInt(v);
    if (b < 0n) throw new P4ValueError(`${what}: ${k} must not be negative (got ${b})`, k);
    return b;
  };
  const cir = big(c.cir, "cir");
  const pir = big(c.pir, "pir");
  if (pir < cir) throw new P4ValueError(`${what}: pir (${pir}) must be at least cir (${cir}) for a two-rate meter`, "pir");
  return create(MeterConfigSchema, {
    cir,
    cburst: big(c.cburst, "cburst"),
    pir,
    pburst: big(c.pburst, "pburst"),
    eburst: c.eburst === undefined ? 0n : big(c.eburst, "eburst"),
  });
}

export function decodeMeterConfig(c: MeterConfig | undefined): MeterConfigValue | undefined {
  if (!c) return undefined;
  return { cir: c.cir, cburst: c.cburst, pir: c.pir, pburst: c.pburst, ...(c.eburst ? { eburst: c.eburst } : {}) };
}

export interface MeterCounterDataValue {
  readonly green: CounterDataValue;
  readonly yellow: CounterDataValue;
  readonly red: CounterDataValue;
}

export function encodeMeterCounterData(d: MeterCounterDataValue): MeterCounterData {
  return create(MeterCounterDataSchema, {
    green: encodeCounterData(d.green),
    yellow: encodeCounterData(d.yellow),
    red: encodeCounterData(d.red),
  });
}

export function decodeMeterCounterData(d: MeterCounterData | undefined): MeterCounterDataValue | undefined {
  if (!d) return undefined;
  return { green: decodeCounterData(d.green), yellow: decodeCounterData(d.yellow), red: decodeCounterData(d.red) };
}

/** Checks an index against an extern's size. */
export function checkIndex(index: number | bigint, size: bigint | number, what: string): bigint {
  const i = BigInt(index);
  if (i < 0n || (BigInt(size) > 0n && i >= BigInt(size))) {
    throw new P4ValueError(`${what}: index ${i} is outside 0..${BigInt(size) - 1n}`, what);
  }
  return i;
}
