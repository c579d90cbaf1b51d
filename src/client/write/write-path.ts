/**
 * The client's write path, in one direction: encode (wire/encode-update.ts)
 * → batch (one request, or chunks: bulk.ts; single calls: the coalescer)
 * → frame (wire/frame.ts) → send (the channel). It is the coalescer's sink
 * and carries P4RuntimeClient's write, writeRaw and encodeUpdates.
 */
import { WriteRequest_Atomicity, type Update } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import type { EntityInput } from "../entities/entity.js";
import {
  type UpdateEncoderOptions,
  type UpdateInput,
  type UpdateTypeCode,
  UpdateEncoder,
  type WireSlot,
  encodeMessage,
  updateTypeCode,
} from "../wire/encode-update.js";
import { type SlotColumns, WriteRequestFramer } from "../wire/frame.js";
import type { Uint128 } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { writeChunked } from "./bulk.js";
import type { WriteSink } from "./coalescer.js";
import { withUnreported } from "./outcome.js";

export type Atomicity = "continueOnError" | "rollbackOnError" | "dataplaneAtomic";

const ATOMICITIES: Record<Atomicity, WriteRequest_Atomicity> = {
  continueOnError: WriteRequest_Atomicity.CONTINUE_ON_ERROR,
  rollbackOnError: WriteRequest_Atomicity.ROLLBACK_ON_ERROR,
  dataplaneAtomic: WriteRequest_Atomicity.DATAPLANE_ATOMIC,
};

export interface WritePathOptions {
  readonly deviceId: bigint;
  readonly electionId: Uint128;
  readonly role: string;
  readonly encoding: UpdateEncoderOptions;
  /** The P4Info index in force (throws when none is known). */
  readonly index: () => P4InfoIndex;
  /** Sends one serialized WriteRequest. */
  readonly send: (request: Uint8Array) => Promise<unknown>;
  /** Batch size and window of bulk writes. */
  readonly maxBatch: number;
  readonly window: number;
}

const EMPTY = new Uint8Array(0);

export class WritePath implements WriteSink {
  private readonly framer: WriteRequestFramer;
  private _encoder: UpdateEncoder | undefined;
  private readonly disconnectListeners = new Set<(e: Error) => void>();

  constructor(private readonly options: WritePathOptions) {
    this.framer = new WriteRequestFramer(options.deviceId, options.electionId, options.role);
  }

  /** The encoder of the P4Info in force (rebuilt when it changes). */
  private get encoder(): UpdateEncoder {
    const index = this.options.index();
    if (this._encoder?.index !== index) this._encoder = new UpdateEncoder(index, this.options.encoding);
    return this._encoder;
  }

  encode(type: UpdateTypeCode, entity: EntityInput, slot: WireSlot): void {
    this.encoder.encode(type, entity, slot);
  }

  encodeMessage(update: Update, slot: WireSlot): void {
    encodeMessage(update, slot);
  }

  send(cols: SlotColumns, from: number, to: number): Promise<void> {
    return this.sendFramed(cols, WriteRequest_Atomicity.CONTINUE_ON_ERROR, from, to);
  }

  onDisconnect(fn: (e: Error) => void): () => void {
    this.disconnectListeners.add(fn);
    return () => this.disconnectListeners.delete(fn);
  }

  /** The stream was lost: tells the coalescers (their queued writes fail). */
  disconnected(e: Error): void {
    for (const fn of [...this.disconnectListeners]) fn(e);
  }

  /** The updates as protobuf-es messages (the general encoder); an error names the update (lists of more than one). */
  messages(updates: readonly UpdateInput[]): Update[] {
    const encoder = this.encoder;
    return updates.map((u, i) => {
      try {
        return encoder.message(updateTypeCode(u.type), u.entity);
      } catch (e) {
        throw prefixed(e, updates, i);
      }
    });
  }

  /**
   * Writes updates: every one encoded before anything is sent, then one
   * request, or, with continueOnError and more than maxBatch updates,
   * windowed chunks (bulk.ts). Atomic writes are never split.
   */
  async write(updates: readonly UpdateInput[], atomicity: Atomicity): Promise<void> {
    const n = updates.length;
    if (n === 0) return;
    const cols = this.encodeAll(updates);
    const atom = ATOMICITIES[atomicity];
    const { maxBatch, window } = this.options;
    if (atomicity !== "continueOnError" || n <= maxBatch) {
      await this.sendFramed(cols, atom, 0, n).catch((e: unknown) => {
        throw withUnreported(e, n);
      });
      return;
    }
    await writeChunked(cols.hashes, (from, to) => this.sendFramed(cols, atom, from, to), { maxBatch, window });
  }

  /** Sends Update messages as they are, in one WriteRequest. */
  async writeMessages(updates: readonly Update[], atomicity: Atomicity): Promise<void> {
    const n = updates.length;
    if (n === 0) return;
    const cols = columns(n);
    const slot: WireSlot = { buf: EMPTY, start: 0, end: 0, hash: 0 };
    for (let i = 0; i < n; i++) {
      encodeMessage(updates[i]!, slot);
      put(cols, i, slot);
    }
    await this.sendFramed(cols, ATOMICITIES[atomicity], 0, n).catch((e: unknown) => {
      throw withUnreported(e, n);
    });
  }

  /** Encodes a list of updates into columns; an error names the update (lists of more than one). */
  private encodeAll(updates: readonly UpdateInput[]): SlotColumns {
    const n = updates.length;
    const cols = columns(n);
    const encoder = this.encoder;
    const slot: WireSlot = { buf: EMPTY, start: 0, end: 0, hash: 0 };
    for (let i = 0; i < n; i++) {
      const u = updates[i]!;
      try {
        encoder.encode(updateTypeCode(u.type), u.entity, slot);
      } catch (e) {
        throw prefixed(e, updates, i);
      }
      put(cols, i, slot);
    }
    return cols;
  }

  private async sendFramed(cols: SlotColumns, atomicity: WriteRequest_Atomicity, from: number, to: number): Promise<void> {
    await this.options.send(this.framer.frame(cols, atomicity, from, to));
  }
}

function columns(n: number): SlotColumns {
  return { bufs: new Array<Uint8Array>(n), starts: new Array<number>(n), ends: new Array<number>(n), hashes: new Array<number>(n) };
}

function put(cols: SlotColumns, i: number, slot: WireSlot): void {
  cols.bufs[i] = slot.buf;
  cols.starts[i] = slot.start;
  cols.ends[i] = slot.end;
  cols.hashes[i] = slot.hash;
}

/** An encoding error of update #i of a list names the update (lists of more than one). */
function prefixed(e: unknown, updates: readonly UpdateInput[], i: number): unknown {
  const u = updates[i]!;
  if (e instanceof Error && updates.length > 1) e.message = `update #${i} (${u.type} ${u.entity.kind}): ${e.message}`;
  return e;
}
