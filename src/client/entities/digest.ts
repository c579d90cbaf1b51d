/** Digest configuration entries and received digest lists. */
import { create } from "@bufbuild/protobuf";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { type DigestEntry, DigestEntrySchema, DigestEntry_ConfigSchema, type DigestList } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { P4Data } from "../../proto/gen/p4/v1/p4data_pb.js";
import { decodeP4Data, type P4Value } from "./p4data.js";

export interface DigestConfigValue {
  readonly maxTimeoutNs?: bigint;
  readonly maxListSize?: number;
  readonly ackTimeoutNs?: bigint;
}

export interface DigestEntryInput {
  readonly digest: string | number;
  readonly config?: DigestConfigValue;
}

export interface DecodedDigestEntry {
  readonly digest: string;
  readonly config?: Required<DigestConfigValue>;
}

export interface DecodedDigestList {
  readonly digest: string;
  readonly listId: bigint;
  readonly timestampNs: bigint;
  /** One decoded value per digest message (a struct becomes a name→value record). */
  readonly data: readonly P4Value[];
  readonly raw: readonly P4Data[];
}

export function encodeDigestEntry(index: P4InfoIndex, input: DigestEntryInput): DigestEntry {
  const d = index.digest(input.digest);
  return create(DigestEntrySchema, {
    digestId: d.id,
    ...(input.config
      ? {
          config: create(DigestEntry_ConfigSchema, {
            maxTimeoutNs: input.config.maxTimeoutNs ?? 0n,
            maxListSize: input.config.maxListSize ?? 0,
            ackTimeoutNs: input.config.ackTimeoutNs ?? 0n,
          }),
        }
      : {}),
  });
}

export function decodeDigestEntry(index: P4InfoIndex, e: DigestEntry): DecodedDigestEntry {
  return {
    digest: index.digest(e.digestId).name,
    ...(e.config
      ? { config: { maxTimeoutNs: e.config.maxTimeoutNs, maxListSize: e.config.maxListSize, ackTimeoutNs: e.config.ackTimeoutNs } }
      : {}),
  };
}

export function decodeDigestList(index: P4InfoIndex, list: DigestList): DecodedDigestList {
  const d = index.digest(list.digestId);
  return {
    digest: d.name,
    listId: list.listId,
    timestampNs: list.timestamp,
    data: list.data.map((x) => decodeP4Data(index, x, d.typeSpec)),
    raw: list.data,
  };
}
