/** Ethernet II frames (no 802.1Q tags, no FCS). */
import { concatBytes, readU16, requireLength, requireUint, writeU16 } from "./bytes.js";
import { bytesToMac, macToBytes } from "./address.js";

export const ETHERNET_HEADER_LENGTH = 14;

export const EtherType = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
} as const;

export interface EthernetHeader {
  readonly dst: string;
  readonly src: string;
  readonly etherType: number;
}

export function buildEthernet(header: EthernetHeader, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  requireUint(header.etherType, 16, "ethernet", "etherType");
  const h = new Uint8Array(ETHERNET_HEADER_LENGTH);
  h.set(macToBytes(header.dst), 0);
  h.set(macToBytes(header.src), 6);
  writeU16(h, 12, header.etherType);
  return concatBytes(h, payload);
}

export function parseEthernet(frame: Uint8Array): { header: EthernetHeader; payload: Uint8Array } {
  requireLength(frame, ETHERNET_HEADER_LENGTH, "ethernet");
  return {
    header: { dst: bytesToMac(frame, 0), src: bytesToMac(frame, 6), etherType: readU16(frame, 12) },
    payload: frame.subarray(ETHERNET_HEADER_LENGTH),
  };
}
