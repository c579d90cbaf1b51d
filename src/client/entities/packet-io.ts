/**
 * Packet-out and packet-in with controller metadata by name. The metadata
 * fields are those of the program's @controller_header("packet_out") and
 * ("packet_in") headers, as listed in the P4Info.
 */
import { create } from "@bufbuild/protobuf";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { P4ValueError } from "../../p4runtime/errors.js";
import { decodeUnsigned, encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import { type ValueInput, parseValue } from "../../p4runtime/codec/values.js";
import { type PacketIn, type PacketOut, PacketMetadataSchema, PacketOutSchema } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { EncodeOptions } from "./common.js";

export interface PacketOutInput {
  readonly payload: Uint8Array;
  /** Values by packet_out field name; every field must be given. */
  readonly metadata?: Readonly<Record<string, ValueInput>>;
}

export interface DecodedPacketIn {
  readonly payload: Uint8Array;
  readonly metadata: Readonly<Record<string, bigint>>;
}

export function encodePacketOut(index: P4InfoIndex, input: PacketOutInput, opts: EncodeOptions = {}): PacketOut {
  const given = input.metadata ?? {};
  // A switch drops a PacketOut without a frame (the embedded switch reports it; PI sends a header-only frame).
  if (input.payload.length === 0) throw new P4ValueError("packet_out: the payload is empty; it must hold the whole frame", "payload");
  const header = index.controllerPacketMetadata.find("packet_out");
  if (!header) {
    if (Object.keys(given).length > 0)
      throw new P4ValueError("the P4 program has no packet_out controller header: packet-out metadata cannot be sent");
    return create(PacketOutSchema, { payload: input.payload });
  }
  const used = new Set<string>();
  const metadata = header.fieldList.map((f) => {
    if (!(f.name in given)) {
      throw new P4ValueError(
        `packet_out: missing metadata field "${f.name}" (fields: ${header.fieldList.map((x) => x.name).join(", ")})`,
        f.name,
      );
    }
    used.add(f.name);
    const v = parseValue(given[f.name]!, f.bitwidth, `packet_out.${f.name}`);
    return create(PacketMetadataSchema, { metadataId: f.id, value: encodeUnsigned(v, f.bitwidth, opts.mode, `packet_out.${f.name}`) });
  });
  for (const k of Object.keys(given)) {
    if (!used.has(k))
      throw new P4ValueError(`packet_out: unknown metadata field "${k}" (fields: ${header.fieldList.map((x) => x.name).join(", ")})`, k);
  }
  return create(PacketOutSchema, { payload: input.payload, metadata });
}

export function decodePacketIn(index: P4InfoIndex, p: PacketIn): DecodedPacketIn {
  const header = index.controllerPacketMetadata.find("packet_in");
  const metadata: Record<string, bigint> = {};
  for (const m of p.metadata) {
    const f = header?.fields.find(m.metadataId);
    metadata[f?.name ?? `id_${m.metadataId}`] = decodeUnsigned(m.value, f?.bitwidth, `packet_in.${f?.name ?? m.metadataId}`);
  }
  return { payload: p.payload, metadata };
}
