/**
 * Digest delivery: learn-list messages from the engine are turned into
 * P4Data, collected into DigestLists per digest (up to max_list_size, or
 * until max_timeout_ns passes), and sent to the controller. Data already sent
 * and not yet acknowledged is not sent again, until its list is acknowledged
 * or ack_timeout_ns passes (the BMv2 learning behaviour).
 */
import { create } from "@bufbuild/protobuf";
import {
  type DigestEntry,
  DigestEntrySchema,
  type DigestEntry_Config,
  type DigestList,
  DigestListSchema,
  Update_Type,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { type P4Data, P4DataSchema, P4StructLikeSchema } from "../../proto/gen/p4/v1/p4data_pb.js";
import type { P4InfoIndex, DigestInfo } from "../../p4runtime/p4info/index.js";
import type { DigestMessage } from "../engine/runtime-api.js";
import { encodeUnsigned } from "../../p4runtime/codec/bytestring.js";
import { alreadyExists, invalid, notFound } from "./status.js";
import type { UndoLog } from "./entities/context.js";

interface DigestState {
  config: DigestEntry_Config;
  pending: { key: string; data: P4Data }[];
  timer: NodeJS.Timeout | undefined;
  /** Data keys sent and awaiting an ack, by list id. */
  outstanding: Map<bigint, string[]>;
  inFlight: Set<string>;
}

export class DigestManager {
  private readonly states = new Map<number, DigestState>();
  private nextListId = 1n;

  constructor(
    private readonly index: P4InfoIndex,
    private readonly send: (list: DigestList) => void,
    private readonly nowNs: () => bigint,
  ) {}

  write(type: Update_Type, e: DigestEntry, undo: UndoLog): void {
    const d = this.index.digests.find(e.digestId);
    if (!d) throw notFound(`unknown digest id ${e.digestId}`);
    const what = `digest "${d.name}"`;
    const existing = this.states.get(d.id);
    if (type === Update_Type.DELETE) {
      if (!existing) throw notFound(`${what} is not configured`);
      this.states.delete(d.id);
      if (existing.timer) clearTimeout(existing.timer);
      undo.push(() => this.states.set(d.id, existing));
      return;
    }
    if (!e.config) throw invalid(`${what}: a config is required`);
    if (e.config.maxListSize < 0 || e.config.maxTimeoutNs < 0n || e.config.ackTimeoutNs < 0n)
      throw invalid(`${what}: negative config values`);
    if (type === Update_Type.INSERT && existing) throw alreadyExists(`${what} is already configured`);
    if (type === Update_Type.MODIFY && !existing) throw notFound(`${what} is not configured`);
    if (type !== Update_Type.INSERT && type !== Update_Type.MODIFY) throw invalid(`${what}: update type must be INSERT, MODIFY or DELETE`);
    if (existing) {
      const before = existing.config;
      existing.config = e.config;
      undo.push(() => (existing.config = before));
    } else {
      this.states.set(d.id, { config: e.config, pending: [], timer: undefined, outstanding: new Map(), inFlight: new Set() });
      undo.push(() => this.states.delete(d.id));
    }
  }

  read(q: DigestEntry): DigestEntry[] {
    const ids = q.digestId === 0 ? [...this.states.keys()] : [q.digestId];
    return ids.flatMap((id) => {
      const s = this.states.get(id);
      return s ? [create(DigestEntrySchema, { digestId: id, config: s.config })] : [];
    });
  }

  /** A digest from the data plane. */
  receive(msg: DigestMessage): void {
    const d = this.index.digests.find(msg.name);
    if (!d) return;
    const s = this.states.get(d.id);
    if (!s) return; // not configured: dropped, as on BMv2
    const key = msg.values.join(",");
    if (s.inFlight.has(key) || s.pending.some((p) => p.key === key)) return;
    s.pending.push({ key, data: toP4Data(this.index, d, msg.values) });
    const max = s.config.maxListSize;
    if (max > 0 && s.pending.length >= max) this.flush(d.id);
    else if (s.config.maxTimeoutNs === 0n) this.flush(d.id);
    else if (!s.timer) {
      s.timer = setTimeout(() => this.flush(d.id), Math.max(1, Number(s.config.maxTimeoutNs / 1_000_000n)));
      s.timer.unref?.();
    }
  }

  ack(digestId: number, listId: bigint): boolean {
    const s = this.states.get(digestId);
    const keys = s?.outstanding.get(listId);
    if (!s || !keys) return false;
    s.outstanding.delete(listId);
    for (const k of keys) s.inFlight.delete(k);
    return true;
  }

  close(): void {
    for (const s of this.states.values()) if (s.timer) clearTimeout(s.timer);
    this.states.clear();
  }

  private flush(id: number): void {
    const s = this.states.get(id);
    if (!s) return;
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
    if (s.pending.length === 0) return;
    const items = s.pending.splice(0);
    const listId = this.nextListId++;
    const keys = items.map((i) => i.key);
    s.outstanding.set(listId, keys);
    for (const k of keys) s.inFlight.add(k);
    if (s.config.ackTimeoutNs > 0n) {
      const t = setTimeout(() => this.ack(id, listId), Math.max(1, Number(s.config.ackTimeoutNs / 1_000_000n)));
      t.unref?.();
    }
    this.send(create(DigestListSchema, { digestId: id, listId, data: items.map((i) => i.data), timestamp: this.nowNs() }));
  }
}

/** Encodes learn-list values as P4Data following the digest's type spec. */
function toP4Data(index: P4InfoIndex, d: DigestInfo, values: readonly bigint[]): P4Data {
  const spec = d.typeSpec?.typeSpec;
  const bit = (v: bigint, w: number) => create(P4DataSchema, { data: { case: "bitstring", value: encodeUnsigned(v, w) } });
  if (spec?.case === "struct") {
    const members = index.p4info.typeInfo?.structs[spec.value.name]?.members ?? [];
    const fields = members.map((m, i) => {
      const bs = m.typeSpec?.typeSpec.case === "bitstring" ? m.typeSpec.typeSpec.value.typeSpec : undefined;
      const w = bs && (bs.case === "bit" || bs.case === "int") ? bs.value.bitwidth : 64;
      return bit(values[i] ?? 0n, w);
    });
    return create(P4DataSchema, { data: { case: "struct", value: create(P4StructLikeSchema, { members: fields }) } });
  }
  if (spec?.case === "bitstring" && values.length === 1) {
    const bs = spec.value.typeSpec;
    return bit(values[0]!, bs.case === "bit" || bs.case === "int" ? bs.value.bitwidth : 64);
  }
  return create(P4DataSchema, { data: { case: "tuple", value: create(P4StructLikeSchema, { members: values.map((v) => bit(v, 64)) }) } });
}
