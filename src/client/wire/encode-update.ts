/**
 * The boundary between the two ways an update becomes wire bytes, in one
 * function (UpdateEncoder.encode): the table-entry encoder (table-entry.ts)
 * for what it accepts, protobuf-es (the entity encoders of entities/ and
 * toBinary) for what it declines: other entity families, and bad input,
 * whose error (naming the field) the general encoder raises. Update
 * messages a caller built go through protobuf-es as they are
 * (encodeMessage). Either way the result is a slot: the Update framed as a
 * WriteRequest `updates` field, with the hash of the entity it touches.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { P4ValueError } from "../../p4runtime/errors.js";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import {
  type Entity,
  EntitySchema,
  type TableEntry,
  TableEntrySchema,
  type Update,
  UpdateSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { type EntityEncodeOptions, type EntityInput, encodeEntity } from "../entities/entity.js";
import { FNV_OFFSET, FNV_PRIME, TableEntryEncoder, type WireSlot } from "./table-entry.js";
import { varintSize } from "./writer.js";

export type { WireSlot };

/** One update as callers give it. */
export interface UpdateInput {
  readonly type: "insert" | "modify" | "delete";
  readonly entity: EntityInput;
}

/** An update's type as on the wire: 1 insert, 2 modify, 3 delete. */
export type UpdateTypeCode = 1 | 2 | 3;

const TYPE_CODES: Readonly<Record<string, UpdateTypeCode>> = { insert: 1, modify: 2, delete: 3 };

/** The wire code of an update type; throws P4ValueError for anything but insert, modify and delete. */
export function updateTypeCode(type: string): UpdateTypeCode {
  const code = TYPE_CODES[type];
  if (code === undefined) throw new P4ValueError(`unknown update type ${JSON.stringify(type)} (insert, modify or delete)`);
  return code;
}

/** Bytestring form and replica port encoding of what is sent (reads and deletes are chosen per call). */
export type UpdateEncoderOptions = Omit<EntityEncodeOptions, "forRead" | "keyOnly">;

/** Encodes updates against one P4Info index (create one per index: the table-entry encoder caches plans of it). */
export class UpdateEncoder {
  private readonly tableEntries: TableEntryEncoder;

  constructor(
    readonly index: P4InfoIndex,
    private readonly options: UpdateEncoderOptions = {},
  ) {
    this.tableEntries = new TableEntryEncoder(index, options.mode);
  }

  /**
   * Encodes update `type` of `entity` into `slot`: the table-entry encoder
   * when it accepts the input, else protobuf-es. Throws the general
   * encoder's error for bad input (nothing is written then).
   */
  encode(type: UpdateTypeCode, entity: EntityInput, slot: WireSlot): void {
    if (this.tableEntries.encodeTo(type, entity, type === 3, slot)) return;
    encodeMessage(this.message(type, entity), slot);
  }

  /** The update as a protobuf-es message (the general encoder); throws P4ValueError naming the field for bad input. */
  message(type: UpdateTypeCode, entity: EntityInput): Update {
    return create(UpdateSchema, { type, entity: encodeEntity(this.index, entity, { ...this.options, keyOnly: type === 3 }) });
  }
}

/** An Update message serialized by protobuf-es and framed in a buffer of its own, described by `slot`. */
export function encodeMessage(update: Update, slot: WireSlot): void {
  const bytes = toBinary(UpdateSchema, update);
  const n = bytes.length;
  const framed = new Uint8Array(1 + varintSize(n) + n);
  framed[0] = 0x22; // WriteRequest.updates
  let p = 1;
  let v = n;
  while (v > 0x7f) {
    framed[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  framed[p++] = v;
  framed.set(bytes, p);
  slot.buf = framed;
  slot.start = 0;
  slot.end = framed.length;
  slot.hash = keyHash(entityKey(update.entity ?? create(EntitySchema)));
}

/**
 * A small-integer hash of an entity key (FNV-1a over its character codes).
 * Equal keys have equal hashes; writes are ordered by it, where a collision
 * only costs a needless wait, never a reordering. The table-entry encoder
 * computes the same hash from its bytes.
 */
export function keyHash(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  return h & 0x3fff_ffff;
}

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/** A table entry's identity: the bytes of its table id, match, priority and default flag. */
function tableEntryKey(te: TableEntry): string {
  const key = create(TableEntrySchema, {
    tableId: te.tableId,
    match: te.match,
    priority: te.priority,
    isDefaultAction: te.isDefaultAction,
  });
  return `t${latin1(toBinary(TableEntrySchema, key))}`;
}

/** Identity of the entity an update touches (its key fields only): updates with equal keys touch the same entity. */
export function entityKey(e: Entity): string {
  const x = e.entity;
  switch (x.case) {
    case "tableEntry":
      return tableEntryKey(x.value);
    case "actionProfileMember":
      return `m${x.value.actionProfileId}/${x.value.memberId}`;
    case "actionProfileGroup":
      return `g${x.value.actionProfileId}/${x.value.groupId}`;
    case "packetReplicationEngineEntry":
      return x.value.type.case === "multicastGroupEntry"
        ? `mc${x.value.type.value.multicastGroupId}`
        : `cs${x.value.type.value?.sessionId ?? 0}`;
    case "counterEntry":
      return `c${x.value.counterId}/${x.value.index?.index ?? "*"}`;
    case "meterEntry":
      return `me${x.value.meterId}/${x.value.index?.index ?? "*"}`;
    case "registerEntry":
      return `r${x.value.registerId}/${x.value.index?.index ?? "*"}`;
    case "directCounterEntry":
    case "directMeterEntry":
      return tableEntryKey(x.value.tableEntry ?? create(TableEntrySchema));
    case "valueSetEntry":
      return `v${x.value.valueSetId}`;
    case "digestEntry":
      return `d${x.value.digestId}`;
    default:
      return `x${latin1(toBinary(EntitySchema, e))}`;
  }
}
