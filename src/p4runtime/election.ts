/**
 * Election ids are 128-bit unsigned integers; the client with the highest id
 * of a role is its primary. Here they are bigints, converted to and from
 * p4.v1.Uint128.
 */
import { create } from "@bufbuild/protobuf";
import { type Uint128, Uint128Schema } from "../proto/gen/p4/v1/p4runtime_pb.js";
import { P4ValueError } from "./errors.js";

const MASK64 = (1n << 64n) - 1n;

export function toUint128(id: bigint): Uint128 {
  if (id < 0n || id >= 1n << 128n) throw new P4ValueError(`election id ${id} is not a 128-bit unsigned integer`, "electionId");
  return create(Uint128Schema, { high: id >> 64n, low: id & MASK64 });
}

export function fromUint128(u: Uint128 | undefined): bigint | undefined {
  return u ? (u.high << 64n) | u.low : undefined;
}

/** Accepts 5, 5n, "5", "0x5" or "high,low" (as p4runtime-shell does). */
export function parseElectionId(v: bigint | number | string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  const s = v.trim();
  const pair = /^(\d+)\s*,\s*(\d+)$/.exec(s);
  if (pair) return (BigInt(pair[1]!) << 64n) | BigInt(pair[2]!);
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) return BigInt(s);
  throw new P4ValueError(`election id ${JSON.stringify(v)}: expected an integer or "high,low"`, "electionId");
}
