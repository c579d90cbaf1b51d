/**
 * WriteRequest framing around updates that are already encoded as slots
 * (updates framed as the request's field 4, held in columns): the request's
 * fields before `updates` (device_id, election_id) are encoded once per
 * client, the ones after it (atomicity, role) once per atomicity, and a
 * request is those bytes with the updates' bytes in between, which is
 * exactly protobuf's encoding of the same WriteRequest.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type Uint128, WriteRequestSchema, type WriteRequest_Atomicity } from "../../proto/gen/p4/v1/p4runtime_pb.js";

/** Encoded updates in columns (no object per update): update i is bufs[i][starts[i]..ends[i]), framed; hashes[i] its entity's hash. */
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
    this.head = toBinary(WriteRequestSchema, create(WriteRequestSchema, { deviceId, electionId }));
  }

  private tail(atomicity: WriteRequest_Atomicity): Uint8Array {
    let t = this.tails.get(atomicity);
    if (!t) {
      t = toBinary(WriteRequestSchema, create(WriteRequestSchema, { atomicity, role: this.role }));
      this.tails.set(atomicity, t);
    }
    return t;
  }

  /**
   * The serialized WriteRequest carrying updates [from, to) of `cols`
   * (empty entries, holes, carry nothing); runs of updates that lie one
   * after the other in one buffer are copied at once.
   */
  frame(cols: SlotColumns, atomicity: WriteRequest_Atomicity, from: number, to: number): Buffer {
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
}
