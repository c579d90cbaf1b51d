/**
 * The packet_in / packet_out controller headers as bytes. simple_switch_grpc
 * prepends the packet_out header (fields in P4Info order, packed MSB first)
 * to a PacketOut's payload and injects it on the CPU port; a packet the
 * pipeline sends to the CPU port starts with the packet_in header, which is
 * split off into PacketIn metadata.
 */
import { create } from "@bufbuild/protobuf";
import { type PacketMetadata, PacketMetadataSchema } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { canonicalize, decodeUnsigned, maxUnsigned } from "../../p4runtime/codec/bytestring.js";
import { Code } from "../../proto/gen/google/rpc/code_pb.js";
import type { ControllerPacketMetadataInfo } from "../../p4runtime/p4info/index.js";

export class ControllerHeaderError extends Error {
  override readonly name = "ControllerHeaderError";
  /**
   * INVALID_ARGUMENT when the metadata list does not match the P4Info
   * (missing, repeated or unknown ids: "Stream Error Reporting"); OUT_OF_RANGE
   * when a value is not a valid bytestring for its width (empty, too wide:
   * "Bytestrings").
   */
  constructor(
    message: string,
    readonly code: Code = Code.INVALID_ARGUMENT,
  ) {
    super(message);
  }
}

function totalBits(h: ControllerPacketMetadataInfo): number {
  return h.fieldList.reduce((n, f) => n + f.bitwidth, 0);
}

/** Serialises packet_out metadata in front of `payload`. */
export function prependPacketOut(h: ControllerPacketMetadataInfo, metadata: readonly PacketMetadata[], payload: Uint8Array): Uint8Array {
  const bits = totalBits(h);
  if (bits % 8 !== 0) throw new ControllerHeaderError(`packet_out header is ${bits} bits, not a whole number of bytes`);
  const byId = new Map<number, Uint8Array>();
  for (const m of metadata) {
    const f = h.fields.find(m.metadataId);
    if (!f) throw new ControllerHeaderError(`packet_out has no metadata field with id ${m.metadataId}`);
    if (byId.has(m.metadataId)) throw new ControllerHeaderError(`packet_out.${f.name} (id ${m.metadataId}) is given twice`);
    byId.set(m.metadataId, m.value);
  }
  const missing = h.fieldList.filter((f) => !byId.has(f.id));
  if (missing.length > 0)
    throw new ControllerHeaderError(
      `packet_out metadata ${missing.map((f) => `${f.name} (id ${f.id})`).join(", ")} missing: ` +
        "every field of the P4Info's packet_out header must be given once",
    );
  let acc = 0n;
  for (const f of h.fieldList) {
    const raw = byId.get(f.id)!;
    if (raw.length === 0) throw new ControllerHeaderError(`packet_out.${f.name}: the value is an empty bytestring`, Code.OUT_OF_RANGE);
    const v = decodeUnsigned(raw);
    if (v > maxUnsigned(f.bitwidth))
      throw new ControllerHeaderError(`packet_out.${f.name}: value does not fit in ${f.bitwidth} bits`, Code.OUT_OF_RANGE);
    acc = (acc << BigInt(f.bitwidth)) | v;
  }
  const n = bits / 8;
  const out = new Uint8Array(n + payload.length);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(acc & 0xffn);
    acc >>= 8n;
  }
  out.set(payload, n);
  return out;
}

/** Splits the packet_in header off a packet sent to the CPU port. */
export function splitPacketIn(h: ControllerPacketMetadataInfo, packet: Uint8Array): { metadata: PacketMetadata[]; payload: Uint8Array } {
  const bits = totalBits(h);
  const n = Math.ceil(bits / 8);
  if (packet.length < n)
    throw new ControllerHeaderError(`packet to the CPU port is ${packet.length} bytes, shorter than the ${n}-byte packet_in header`);
  let acc = decodeUnsigned(packet.subarray(0, n));
  const values: bigint[] = [];
  for (let i = h.fieldList.length - 1; i >= 0; i--) {
    const w = h.fieldList[i]!.bitwidth;
    values.unshift(acc & maxUnsigned(w));
    acc >>= BigInt(w);
  }
  const metadata = h.fieldList.map((f, i) => {
    let v = values[i]!;
    const bytes: number[] = [];
    do {
      bytes.unshift(Number(v & 0xffn));
      v >>= 8n;
    } while (v > 0n);
    return create(PacketMetadataSchema, { metadataId: f.id, value: canonicalize(new Uint8Array(bytes)) });
  });
  return { metadata, payload: packet.slice(n) };
}
