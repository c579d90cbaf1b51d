/**
 * The tagged union of every entity family: what callers pass to write and
 * read, and what reads return. `kind` selects the family.
 */
import { create } from "@bufbuild/protobuf";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { type Entity, EntitySchema, PacketReplicationEngineEntrySchema } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { EncodeOptions } from "./common.js";
import { type DecodedTableEntry, type TableEntryInput, decodeTableEntry, encodeTableEntry } from "./table-entry.js";
import {
  type ActionProfileGroupInput,
  type ActionProfileMemberInput,
  type DecodedActionProfileGroup,
  type DecodedActionProfileMember,
  decodeActionProfileGroup,
  decodeActionProfileMember,
  encodeActionProfileGroup,
  encodeActionProfileMember,
} from "./action-profile.js";
import {
  type CloneSessionInput,
  type DecodedCloneSession,
  type DecodedMulticastGroup,
  type MulticastGroupInput,
  type ReplicaPortEncoding,
  decodeCloneSession,
  decodeMulticastGroup,
  encodeCloneSession,
  encodeMulticastGroup,
} from "./pre.js";
import {
  type CounterEntryInput,
  type DecodedCounterEntry,
  type DecodedDirectCounterEntry,
  type DirectCounterEntryInput,
  decodeCounterEntry,
  decodeDirectCounterEntry,
  encodeCounterEntry,
  encodeDirectCounterEntry,
} from "./counter.js";
import {
  type DecodedDirectMeterEntry,
  type DecodedMeterEntry,
  type DirectMeterEntryInput,
  type MeterEntryInput,
  decodeDirectMeterEntry,
  decodeMeterEntry,
  encodeDirectMeterEntry,
  encodeMeterEntry,
} from "./meter.js";
import { type DecodedRegisterEntry, type RegisterEntryInput, decodeRegisterEntry, encodeRegisterEntry } from "./register.js";
import { type DecodedDigestEntry, type DigestEntryInput, decodeDigestEntry, encodeDigestEntry } from "./digest.js";
import { type DecodedValueSetEntry, type ValueSetEntryInput, decodeValueSetEntry, encodeValueSetEntry } from "./value-set.js";

export type EntityInput =
  | ({ readonly kind: "tableEntry" } & TableEntryInput)
  | ({ readonly kind: "actionProfileMember" } & ActionProfileMemberInput)
  | ({ readonly kind: "actionProfileGroup" } & ActionProfileGroupInput)
  | ({ readonly kind: "multicastGroup" } & MulticastGroupInput)
  | ({ readonly kind: "cloneSession" } & CloneSessionInput)
  | ({ readonly kind: "counterEntry" } & CounterEntryInput)
  | ({ readonly kind: "directCounterEntry" } & DirectCounterEntryInput)
  | ({ readonly kind: "meterEntry" } & MeterEntryInput)
  | ({ readonly kind: "directMeterEntry" } & DirectMeterEntryInput)
  | ({ readonly kind: "registerEntry" } & RegisterEntryInput)
  | ({ readonly kind: "digestEntry" } & DigestEntryInput)
  | ({ readonly kind: "valueSetEntry" } & ValueSetEntryInput);

export type DecodedEntity =
  | ({ readonly kind: "tableEntry" } & DecodedTableEntry)
  | ({ readonly kind: "actionProfileMember" } & DecodedActionProfileMember)
  | ({ readonly kind: "actionProfileGroup" } & DecodedActionProfileGroup)
  | ({ readonly kind: "multicastGroup" } & DecodedMulticastGroup)
  | ({ readonly kind: "cloneSession" } & DecodedCloneSession)
  | ({ readonly kind: "counterEntry" } & DecodedCounterEntry)
  | ({ readonly kind: "directCounterEntry" } & DecodedDirectCounterEntry)
  | ({ readonly kind: "meterEntry" } & DecodedMeterEntry)
  | ({ readonly kind: "directMeterEntry" } & DecodedDirectMeterEntry)
  | ({ readonly kind: "registerEntry" } & DecodedRegisterEntry)
  | ({ readonly kind: "digestEntry" } & DecodedDigestEntry)
  | ({ readonly kind: "valueSetEntry" } & DecodedValueSetEntry)
  | { readonly kind: "externEntry"; readonly externTypeId: number; readonly externId: number };

export type EntityKind = EntityInput["kind"];

/** Picks the decoded entities of one kind from a mixed list. */
export type DecodedOf<K extends DecodedEntity["kind"]> = Extract<DecodedEntity, { kind: K }>;

export interface EntityEncodeOptions extends EncodeOptions {
  readonly forRead?: boolean;
  /** Only the entity's key is needed (deletes): non-key parts may be omitted. */
  readonly keyOnly?: boolean;
  readonly replicaPortEncoding?: ReplicaPortEncoding;
}

export function encodeEntity(index: P4InfoIndex, input: EntityInput, opts: EntityEncodeOptions = {}): Entity {
  const pre = (value: Parameters<typeof create<typeof PacketReplicationEngineEntrySchema>>[1]) =>
    create(EntitySchema, { entity: { case: "packetReplicationEngineEntry", value: create(PacketReplicationEngineEntrySchema, value) } });
  switch (input.kind) {
    case "tableEntry":
      return create(EntitySchema, { entity: { case: "tableEntry", value: encodeTableEntry(index, input, opts) } });
    case "actionProfileMember":
      return create(EntitySchema, { entity: { case: "actionProfileMember", value: encodeActionProfileMember(index, input, opts) } });
    case "actionProfileGroup":
      return create(EntitySchema, { entity: { case: "actionProfileGroup", value: encodeActionProfileGroup(index, input, opts) } });
    case "multicastGroup":
      return pre({ type: { case: "multicastGroupEntry", value: encodeMulticastGroup(input, opts.replicaPortEncoding, opts.forRead) } });
    case "cloneSession":
      return pre({ type: { case: "cloneSessionEntry", value: encodeCloneSession(input, opts.replicaPortEncoding, opts.forRead) } });
    case "counterEntry":
      return create(EntitySchema, { entity: { case: "counterEntry", value: encodeCounterEntry(index, input) } });
    case "directCounterEntry":
      return create(EntitySchema, { entity: { case: "directCounterEntry", value: encodeDirectCounterEntry(index, input, opts) } });
    case "meterEntry":
      return create(EntitySchema, { entity: { case: "meterEntry", value: encodeMeterEntry(index, input) } });
    case "directMeterEntry":
      return create(EntitySchema, { entity: { case: "directMeterEntry", value: encodeDirectMeterEntry(index, input, opts) } });
    case "registerEntry":
      return create(EntitySchema, { entity: { case: "registerEntry", value: encodeRegisterEntry(index, input, opts) } });
    case "digestEntry":
      return create(EntitySchema, { entity: { case: "digestEntry", value: encodeDigestEntry(index, input) } });
    case "valueSetEntry":
      return create(EntitySchema, { entity: { case: "valueSetEntry", value: encodeValueSetEntry(index, input, opts) } });
  }
}

export function decodeEntity(index: P4InfoIndex, e: Entity): DecodedEntity {
  const x = e.entity;
  switch (x.case) {
    case "tableEntry":
      return { kind: "tableEntry", ...decodeTableEntry(index, x.value) };
    case "actionProfileMember":
      return { kind: "actionProfileMember", ...decodeActionProfileMember(index, x.value) };
    case "actionProfileGroup":
      return { kind: "actionProfileGroup", ...decodeActionProfileGroup(index, x.value) };
    case "packetReplicationEngineEntry": {
      const t = x.value.type;
      if (t.case === "multicastGroupEntry") return { kind: "multicastGroup", ...decodeMulticastGroup(t.value) };
      if (t.case === "cloneSessionEntry") return { kind: "cloneSession", ...decodeCloneSession(t.value) };
      throw new Error("PacketReplicationEngineEntry with no type");
    }
    case "counterEntry":
      return { kind: "counterEntry", ...decodeCounterEntry(index, x.value) };
    case "directCounterEntry":
      return { kind: "directCounterEntry", ...decodeDirectCounterEntry(index, x.value) };
    case "meterEntry":
      return { kind: "meterEntry", ...decodeMeterEntry(index, x.value) };
    case "directMeterEntry":
      return { kind: "directMeterEntry", ...decodeDirectMeterEntry(index, x.value) };
    case "registerEntry":
      return { kind: "registerEntry", ...decodeRegisterEntry(index, x.value) };
    case "digestEntry":
      return { kind: "digestEntry", ...decodeDigestEntry(index, x.value) };
    case "valueSetEntry":
      return { kind: "valueSetEntry", ...decodeValueSetEntry(index, x.value) };
    case "externEntry":
      return { kind: "externEntry", externTypeId: x.value.externTypeId, externId: x.value.externId };
    default:
      throw new Error("Entity with no entity set");
  }
}
