/**
 * WriteRequest framing around updates that are already encoded (as Update
 * messages, or as slots: updates already framed as the request's field 4): the
 * request's fields before `updates` (device_id, election_id) are encoded once
 * per client, the ones after it (atomicity, role) once per atomicity, and a
 * request is those bytes with each update's bytes framed as field 4 in
 * between, which is exactly toBinary's output for the same WriteRequest.
 */
import { create } from "@bufbuild/protobuf";
import { type Uint128, WriteRequestSchema, type WriteRequest_Atomicity } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { encodeWriteRequest } from "./messages.js";
import type { WireSlot } from "./table-entry.js";
import { varintSize } from "./writer.js";

/** Encoded updates in columns (no object per update): update i is bufs[i][starts[i]..ends[i]), framed. */
export interface SlotColumns {
  readonly bufs: Uint8Array[];
  readonly starts: number[];
  readonly ends: number[];
  readonly hashes: number[];
}

export class WriteRequestFramer {
  private readonly head: Uint8Array;
  private readonly tails = new Map<number, Uint8Array>();

  constructor(
    deviceId: bigint,
    electionId: Uint128,
    private readonly role: string,
  ) {
    this.head = encodeWriteRequest(create(WriteRequestSchema, { deviceId, electionId }));
  }

  private tail(atomicity: WriteRequest_Atomicity): Uint8Array {
    let t = this.tails.get(atomicity);
    if (!t) {
      t = encodeWriteRequest(create(WriteRequestSchema, { atomicity, role: this.role }));
      this.tails.set(atomicity, t);
    }
    return t;
  }

  /**
   * The serialized WriteRequest carrying framed updates (slots); runs of
   * updates that lie one after the other in one buffer are copied at once.
   */
  frameSlots(slots: readonly WireSlot[], atomicity: WriteRequest_Atomicity, from = 0, to = slots.length): Buffer {
    const head = this.head;
    const tail = this.tail(atomicity);
    let size = head.length + tail.length;
    for (let i = from; i < to; i++) size += slots[i]!.end - slots[i]!.start;
    const out = Buffer.allocUnsafe(size);
    out.set(head, 0);
    let p = head.length;
    let i = from;
    while (i < to) {
      const first = slots[i]!;
      const buf = first.buf;
      const runStart = first.start;
      let runEnd = first.end;
      i++;
      while (i < to && slots[i]!.buf === buf && slots[i]!.start === runEnd) runEnd = slots[i++]!.end;
      out.set(buf.subarray(runStart, runEnd), p);
      p += runEnd - runStart;
    }
    out.set(tail, p);
    return out;
  }

  /** frameSlots for updates held in columns. */
  frameColumns(cols: SlotColumns, atomicity: WriteRequest_Atomicity, from: number, to: number): Buffer {
    const head = this.head;
    const tail = this.tail(atomicity);
    const { bufs, starts, ends } = cols;
    let size = head.length + tail.length;
    for (let i = from; i < to; i++) size += ends[i]! - starts[i]!;
    const out = Buffer.allocUnsafe(size);
    out.set(head, 0);
    let p = head.length;
    let i = from;
    while (i < to) {
      const buf = bufs[i]!;
      const runStart = starts[i]!;
      let runEnd = ends[i]!;
      i++;
      while (i < to && bufs[i] === buf && starts[i] === runEnd) runEnd = ends[i++]!;
      out.set(buf.subarray(runStart, runEnd), p);
      p += runEnd - runStart;
    }
    out.set(tail, p);
    return out;
  }

  /** The serialized WriteRequest carrying `updates` (each a serialized p4.v1.Update). */
  frame(updates: readonly Uint8Array[], atomicity: WriteRequest_Atomicity, from = 0, to = updates.length): Buffer {
    const head = this.head;
    const tail = this.tail(atomicity);
    let size = head.length + tail.length;
    for (let i = from; i < to; i++) {
      const n = updates[i]!.length;
      size += 1 + varintSize(n) + n;
    }
    const out = Buffer.allocUnsafe(size);
    out.set(head, 0);
    let p = head.length;
    for (let i = from; i < to; i++) {
      const u = updates[i]!;
      let n = u.length;
      out[p++] = 0x22; // field 4, length-delimited
      while (n > 0x7f) {
        out[p++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      out[p++] = n;
      if (u.length < 64) for (let j = 0; j < u.length; j++) out[p++] = u[j]!;
      else {
        out.set(u, p);
        p += u.length;
      }
    }
    out.set(tail, p);
    return out;
  }
}
