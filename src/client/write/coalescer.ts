/**
 * Write coalescing: many concurrent single-entity writes become a few
 * batched WriteRequests. Updates are gathered for at most `lingerMs` (or
 * until `maxBatch`), up to `window` requests are in flight at once, and each
 * caller still gets its own outcome: its own per-update error when its
 * update failed, success otherwise.
 *
 * The coalescer only schedules; the work is done by its sink (WriteSink,
 * the client's WritePath) in one direction: each update is encoded (the
 * sink's encode) as its batch is formed, after the caller's turn of the
 * event loop, so a burst of calls costs the caller little and later batches
 * are encoded while earlier ones are in flight; bad input fails only its
 * caller, with the encoder's error. A batch is a range of those encoded
 * updates, which the sink frames as one WriteRequest and sends: nothing is
 * encoded twice.
 *
 * A call costs its promise and nothing else: entries live in the columns of
 * a reused segment, and consecutive calls without a signal share one gate
 * promise that their own promises follow (see Gate): about 110 bytes per
 * call instead of 230, so a burst of calls leaves the garbage collector less
 * to do (and less often) while the calls are pending.
 *
 * Ordering (batch.ts): two updates of the same entity never share a batch,
 * and a batch that touches an entity waits for any in-flight batch touching
 * it, so insert → modify → delete of one entry is applied in that order.
 * Nothing is retried: when a request's fate is unknown (stream or channel
 * lost, cancelled) its callers fail with a clear error rather than risk a
 * second write (outcome.ts).
 */
import type { Update } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { P4ConnectionError } from "../../p4runtime/errors.js";
import type { EntityInput } from "../entities/entity.js";
import { type UpdateInput, type UpdateTypeCode, type WireSlot, updateTypeCode } from "../wire/encode-update.js";
import type { SlotColumns } from "../wire/frame.js";
import { InFlight, type KeySet } from "./batch.js";
import { perUpdate } from "./outcome.js";

/** Where the coalescer's updates go: encoded, then sent a batch at a time (P4RuntimeClient's write path). */
export interface WriteSink {
  /** Encodes update `type` of `entity` into `slot`; throws the encoder's error for bad input. */
  encode(type: UpdateTypeCode, entity: EntityInput, slot: WireSlot): void;
  /** Encodes an Update message into `slot`. */
  encodeMessage(update: Update, slot: WireSlot): void;
  /** Sends updates [from, to) of `cols` (holes, with no bytes, skipped) as one continue-on-error WriteRequest. */
  send(cols: SlotColumns, from: number, to: number): Promise<void>;
  /** Calls `fn` when the stream is lost; returns the function that stops it. */
  onDisconnect(fn: (e: Error) => void): () => void;
}

export interface CoalescerOptions {
  /** Most updates in one WriteRequest (default DEFAULT_MAX_BATCH, 128). */
  readonly maxBatch?: number;
  /** How long a batch may wait for more updates, in ms (default 0: the next turn of the event loop). */
  readonly lingerMs?: number;
  /** Most WriteRequests in flight at once (default 4). */
  readonly window?: number;
}

/**
 * Most updates per WriteRequest by default. It bounds the per-update error
 * list a failed continue-on-error request brings back in its trailer: a
 * switch answers with one status per update (about 120 bytes each for a
 * failure, 35 for an OK), and simple_switch_grpc sends them all, while a
 * grpc-js client takes at most 64 KiB of trailer (Node's HTTP/2 header list
 * limit); past it the call never gets an answer. 128 failures stay near
 * 16 KB (21 KB as base64), within the embedded switch's budget too
 * (STATUS_DETAILS_BUDGET in switch/runtime/server.ts).
 */
export const DEFAULT_MAX_BATCH = 128;
export const DEFAULT_WINDOW = 4;

export interface CoalescerStats {
  requests: number;
  updates: number;
  largestBatch: number;
}

/**
 * Queued updates in columns: no object per call beyond its promise. A burst
 * of calls fills one segment; a batch is a range of it. An entry is live
 * until its outcome is known; holes (cancelled, or rejected at encoding) are
 * entries answered before their batch was sent, with no bytes.
 */
class Segment implements SlotColumns {
  readonly bufs: Uint8Array[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly hashes: number[] = [];
  /** 1 insert, 2 modify, 3 delete; 0: inputs[i] is an Update message. */
  readonly types: number[] = [];
  readonly inputs: (EntityInput | Update | undefined)[] = [];
  /** LIVE until the entry's outcome is known. */
  readonly states: number[] = [];
  /** The caller's own promise's resolvers (calls with a signal, or see Gate). */
  readonly resolves: ((() => void) | undefined)[] = [];
  readonly rejects: (((e: Error) => void) | undefined)[] = [];
  /** The gate whose promise the caller's promise follows, until the outcome is handed over. */
  readonly gates: (Gate | undefined)[] = [];
  /** An outcome waiting for its gate's check: the error, or undefined for success. */
  readonly errors: (Error | undefined)[] = [];
  /** Entries in use (the columns keep their capacity when a segment is reused). */
  length = 0;
  /** Next entry to go into a batch. */
  head = 0;
  /** Entries [head, encoded) were encoded ahead of their batch. */
  encoded = 0;
  /** Entries whose caller has not been given the outcome yet. */
  unsettled = 0;
  /** No longer in the coalescer's list (every entry is in a batch). */
  dropped = false;
  /** `base` is the sequence number of entry 0 (entries of all segments are numbered in call order). */
  constructor(public base: number) {}

  reset(base: number): this {
    this.base = base;
    this.length = this.head = this.encoded = this.unsettled = 0;
    this.dropped = false;
    return this;
  }

  /** Appends a live entry answered through `gate` or, without one, through `resolve`/`reject`. */
  append(
    type: number,
    input: EntityInput | Update,
    gate: Gate | undefined,
    resolve: (() => void) | undefined,
    reject: ((e: Error) => void) | undefined,
  ): number {
    const i = this.length++;
    this.unsettled++;
    if (i < this.types.length) {
      this.types[i] = type;
      this.inputs[i] = input;
      this.states[i] = LIVE;
      this.gates[i] = gate;
      this.resolves[i] = resolve;
      this.rejects[i] = reject;
      // starts, ends and hashes are written when the entry is encoded (and starts and ends zeroed when it is answered).
      this.bufs[i] = NOT_ENCODED;
    } else {
      this.types.push(type);
      this.inputs.push(input);
      this.states.push(LIVE);
      this.gates.push(gate);
      this.resolves.push(resolve);
      this.rejects.push(reject);
      this.errors.push(undefined);
      this.bufs.push(NOT_ENCODED);
      this.starts.push(0);
      this.ends.push(0);
      this.hashes.push(0);
    }
    return i;
  }
}

/**
 * One promise shared by consecutive calls without a signal (at most a
 * batch's worth): each caller gets `gate.promise.then(checkGate)`, a promise
 * and a reaction instead of a promise with two resolving functions and their
 * context, half the memory per call. Reactions run in the order they were
 * added, so the k-th run of checkGate is the gate's k-th caller: it throws
 * that caller's error or returns. The gate opens (is resolved) as soon as
 * any of its callers is answered (a batch holding it answered, bad input,
 * a closed coalescer); the hand-over runs after that, so callers answered
 * in the same pass get their outcome, and a caller whose update is still
 * queued or in flight gets a promise of its own: no caller waits longer
 * than it would with a promise of its own from the start.
 */
class Gate {
  readonly promise: Promise<Gate>;
  private readonly resolve: (g: Gate) => void;
  /** Next entry for checkGate to look at. */
  cursor: number;
  opened = false;

  constructor(
    /** Called when one of the gate's callers has been handed its outcome. */
    readonly answered: (seg: Segment) => void,
    readonly seg: Segment,
    from: number,
  ) {
    this.promise = new Promise<Gate>(captureGate);
    this.resolve = capturedGateResolve;
    this.cursor = from;
  }

  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.resolve(this);
  }
}

/** A request's worth of a segment: entries [from, to), `count` of them real (not holes). */
interface Batch {
  readonly seg: Segment;
  readonly from: number;
  readonly to: number;
  count: number;
  /** The hash of every entity the batch touches. */
  readonly keys: KeySet;
}

const NOT_ENCODED = new Uint8Array(0);
/** A burst larger than this starts a new segment (segments are dropped once formed into batches). */
const SEGMENT_MAX = 1 << 16;

/** A segment entry whose outcome is not known yet. */
const LIVE = 1;

// Shared promise executors: a promise costs no closure of its own.
let capturedResolve: () => void = () => {};
let capturedReject: (e: Error) => void = () => {};
const capture = (resolve: () => void, reject: (e: Error) => void): void => {
  capturedResolve = resolve;
  capturedReject = reject;
};
let capturedGateResolve: (g: Gate) => void = () => {};
const captureGate = (resolve: (g: Gate) => void): void => {
  capturedGateResolve = resolve;
};
/**
 * The reaction of every gated caller's promise (see Gate), run once per
 * caller in call order: the outcome when it is known, else a promise of the
 * caller's own that its settlement will answer.
 */
const checkGate = (g: Gate): Promise<void> | undefined => {
  const seg = g.seg;
  let i = g.cursor;
  while (seg.gates[i] !== g) {
    // Entries between the gate's callers are calls with a signal.
    if (++i >= seg.length) throw new Error("write coalescer: a gate ran out of callers (internal error)");
  }
  g.cursor = i + 1;
  seg.gates[i] = undefined;
  if (seg.states[i] === LIVE) {
    const promise = new Promise<void>(capture);
    seg.resolves[i] = capturedResolve;
    seg.rejects[i] = capturedReject;
    return promise;
  }
  const e = seg.errors[i];
  seg.errors[i] = undefined;
  g.answered(seg);
  if (e !== undefined) throw e;
  return undefined;
};

function isUpdateInput(u: UpdateInput | Update): u is UpdateInput {
  return "entity" in u && u.entity !== undefined && "kind" in u.entity;
}

export class WriteCoalescer {
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly window: number;
  /** Segments with entries not yet in a batch, oldest first. */
  private readonly segments: Segment[] = [];
  /** A drained segment kept for the next burst (its columns keep their capacity). */
  private spare: Segment | undefined;
  /** Entries ever queued; entries numbered below `ready` may be sent now (linger over, a batch's worth queued, or flushed). */
  private total = 0;
  private ready = 0;
  /** The gate new calls without a signal join (see Gate); closed once a batch takes its callers. */
  private gate: Gate | undefined;
  /** A formed batch waiting for an in-flight batch that touches one of its entities. */
  private blocked: Batch | undefined;
  private readonly inFlight: InFlight<Batch>;
  private aborts: Map<number, { readonly signal: AbortSignal; readonly onAbort: () => void }> | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private pumpScheduled = false;
  private firstScheduled = false;
  private readonly pumpFirst = (): void => {
    this.firstScheduled = false;
    this.pump();
  };
  private encodeScheduled = false;
  /** Set while a request's callers are being answered (idle waiters wait for them). */
  private settling = 0;
  private closed: Error | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly scratchSlot: WireSlot = { buf: NOT_ENCODED, start: 0, end: 0, hash: 0 };
  readonly stats: CoalescerStats = { requests: 0, updates: 0, largestBatch: 0 };
  private readonly stopListening: () => void;
  /** An entry's caller has its outcome (shared by the gates, see Gate). */
  private readonly answeredFn = (seg: Segment): void => this.answered(seg);

  constructor(
    private readonly sink: WriteSink,
    options: CoalescerOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.lingerMs = options.lingerMs ?? 0;
    this.window = options.window ?? DEFAULT_WINDOW;
    if (this.maxBatch < 1 || this.window < 1 || this.lingerMs < 0) {
      throw new RangeError("coalescer: maxBatch and window must be >= 1 and lingerMs >= 0");
    }
    this.inFlight = new InFlight(this.maxBatch, this.window);
    this.stopListening = sink.onDisconnect((e) =>
      this.failQueued(new P4ConnectionError(`stream lost before the write was sent: ${e.message}`)),
    );
  }

  insert(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.enqueue(1, entity, signal);
  }

  modify(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.enqueue(2, entity, signal);
  }

  delete(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.enqueue(3, entity, signal);
  }

  /**
   * Queues one update (or an Update message); resolves when the server
   * applied it. Bad input fails this call, and only this call, with the
   * encoder's error before anything of it is sent.
   */
  write(input: UpdateInput | Update, signal?: AbortSignal): Promise<void> {
    if (!isUpdateInput(input)) return this.enqueue(0, input, signal);
    let type: UpdateTypeCode;
    try {
      type = updateTypeCode(input.type);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.enqueue(type, input.entity, signal);
  }

  /**
   * The per-call path: the caller's promise follows a gate shared with the
   * calls around it (see Gate), and its entry is written into the segment's
   * columns; nothing else is allocated. Calls with a signal take
   * enqueueWithSignal, whose abort listener is a closure: kept out of this
   * function, since a closure anywhere in it would cost every call a context
   * object.
   */
  private enqueue(type: number, input: EntityInput | Update, signal: AbortSignal | undefined): Promise<void> {
    if (signal !== undefined) return this.enqueueWithSignal(type, input, signal);
    if (this.closed !== undefined) return Promise.reject(this.closed);
    let seg = this.segments[this.segments.length - 1];
    if (seg === undefined || seg.length >= SEGMENT_MAX) seg = this.newSegment();
    let gate = this.gate;
    if (gate === undefined || gate.seg !== seg || seg.length - gate.cursor >= this.maxBatch) {
      gate = this.gate = new Gate(this.answeredFn, seg, seg.length);
    }
    seg.append(type, input, gate, undefined, undefined);
    this.total++;
    this.queued();
    return gate.promise.then(checkGate);
  }

  private newSegment(): Segment {
    const seg = this.spare?.reset(this.total) ?? new Segment(this.total);
    this.spare = undefined;
    this.segments.push(seg);
    return seg;
  }

  private queued(): void {
    if (this.total - this.ready >= this.maxBatch) {
      // A batch's worth is waiting: no need to linger. With nothing in flight it goes out as soon as the caller's turn ends.
      this.ready = this.total;
      if (this.inFlight.size === 0) this.scheduleFirst();
      else this.schedulePump();
    } else if (this.timer === undefined) {
      this.scheduleLinger();
    }
  }

  /**
   * Pumps in a microtask, at the end of the caller's turn: the first
   * request of a burst is handed to the channel before the event loop goes
   * on (its bytes go out in this turn's write, not the next turn's), and
   * the rest follow on the next turn (see pump).
   */
  private scheduleFirst(): void {
    if (this.firstScheduled) return;
    this.firstScheduled = true;
    queueMicrotask(this.pumpFirst);
  }

  private enqueueWithSignal(type: number, input: EntityInput | Update, signal: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (signal.aborted) return Promise.reject(abortError());
    let seg = this.segments[this.segments.length - 1];
    if (seg === undefined || seg.length >= SEGMENT_MAX) seg = this.newSegment();
    const promise = new Promise<void>(capture);
    const i = seg.append(type, input, undefined, capturedResolve, capturedReject);
    const seq = this.total++;
    const s = seg;
    const onAbort = () => this.cancel(s, i);
    let aborts = this.aborts;
    if (!aborts) {
      aborts = new Map();
      this.aborts = aborts;
    }
    aborts.set(seq, { signal, onAbort });
    signal.addEventListener("abort", onAbort, { once: true });
    this.queued();
    return promise;
  }

  /** Resolves when everything queued so far has been answered. */
  flush(): Promise<void> {
    this.ready = this.total;
    this.pump();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Fails every queued (unsent) write and refuses new ones. */
  close(reason = "the write coalescer was closed"): void {
    this.closed = new P4ConnectionError(reason);
    this.stopListening();
    this.failQueued(this.closed);
  }

  private scheduleLinger(): void {
    if (this.timer) return;
    const fire = () => {
      this.timer = undefined;
      this.ready = this.total;
      this.pump();
    };
    this.timer = this.lingerMs > 0 ? setTimeout(fire, this.lingerMs) : setImmediate(fire);
  }

  /** Pumps on the next turn of the event loop (once, however often asked). */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** The oldest segment with ready entries not yet in a batch (fully formed segments are dropped). */
  private readySegment(): Segment | undefined {
    let seg = this.segments[0];
    while (seg && seg.head >= seg.length) {
      this.segments.shift();
      this.retire(seg);
      seg = this.segments[0];
    }
    return seg && seg.head < seg.length && seg.base + seg.head < this.ready ? seg : undefined;
  }

  /**
   * Forms and sends batches in order while the window and ordering allow.
   * Updates are encoded as their batch is formed (or just before, see
   * scheduleEncode), so encoding overlaps with earlier requests in flight;
   * the first request of a burst goes out before the next are encoded.
   */
  private pump(): void {
    while (this.inFlight.size < this.window) {
      let batch = this.blocked;
      if (!batch) {
        const seg = this.readySegment();
        if (!seg) break;
        batch = this.form(seg);
        if (batch.count === 0) {
          this.inFlight.release(batch.keys);
          continue;
        }
      }
      if (this.conflicts(batch)) {
        this.blocked = batch; // wait for the earlier write of the same entity
        break;
      }
      this.blocked = undefined;
      this.send(batch);
      if (this.inFlight.size === 1 && this.window > 1 && this.readySegment()) {
        this.schedulePump();
        break;
      }
    }
    if (!this.pumpScheduled) this.scheduleEncode();
    this.checkIdle();
  }

  /** Takes ready entries of `seg` into one batch: at most maxBatch, no entity twice. */
  private form(seg: Segment): Batch {
    const keys = this.inFlight.keySet();
    const from = seg.head;
    const limit = Math.min(seg.length, this.ready - seg.base);
    let i = from;
    let count = 0;
    while (i < limit && count < this.maxBatch) {
      if (seg.states[i] !== LIVE) {
        i++; // a hole
        continue;
      }
      if (seg.bufs[i] === NOT_ENCODED && !this.encodeAt(seg, i)) {
        i++;
        continue;
      }
      const h = seg.hashes[i]!;
      if (keys.has(h)) break; // the same entity again (or a hash collision): it opens the next batch
      keys.add(h);
      count++;
      i++;
    }
    seg.head = i;
    // The gate of these callers opens when this batch is answered: later calls start another.
    if (this.gate !== undefined && this.gate.seg === seg && this.gate.cursor < i) this.gate = undefined;
    return { seg, from, to: i, count, keys };
  }

  /** Encodes entry i into the columns and lets go of its input; false (and the caller rejected) when the input is bad. */
  private encodeAt(seg: Segment, i: number): boolean {
    const type = seg.types[i]!;
    const slot = this.scratchSlot;
    try {
      if (type === 0) this.sink.encodeMessage(seg.inputs[i] as Update, slot);
      else this.sink.encode(type as UpdateTypeCode, seg.inputs[i] as EntityInput, slot);
    } catch (err) {
      this.settleHole(seg, i, err instanceof Error ? err : new Error(String(err)));
      return false;
    }
    seg.bufs[i] = slot.buf;
    seg.starts[i] = slot.start;
    seg.ends[i] = slot.end;
    seg.hashes[i] = slot.hash;
    seg.inputs[i] = undefined;
    return true;
  }

  /**
   * Encodes the ready entries that wait for a window slot, on the next turn
   * of the event loop (after the requests just sent have gone out): their
   * inputs are released early, and each later batch only needs framing.
   */
  private scheduleEncode(): void {
    if (this.encodeScheduled) return;
    const pending = this.segments.some((s) => Math.max(s.head, s.encoded) < Math.min(s.length, this.ready - s.base));
    if (!pending) return;
    this.encodeScheduled = true;
    setImmediate(() => {
      this.encodeScheduled = false;
      for (const seg of this.segments) {
        const limit = Math.min(seg.length, this.ready - seg.base);
        for (let i = Math.max(seg.head, seg.encoded); i < limit; i++) {
          if (seg.states[i] === LIVE && seg.bufs[i] === NOT_ENCODED) this.encodeAt(seg, i);
        }
        seg.encoded = Math.max(seg.encoded, limit);
      }
      this.pump();
    });
  }

  private conflicts(batch: Batch): boolean {
    return this.inFlight.conflicts(batch.seg.hashes, batch.from, batch.to, batch.seg.states);
  }

  private send(batch: Batch): void {
    // Too late to cancel now.
    if (this.aborts && this.aborts.size > 0) for (let i = batch.from; i < batch.to; i++) this.detach(batch.seg, i);
    this.inFlight.add(batch);
    this.stats.requests++;
    this.stats.updates += batch.count;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.count);
    let sent: Promise<void>;
    try {
      sent = this.sink.send(batch.seg, batch.from, batch.to);
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(
      () => this.complete(batch, true, undefined),
      (e: unknown) => this.complete(batch, false, e),
    );
  }

  /**
   * A request was answered: the next one goes out first (the server is
   * never kept waiting by the callers' continuations), then its callers
   * get their outcomes.
   */
  private complete(batch: Batch, ok: boolean, e: unknown): void {
    this.inFlight.delete(batch);
    this.settling++;
    try {
      this.pump();
    } finally {
      if (ok) this.settleRange(batch);
      else this.settleFailed(batch, e);
      this.settling--;
      this.checkIdle();
    }
  }

  /** A request was applied: every live entry of the batch succeeded. */
  private settleRange(batch: Batch): void {
    const { seg, from, to } = batch;
    for (let i = from; i < to; i++) if (seg.states[i] === LIVE) this.settle(seg, i, undefined);
  }

  /** A segment out of the list and fully answered is kept for reuse. */
  private retire(seg: Segment): void {
    seg.dropped = true;
    if (seg.unsettled === 0 && seg.types.length <= SEGMENT_MAX) this.spare = seg;
  }

  /** An entry's caller has its outcome. */
  private answered(seg: Segment): void {
    if (--seg.unsettled === 0 && seg.dropped && seg.types.length <= SEGMENT_MAX) this.spare = seg;
  }

  /**
   * Entry i's outcome is known (`err` undefined: success): what it holds is
   * dropped and its caller answered, at once when it has a promise of its
   * own, else through its gate, which this opens (see Gate).
   */
  private settle(seg: Segment, i: number, err: Error | undefined): void {
    seg.states[i] = 0;
    seg.inputs[i] = undefined;
    seg.bufs[i] = NOT_ENCODED;
    seg.starts[i] = 0;
    seg.ends[i] = 0;
    const resolve = seg.resolves[i];
    if (resolve !== undefined) {
      const reject = seg.rejects[i]!;
      seg.resolves[i] = undefined;
      seg.rejects[i] = undefined;
      this.answered(seg);
      if (err === undefined) resolve();
      else reject(err);
      return;
    }
    const gate = seg.gates[i]!;
    seg.errors[i] = err;
    if (!gate.opened) {
      if (this.gate === gate) this.gate = undefined;
      gate.open();
    }
  }

  /** Rejects entry i and leaves a hole (nothing of it is sent). */
  private settleHole(seg: Segment, i: number, err: Error): void {
    this.detach(seg, i);
    this.settle(seg, i, err);
  }

  /** A request failed: each live entry of the batch gets the outcome of its position in the request. */
  private settleFailed(batch: Batch, e: unknown): void {
    const { seg, from, to } = batch;
    const outcome = perUpdate(e);
    let k = 0;
    for (let i = from; i < to; i++) if (seg.states[i] === LIVE) this.settle(seg, i, outcome(k++));
  }

  private detach(seg: Segment, i: number): void {
    const aborts = this.aborts;
    if (!aborts || aborts.size === 0) return;
    const seq = seg.base + i;
    const a = aborts.get(seq);
    if (!a) return;
    a.signal.removeEventListener("abort", a.onAbort);
    aborts.delete(seq);
  }

  private cancel(seg: Segment, i: number): void {
    if (seg.states[i] !== LIVE) return; // already answered
    const b = this.blocked;
    if (i < seg.head && !(b && b.seg === seg && i >= b.from && i < b.to)) return; // already sent: too late
    if (b && b.seg === seg && i >= b.from && i < b.to) {
      b.count--;
      if (b.count === 0) {
        this.blocked = undefined;
        this.inFlight.release(b.keys);
      }
    }
    this.settleHole(seg, i, abortError());
    this.schedulePump(); // not from inside the caller's abort(): more aborts may follow in the same turn
  }

  private failQueued(err: Error): void {
    const b = this.blocked;
    this.blocked = undefined;
    const segments = this.segments.splice(0);
    if (b) {
      for (let i = b.from; i < b.to; i++) if (b.seg.states[i] === LIVE) this.settleHole(b.seg, i, err);
      this.inFlight.release(b.keys);
    }
    for (const seg of segments) {
      for (let i = seg.head; i < seg.length; i++) if (seg.states[i] === LIVE) this.settleHole(seg, i, err);
      seg.head = seg.length;
      this.retire(seg);
    }
    this.ready = this.total;
    this.checkIdle();
  }

  private isIdle(): boolean {
    return !this.blocked && this.inFlight.size === 0 && this.segments.every((s) => s.head >= s.length);
  }

  private checkIdle(): void {
    if (this.settling === 0 && this.isIdle()) {
      const w = this.idleWaiters.splice(0);
      for (const r of w) r();
    }
  }
}

function abortError(): Error {
  const e = new Error("the write was cancelled before it was sent");
  e.name = "AbortError";
  return e;
}
