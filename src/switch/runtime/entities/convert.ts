/**
 * Conversions between P4Runtime messages and the engine's runtime values:
 * bytestrings checked against widths, match fields in key order, actions.
 */
import { create } from "@bufbuild/protobuf";
import {
  type Action,
  ActionSchema,
  Action_ParamSchema,
  type FieldMatch,
  FieldMatchSchema,
  FieldMatch_ExactSchema,
  FieldMatch_LPMSchema,
  FieldMatch_OptionalSchema,
  FieldMatch_RangeSchema,
  FieldMatch_TernarySchema,
} from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import { decodeUnsigned, encodeUnsigned, maxUnsigned } from "../../../p4runtime/codec/bytestring.js";
import type { ActionInfo, MatchFieldInfo, P4InfoIndex } from "../../../p4runtime/p4info/index.js";
import type { ActionCall, MatchValue } from "../../engine/runtime-api.js";
import type { TableBinding } from "../pipeline.js";
import { type StatusError, invalid, outOfRange } from "../status.js";

/**
 * An unsigned value from a bytestring. An empty string, or a value wider than
 * `bitwidth`, is OUT_OF_RANGE (P4Runtime "Bytestrings").
 */
export function bytesToValue(bytes: Uint8Array, bitwidth: number, what: string, action?: string, param?: string): bigint {
  // An action parameter is named `<what>: <action>.<param>`, built only for an error.
  const name = () => (action === undefined ? what : `${what}: ${action}.${param}`);
  if (bytes.length === 0) throw outOfRange(`${name()}: empty bytestring`);
  const v = decodeUnsigned(bytes);
  if (v > maxUnsigned(bitwidth)) throw outOfRange(`${name()}: value 0x${v.toString(16)} does not fit in ${bitwidth} bits`);
  return v;
}

/** Canonical bytestring of a value. */
export function valueToBytes(v: bigint, bitwidth: number): Uint8Array {
  return encodeUnsigned(v, bitwidth);
}

/**
 * Converts a P4Runtime match (fields in any order, don't-cares omitted) to
 * engine key values in the table's key order. Checks every rule of the
 * specification: known field ids, no repeats, the field's match kind, widths,
 * canonical don't-care omission, lpm/ternary bits outside the prefix/mask.
 */
export function matchToKey(b: TableBinding, match: readonly FieldMatch[]): MatchValue[] {
  const t = b.info;
  // No map per entry: the fields are few, and more of them than the table has means an unknown or repeated id (found below).
  for (const fm of match) if (!t.matchFields.find(fm.fieldId)) throw invalid(`table "${t.name}": unknown match field id ${fm.fieldId}`);
  if (match.length > b.fieldAt.length) throw repeatedField(t.name, match);
  for (let i = 1; i < match.length; i++)
    for (let j = 0; j < i; j++) if (match[j]!.fieldId === match[i]!.fieldId) throw repeatedField(t.name, match);
  const fields = b.fieldAt;
  const key = new Array<MatchValue>(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const fm = match.find((m) => m.fieldId === f.id);
    key[i] = fieldToKey(f, fm, b.engine.keys[i]!.matchType, `table "${t.name}" field "${f.name}"`);
  }
  return key;
}

function repeatedField(table: string, match: readonly FieldMatch[]): StatusError {
  const seen = new Set<number>();
  for (const fm of match) {
    if (seen.has(fm.fieldId)) return invalid(`table "${table}": match field id ${fm.fieldId} appears twice`);
    seen.add(fm.fieldId);
  }
  return invalid(`table "${table}": more match fields than the table has`);
}

export function fieldToKey(f: MatchFieldInfo, fm: FieldMatch | undefined, engineKind: MatchValue["kind"], what: string): MatchValue {
  const w = f.bitwidth;
  const all = maxUnsigned(w);
  const m = fm?.fieldMatchType;
  if (m && m.case !== f.kind) throw invalid(`${what}: expected a ${f.kind} match, got ${m.case ?? "none"}`);
  let spec: MatchValue;
  switch (f.kind) {
    case "exact":
      if (m?.case !== "exact") throw invalid(`${what}: exact match fields must be given`);
      spec = { kind: "exact", value: bytesToValue(m.value.value, w, what) };
      break;
    case "lpm": {
      if (m?.case !== "lpm") {
        spec = { kind: "lpm", value: 0n, prefixLength: 0 };
        break;
      }
      const len = m.value.prefixLen;
      if (len <= 0 || len > w) throw invalid(`${what}: prefix length ${len} is outside 1..${w} (omit the field for a /0 match)`);
      const v = bytesToValue(m.value.value, w, what);
      if ((v & maxUnsigned(w - len)) !== 0n) throw invalid(`${what}: value has bits set beyond the /${len} prefix`);
      spec = { kind: "lpm", value: v, prefixLength: len };
      break;
    }
    case "ternary": {
      if (m?.case !== "ternary") {
        spec = { kind: "ternary", value: 0n, mask: 0n };
        break;
      }
      const v = bytesToValue(m.value.value, w, what);
      const mask = bytesToValue(m.value.mask, w, `${what} mask`);
      if (mask === 0n) throw invalid(`${what}: a zero mask is a don't-care match and must be omitted`);
      if ((v & ~mask) !== 0n) throw invalid(`${what}: value has bits set outside the mask`);
      spec = { kind: "ternary", value: v, mask };
      break;
    }
    case "range": {
      if (m?.case !== "range") {
        spec = { kind: "range", low: 0n, high: all };
        break;
      }
      const lo = bytesToValue(m.value.low, w, `${what} low`);
      const hi = bytesToValue(m.value.high, w, `${what} high`);
      if (lo > hi) throw invalid(`${what}: low bound above high bound`);
      if (lo === 0n && hi === all) throw invalid(`${what}: the full range is a don't-care match and must be omitted`);
      spec = { kind: "range", low: lo, high: hi };
      break;
    }
    case "optional":
      spec =
        m?.case !== "optional"
          ? { kind: "optional", value: 0n, wildcard: true }
          : { kind: "optional", value: bytesToValue(m.value.value, w, what), wildcard: false };
      break;
  }
  return adaptKind(spec, engineKind, w);
}

/** The JSON may implement a P4Info kind with another (optional as ternary). */
function adaptKind(spec: MatchValue, engineKind: MatchValue["kind"], w: number): MatchValue {
  if (spec.kind === engineKind) return spec;
  if (spec.kind === "optional" && engineKind === "ternary")
    return { kind: "ternary", value: spec.value, mask: spec.wildcard ? 0n : maxUnsigned(w) };
  if (spec.kind === "exact" && engineKind === "ternary") return { kind: "ternary", value: spec.value, mask: maxUnsigned(w) };
  throw invalid(`match kind ${spec.kind} cannot be used for a ${engineKind} key`);
}

/** Engine key back to P4Runtime fields (don't-cares omitted, canonical bytes). */
export function keyToMatch(b: TableBinding, key: readonly MatchValue[]): FieldMatch[] {
  const out: FieldMatch[] = [];
  b.fieldAt.forEach((f, i) => {
    const fm = keyToField(f, key[i]!);
    if (fm) out.push(fm);
  });
  return out.sort((a, c) => a.fieldId - c.fieldId);
}

export function keyToField(f: MatchFieldInfo, k: MatchValue): FieldMatch | undefined {
  const w = f.bitwidth;
  const bytes = (v: bigint) => valueToBytes(v, w);
  const fm = create(FieldMatchSchema, { fieldId: f.id });
  switch (f.kind) {
    case "exact": {
      const v = k.kind === "exact" ? k.value : k.kind === "ternary" ? k.value : 0n;
      fm.fieldMatchType = { case: "exact", value: create(FieldMatch_ExactSchema, { value: bytes(v) }) };
      return fm;
    }
    case "lpm":
      if (k.kind !== "lpm" || k.prefixLength === 0) return undefined;
      fm.fieldMatchType = { case: "lpm", value: create(FieldMatch_LPMSchema, { value: bytes(k.value), prefixLen: k.prefixLength }) };
      return fm;
    case "ternary":
      if (k.kind !== "ternary" || k.mask === 0n) return undefined;
      fm.fieldMatchType = { case: "ternary", value: create(FieldMatch_TernarySchema, { value: bytes(k.value), mask: bytes(k.mask) }) };
      return fm;
    case "range":
      if (k.kind !== "range" || (k.low === 0n && k.high === maxUnsigned(w))) return undefined;
      fm.fieldMatchType = { case: "range", value: create(FieldMatch_RangeSchema, { low: bytes(k.low), high: bytes(k.high) }) };
      return fm;
    case "optional": {
      const wildcard = k.kind === "optional" ? k.wildcard : k.kind === "ternary" ? k.mask === 0n : true;
      if (wildcard) return undefined;
      const v = k.kind === "optional" || k.kind === "ternary" ? k.value : 0n;
      fm.fieldMatchType = { case: "optional", value: create(FieldMatch_OptionalSchema, { value: bytes(v) }) };
      return fm;
    }
  }
}

/** A P4Runtime Action as an engine call, with every parameter checked. */
export function actionToCall(index: P4InfoIndex, a: Action, what: string): { info: ActionInfo; call: ActionCall } {
  const info = index.actions.find(a.actionId);
  if (!info) throw invalid(`${what}: unknown action id ${a.actionId}`);
  const given = a.params;
  // No map per call: the parameters are few, and more of them than declared means an unknown or repeated id (found below).
  for (const p of given) if (!info.params.find(p.paramId)) throw invalid(`${what}: action "${info.name}" has no parameter id ${p.paramId}`);
  const declared = info.params.items;
  const twice = (id: number) => invalid(`${what}: action "${info.name}" parameter id ${id} given twice`);
  if (given.length > declared.length) {
    const seen = new Set<number>();
    for (const p of given) {
      if (seen.has(p.paramId)) throw twice(p.paramId);
      seen.add(p.paramId);
    }
  }
  for (let i = 1; i < given.length; i++)
    for (let j = 0; j < i; j++) if (given[j]!.paramId === given[i]!.paramId) throw twice(given[i]!.paramId);
  const args = new Array<bigint>(declared.length);
  for (let k = 0; k < declared.length; k++) {
    const d = declared[k]!;
    const raw = given.find((p) => p.paramId === d.id)?.value;
    if (!raw) throw invalid(`${what}: action "${info.name}" is missing parameter "${d.name}"`);
    args[k] = bytesToValue(raw, d.bitwidth, what, info.name, d.name);
  }
  return { info, call: { action: info.name, args } };
}

export function callToAction(index: P4InfoIndex, call: ActionCall): Action {
  const info = index.action(call.action);
  const params = [...info.params].map((p, i) =>
    create(Action_ParamSchema, { paramId: p.id, value: valueToBytes(call.args[i] ?? 0n, p.bitwidth) }),
  );
  return create(ActionSchema, { actionId: info.id, params });
}
