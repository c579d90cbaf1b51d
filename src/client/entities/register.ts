/** Register cells as P4Runtime RegisterEntry (bit<W> and int<W> cells). */
import { create } from "@bufbuild/protobuf";
import type { P4InfoIndex, RegisterInfo } from "../../p4runtime/p4info/index.js";
import { P4ValueError } from "../../p4runtime/errors.js";
import { decodeSigned, decodeUnsigned, encodeSigned, encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import { type ValueInput, parseValue } from "../../p4runtime/codec/values.js";
import { IndexSchema, type RegisterEntry, RegisterEntrySchema } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { type P4Data, P4DataSchema } from "../../proto/gen/p4/v1/p4data_pb.js";
import { type EncodeOptions, checkIndex } from "./common.js";

export interface RegisterEntryInput {
  readonly register: string | number;
  /** Omitted in a read: every cell. */
  readonly index?: number | bigint;
  readonly value?: ValueInput;
}

export interface DecodedRegisterEntry {
  readonly register: string;
  readonly index: bigint;
  readonly value: bigint;
}

export function encodeRegisterValue(reg: RegisterInfo, value: ValueInput, opts: EncodeOptions = {}): P4Data {
  if (reg.bitwidth === undefined) throw new P4ValueError(`register "${reg.name}": only bit<W> and int<W> cells can be written by value`);
  let bytes: Uint8Array;
  if (reg.signed) {
    const v = typeof value === "bigint" ? value : typeof value === "number" ? BigInt(value) : BigInt(String(value));
    bytes = encodeSigned(v, reg.bitwidth, opts.mode, reg.name);
  } else {
    bytes = encodeUnsigned(parseValue(value, reg.bitwidth, reg.name), reg.bitwidth, opts.mode, reg.name);
  }
  return create(P4DataSchema, { data: { case: "bitstring", value: bytes } });
}

export function decodeRegisterValue(reg: RegisterInfo, data: P4Data | undefined): bigint {
  if (data?.data.case !== "bitstring")
    throw new P4ValueError(`register "${reg.name}": expected a bitstring cell, got ${data?.data.case ?? "nothing"}`);
  return reg.signed
    ? decodeSigned(data.data.value, reg.bitwidth ?? data.data.value.length * 8, reg.name)
    : decodeUnsigned(data.data.value, reg.bitwidth, reg.name);
}

export function encodeRegisterEntry(index: P4InfoIndex, input: RegisterEntryInput, opts: EncodeOptions = {}): RegisterEntry {
  const reg = index.register(input.register);
  return create(RegisterEntrySchema, {
    registerId: reg.id,
    ...(input.index !== undefined
      ? { index: create(IndexSchema, { index: checkIndex(input.index, reg.size, `register "${reg.name}"`) }) }
      : {}),
    ...(input.value !== undefined ? { data: encodeRegisterValue(reg, input.value, opts) } : {}),
  });
}

export function decodeRegisterEntry(index: P4InfoIndex, e: RegisterEntry): DecodedRegisterEntry {
  const reg = index.register(e.registerId);
  return { register: reg.name, index: e.index?.index ?? 0n, value: decodeRegisterValue(reg, e.data) };
}
