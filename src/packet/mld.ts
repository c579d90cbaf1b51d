/**
 * MLD, as ICMPv6 messages: version 1 query / report / done (RFC 2710) and
 * version 2 reports (RFC 3810 5.2). They are sent with hop limit 1 behind a
 * Hop-by-Hop header holding a Router Alert option (ipv6.routerAlertOptions).
 */
import { PacketError, concatBytes, readU16, requireLength, requireUint, writeU16 } from "./bytes.js";
import { bytesToIpv6, ipv6ToBytes } from "./address.js";
import type { IpContext } from "./checksum.js";
import { upperLayerChecksum } from "./checksum.js";
import { Icmpv6Type } from "./icmpv6.js";
import { IpProtocol } from "./ip-protocol.js";

export interface MldV1Message {
  readonly type: number;
  readonly maxResponseDelay: number;
  readonly multicastAddress: string;
  readonly checksum: number;
}

export interface MldV2Record {
  readonly recordType: number;
  readonly multicastAddress: string;
  readonly sources: readonly string[];
  readonly auxData?: Uint8Array;
}

export interface MldV2Report {
  readonly type: typeof Icmpv6Type.MLD_V2_REPORT;
  readonly records: readonly MldV2Record[];
  readonly checksum: number;
}

export type MldMessage = MldV1Message | MldV2Report;

function withChecksum(msg: Uint8Array, ctx: IpContext, checksum: number | undefined): Uint8Array {
  const c = checksum ?? upperLayerChecksum(ctx, IpProtocol.ICMPV6, msg);
  requireUint(c, 16, "mld", "checksum");
  writeU16(msg, 2, c);
  return msg;
}

/** An MLDv1 query (130), report (131) or done (132): 24 bytes. */
export function buildMldV1(
  spec: { readonly type: number; readonly multicastAddress: string; readonly maxResponseDelay?: number; readonly checksum?: number },
  ctx: IpContext,
): Uint8Array {
  requireUint(spec.type, 8, "mld", "type");
  requireUint(spec.maxResponseDelay ?? 0, 16, "mld", "maxResponseDelay");
  const m = new Uint8Array(24);
  m[0] = spec.type;
  writeU16(m, 4, spec.maxResponseDelay ?? 0);
  m.set(ipv6ToBytes(spec.multicastAddress), 8);
  return withChecksum(m, ctx, spec.checksum);
}

/** An MLDv2 report (143). */
export function buildMldV2Report(
  spec: { readonly records: readonly MldV2Record[]; readonly checksum?: number },
  ctx: IpContext,
): Uint8Array {
  const head = new Uint8Array(8);
  head[0] = Icmpv6Type.MLD_V2_REPORT;
  requireUint(spec.records.length, 16, "mld", "number of records");
  writeU16(head, 6, spec.records.length);
  const records = spec.records.map((r) => {
    const aux = r.auxData ?? new Uint8Array(0);
    if (aux.length % 4 !== 0) throw new PacketError("invalid-field", "mld", "aux data must be a multiple of 4 bytes");
    requireUint(r.recordType, 8, "mld", "recordType");
    requireUint(r.sources.length, 16, "mld", "number of sources");
    const rh = new Uint8Array(20);
    rh[0] = r.recordType;
    rh[1] = aux.length / 4;
    writeU16(rh, 2, r.sources.length);
    rh.set(ipv6ToBytes(r.multicastAddress), 4);
    return concatBytes(rh, ...r.sources.map(ipv6ToBytes), aux);
  });
  return withChecksum(concatBytes(head, ...records), ctx, spec.checksum);
}

/** Parses an MLD message (an ICMPv6 message of type 130, 131, 132 or 143). */
export function parseMld(bytes: Uint8Array): MldMessage {
  requireLength(bytes, 8, "mld");
  const type = bytes[0] ?? 0;
  const checksum = readU16(bytes, 2);
  if (type === Icmpv6Type.MLD_V2_REPORT) {
    const count = readU16(bytes, 6);
    const records: MldV2Record[] = [];
    let off = 8;
    for (let i = 0; i < count; i++) {
      requireLength(bytes, off + 20, "mld");
      const auxWords = bytes[off + 1] ?? 0;
      const nSources = readU16(bytes, off + 2);
      const end = off + 20 + 16 * nSources + 4 * auxWords;
      requireLength(bytes, end, "mld");
      const sources: string[] = [];
      for (let s = 0; s < nSources; s++) sources.push(bytesToIpv6(bytes, off + 20 + 16 * s));
      records.push({
        recordType: bytes[off] ?? 0,
        multicastAddress: bytesToIpv6(bytes, off + 4),
        sources,
        auxData: bytes.slice(off + 20 + 16 * nSources, end),
      });
      off = end;
    }
    return { type: Icmpv6Type.MLD_V2_REPORT, records, checksum };
  }
  if (type !== Icmpv6Type.MLD_QUERY && type !== Icmpv6Type.MLD_V1_REPORT && type !== Icmpv6Type.MLD_V1_DONE) {
    throw new PacketError("invalid-field", "mld", `ICMPv6 type ${type} is not MLD`);
  }
  requireLength(bytes, 24, "mld");
  return { type, maxResponseDelay: readU16(bytes, 4), multicastAddress: bytesToIpv6(bytes, 8), checksum };
}
