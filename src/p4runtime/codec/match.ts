/**
 * Match-field values for table entries and value sets: parsing the notations
 * people write (addr/len, value&&&mask, lo..hi), checking them against the
 * field's kind and width, and converting to and from p4.v1.FieldMatch.
 * "Don't care" matches (lpm /0, ternary mask 0, full range) are omitted from
 * the FieldMatch list as the specification requires.
 */
import { create } from "@bufbuild/protobuf";
import { P4ValueError } from "../errors.js";
import {
  type FieldMatch,
  FieldMatchSchema,
  FieldMatch_ExactSchema,
  FieldMatch_LPMSchema,
  FieldMatch_OptionalSchema,
  FieldMatch_RangeSchema,
  FieldMatch_TernarySchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { type BytestringMode, decodeUnsigned, encodeUnsigned, maxUnsigned } from "./bytestring.js";
import { type ValueFormat, type ValueInput, formatValue, parseValue } from "./values.js";

export type MatchKind = "exact" | "lpm" | "ternary" | "range" | "optional";

/** A decoded match value. */
export type MatchSpec =
  | { readonly kind: "exact"; readonly value: bigint }
  | { readonly kind: "lpm"; readonly value: bigint; readonly prefixLen: number }
  | { readonly kind: "ternary"; readonly value: bigint; readonly mask: bigint }
  | { readonly kind: "range"; readonly low: bigint; readonly high: bigint }
  | { readonly kind: "optional"; readonly value: bigint };

/** What a caller may pass for one match field. */
export type MatchInput =
  | ValueInput
  | { readonly value: ValueInput; readonly prefixLen: number }
  | { readonly value: ValueInput; readonly mask: ValueInput }
  | { readonly low: ValueInput; readonly high: ValueInput };

/** The field a match value is for. */
export interface MatchFieldShape {
  readonly id: number;
  readonly name: string;
  readonly bitwidth: number;
  readonly kind: MatchKind;
}

/**
 * Parses a match value for `field`. Returns undefined for a "don't care"
 * value (which must be omitted from the entry). Throws P4ValueError naming
 * the field for malformed or out-of-range input.
 */
export function parseMatch(input: MatchInput, field: MatchFieldShape): MatchSpec | undefined {
  const { name, bitwidth: w } = field;
  const what = `${name} (${field.kind}, ${w} bits)`;
  switch (field.kind) {
    case "exact":
      return { kind: "exact", value: parseValue(scalar(input, what), w, name) };
    case "optional":
      if (input === "*") return undefined;
      return { kind: "optional", value: parseValue(scalar(input, what), w, name) };
    case "lpm": {
      let value: bigint;
      let prefixLen: number;
      if (typeof input === "object" && !(input instanceof Uint8Array) && "prefixLen" in input) {
        value = parseValue(input.value, w, name);
        prefixLen = input.prefixLen;
      } else if (typeof input === "string" && input.includes("/")) {
        const slash = input.lastIndexOf("/");
        value = parseValue(input.slice(0, slash), w, name);
        const len = input.slice(slash + 1).trim();
        if (!/^\d+$/.test(len)) throw new P4ValueError(`${what}: bad prefix length in ${JSON.stringify(input)}`, name);
        prefixLen = Number(len);
      } else {
        value = parseValue(scalar(input, what), w, name);
        prefixLen = w;
      }
      if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > w) {
        throw new P4ValueError(`${what}: prefix length ${prefixLen} is outside 0..${w}`, name);
      }
      const hostBits = maxUnsigned(w - prefixLen);
      if ((value & hostBits) !== 0n) {
        throw new P4ValueError(`${what}: ${show(input)} has bits set beyond the /${prefixLen} prefix`, name);
      }
      return prefixLen === 0 ? undefined : { kind: "lpm", value, prefixLen };
    }
    case "ternary": {
      let value: bigint;
      let mask: bigint;
      if (typeof input === "object" && !(input instanceof Uint8Array) && "mask" in input) {
        value = parseValue(input.value, w, name);
        mask = parseValue(input.mask, w, name);
      } else if (typeof input === "string" && input.includes("&&&")) {
        const [v, m] = input.split("&&&");
        value = parseValue(v!, w, name);
        mask = parseValue(m!, w, name);
      } else if (input === "*") {
        return undefined;
      } else {
        value = parseValue(scalar(input, what), w, name);
        mask = maxUnsigned(w);
      }
      if ((value & ~mask) !== 0n) {
        throw new P4ValueError(`${what}: value has bits set outside the mask in ${show(input)}`, name);
      }
      return mask === 0n ? undefined : { kind: "ternary", value, mask };
    }
    case "range": {
      let low: bigint;
      let high: bigint;
      if (typeof input === "object" && !(input instanceof Uint8Array) && "low" in input) {
        low = parseValue(input.low, w, name);
        high = parseValue(input.high, w, name);
      } else if (typeof input === "string" && input.includes("..")) {
        const [l, h] = input.split("..");
        low = parseValue(l!, w, name);
        high = parseValue(h!, w, name);
      } else if (input === "*") {
        return undefined;
      } else {
        low = high = parseValue(scalar(input, what), w, name);
      }
      if (low > high) throw new P4ValueError(`${what}: empty range ${show(input)} (low > high)`, name);
      return low === 0n && high === maxUnsigned(w) ? undefined : { kind: "range", low, high };
    }
  }
}

function scalar(input: MatchInput, what: string): ValueInput {
  if (typeof input === "object" && !(input instanceof Uint8Array)) {
    throw new P4ValueError(`${what}: expected a single value, got ${show(input)}`);
  }
  return input;
}

function show(input: MatchInput): string {
  return typeof input === "string"
    ? JSON.stringify(input)
    : JSON.stringify(input, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Encodes a parsed match as a p4.v1.FieldMatch. */
export function encodeMatch(spec: MatchSpec, field: MatchFieldShape, mode: BytestringMode = "canonical"): FieldMatch {
  const w = field.bitwidth;
  const enc = (v: bigint) => encodeUnsigned(v, w, mode, field.name);
  const fm = create(FieldMatchSchema, { fieldId: field.id });
  switch (spec.kind) {
    case "exact":
      fm.fieldMatchType = { case: "exact", value: exactMsg(enc(spec.value)) };
      break;
    case "optional":
      fm.fieldMatchType = { case: "optional", value: create(FieldMatch_OptionalSchema, { value: enc(spec.value) }) };
      break;
    case "lpm":
      fm.fieldMatchType = { case: "lpm", value: lpmMsg(enc(spec.value), spec.prefixLen) };
      break;
    case "ternary":
      fm.fieldMatchType = { case: "ternary", value: ternaryMsg(enc(spec.value), enc(spec.mask)) };
      break;
    case "range":
      fm.fieldMatchType = { case: "range", value: rangeMsg(enc(spec.low), enc(spec.high)) };
      break;
  }
  return fm;
}

const exactMsg = (value: Uint8Array) => create(FieldMatch_ExactSchema, { value });
const lpmMsg = (value: Uint8Array, prefixLen: number) => create(FieldMatch_LPMSchema, { value, prefixLen });
const ternaryMsg = (value: Uint8Array, mask: Uint8Array) => create(FieldMatch_TernarySchema, { value, mask });
const rangeMsg = (low: Uint8Array, high: Uint8Array) => create(FieldMatch_RangeSchema, { low, high });

/** Decodes a FieldMatch for `field`, checking kind and width. */
export function decodeMatch(fm: FieldMatch, field: MatchFieldShape): MatchSpec {
  const w = field.bitwidth;
  const dec = (b: Uint8Array) => decodeUnsigned(b, w, field.name);
  const t = fm.fieldMatchType;
  const mismatch = () => new P4ValueError(`${field.name}: expected a ${field.kind} match, got ${t.case ?? "nothing"}`, field.name);
  switch (t.case) {
    case "exact":
      if (field.kind !== "exact") throw mismatch();
      return { kind: "exact", value: dec(t.value.value) };
    case "optional":
      if (field.kind !== "optional") throw mismatch();
      return { kind: "optional", value: dec(t.value.value) };
    case "lpm":
      if (field.kind !== "lpm") throw mismatch();
      return { kind: "lpm", value: dec(t.value.value), prefixLen: t.value.prefixLen };
    case "ternary":
      if (field.kind !== "ternary") throw mismatch();
      return { kind: "ternary", value: dec(t.value.value), mask: dec(t.value.mask) };
    case "range":
      if (field.kind !== "range") throw mismatch();
      return { kind: "range", low: dec(t.value.low), high: dec(t.value.high) };
    default:
      throw mismatch();
  }
}

/** Text for a match value: "10.0.0.0/8", "0x800&&&0xffff", "1..5". */
export function formatMatch(spec: MatchSpec, format: ValueFormat): string {
  switch (spec.kind) {
    case "exact":
    case "optional":
      return formatValue(spec.value, format);
    case "lpm":
      return `${formatValue(spec.value, format)}/${spec.prefixLen}`;
    case "ternary":
      return `${formatValue(spec.value, format)}&&&${formatValue(spec.mask, format === "int" ? "hex" : format)}`;
    case "range":
      return `${formatValue(spec.low, format)}..${formatValue(spec.high, format)}`;
  }
}
