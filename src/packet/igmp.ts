/**
 * IGMP: version 2 messages (RFC 2236) and version 3 membership reports
 * (RFC 3376 4.2). The checksum covers the IGMP message only.
 */
import { PacketError, concatBytes, readU16, requireLength, requireUint, writeU16 } from "./bytes.js";
import { bytesToIpv4, ipv4ToBytes } from "./address.js";
import { checksumVerifies, internetChecksum } from "./checksum.js";

export const IgmpType = {
  MEMBERSHIP_QUERY: 0x11,
  V1_REPORT: 0x12,
  V2_REPORT: 0x16,
  V2_LEAVE: 0x17,
  V3_REPORT: 0x22,
} as const;

/** Group record types shared by IGMPv3 and MLDv2 (RFC 3376 4.2.12). */
export const GroupRecordType = {
  MODE_IS_INCLUDE: 1,
  MODE_IS_EXCLUDE: 2,
  CHANGE_TO_INCLUDE: 3,
  CHANGE_TO_EXCLUDE: 4,
  ALLOW_NEW_SOURCES: 5,
  BLOCK_OLD_SOURCES: 6,
} as const;

/** An IGMPv1/v2 message (query, report, leave): 8 bytes. */
export interface IgmpV2Message {
  readonly type: number;
  /** Max response time in 1/10 s (queries); 0 otherwise. */
  readonly maxRespTime: number;
  readonly group: string;
  readonly checksum: number;
}

export interface IgmpV3GroupRecord {
  readonly recordType: number;
  readonly group: string;
  readonly sources: readonly string[];
  /** Auxiliary data, a multiple of 4 bytes. */
  readonly auxData?: Uint8Array;
}

export interface IgmpV3Report {
  readonly type: typeof IgmpType.V3_REPORT;
  readonly records: readonly IgmpV3GroupRecord[];
  readonly checksum: number;
}

export type IgmpMessage = IgmpV2Message | IgmpV3Report;

export function buildIgmpV2(spec: {
  readonly type: number;
  readonly group: string;
  readonly maxRespTime?: number;
  readonly checksum?: number;
}): Uint8Array {
  requireUint(spec.type, 8, "igmp", "type");
  requireUint(spec.maxRespTime ?? 0, 8, "igmp", "maxRespTime");
  const m = new Uint8Array(8);
  m[0] = spec.type;
  m[1] = spec.maxRespTime ?? 0;
  m.set(ipv4ToBytes(spec.group), 4);
  writeU16(m, 2, spec.checksum ?? internetChecksum(m));
  return m;
}

export function buildIgmpV3Report(spec: { readonly records: readonly IgmpV3GroupRecord[]; readonly checksum?: number }): Uint8Array {
  const head = new Uint8Array(8);
  head[0] = IgmpType.V3_REPORT;
  requireUint(spec.records.length, 16, "igmp", "number of records");
  writeU16(head, 6, spec.records.length);
  const records = spec.records.map((r) => {
    const aux = r.auxData ?? new Uint8Array(0);
    if (aux.length % 4 !== 0) throw new PacketError("invalid-field", "igmp", "aux data must be a multiple of 4 bytes");
    requireUint(r.recordType, 8, "igmp", "recordType");
    requireUint(r.sources.length, 16, "igmp", "number of sources");
    const rh = new Uint8Array(8);
    rh[0] = r.recordType;
    rh[1] = aux.length / 4;
    writeU16(rh, 2, r.sources.length);
    rh.set(ipv4ToBytes(r.group), 4);
    return concatBytes(rh, ...r.sources.map(ipv4ToBytes), aux);
  });
  const m = concatBytes(head, ...records);
  writeU16(m, 2, spec.checksum ?? internetChecksum(m));
  return m;
}

/** Parses an IGMP message; v3 reports by type 0x22, everything else as 8-byte v2. */
export function parseIgmp(bytes: Uint8Array): IgmpMessage {
  requireLength(bytes, 8, "igmp");
  const type = bytes[0] ?? 0;
  const checksum = readU16(bytes, 2);
  if (type !== IgmpType.V3_REPORT) {
    return { type, maxRespTime: bytes[1] ?? 0, group: bytesToIpv4(bytes, 4), checksum };
  }
  const count = readU16(bytes, 6);
  const records: IgmpV3GroupRecord[] = [];
  let off = 8;
  for (let i = 0; i < count; i++) {
    requireLength(bytes, off + 8, "igmp");
    const auxWords = bytes[off + 1] ?? 0;
    const nSources = readU16(bytes, off + 2);
    const end = off + 8 + 4 * nSources + 4 * auxWords;
    requireLength(bytes, end, "igmp");
    const sources: string[] = [];
    for (let s = 0; s < nSources; s++) sources.push(bytesToIpv4(bytes, off + 8 + 4 * s));
    records.push({
      recordType: bytes[off] ?? 0,
      group: bytesToIpv4(bytes, off + 4),
      sources,
      auxData: bytes.slice(off + 8 + 4 * nSources, end),
    });
    off = end;
  }
  return { type: IgmpType.V3_REPORT, records, checksum };
}

export function igmpChecksumValid(message: Uint8Array): boolean {
  return checksumVerifies(message);
}
