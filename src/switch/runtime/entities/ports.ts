/**
 * Port numbers in P4Runtime messages (replica and backup replica ports,
 * watch ports): v1model's ports, as on simple_switch, without translation
 * (the SDN port is the data-plane port).
 */
import { decodeUnsigned, encodeUnsigned } from "../../../p4runtime/codec/bytestring.js";
import { outOfRange } from "../status.js";

/** v1model's port width (standard_metadata.egress_spec is bit<9>), as on simple_switch. */
export const PORT_BITS = 9;
export const MAX_PORT = (1 << PORT_BITS) - 1;

/**
 * The port in a bytestring; empty or wider than the ports is OUT_OF_RANGE
 * (the specification's "Bytestrings"). `field` names it in the message, with
 * `what` (the object) in front.
 */
export function portFromBytes(bytes: Uint8Array, what: string, field: string): number {
  if (bytes.length === 0) throw outOfRange(`${what}: ${field} is an empty bytestring`);
  const v = decodeUnsigned(bytes);
  if (v > BigInt(MAX_PORT)) throw outOfRange(`${what}: ${field} ${v} does not fit in the target's ${PORT_BITS}-bit ports (0..${MAX_PORT})`);
  return Number(v);
}

/** The canonical bytestring of a port (what reads return). */
export function portToBytes(port: number): Uint8Array {
  return encodeUnsigned(BigInt(port), 32);
}
