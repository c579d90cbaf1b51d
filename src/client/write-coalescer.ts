/**
 * Write coalescing: many concurrent single-entity writes become a few
 * batched WriteRequests. Updates are gathered for at most `lingerMs` (or
 * until `maxBatch`), up to `window` requests are in flight at once, and each
 * caller still gets its own outcome: its own per-update error when its
 * update failed, success otherwise.
 *
 * Each update is encoded to wire bytes as its batch is formed, after the
 * caller's turn of the event loop, so a burst of calls costs the caller
 * little and later batches are encoded while earlier ones are in flight;
 * bad input fails only its caller, with the encoder's error. A batch is
 * those bytes framed as one WriteRequest (src/client/wire/): nothing is
 * encoded twice.
 *
 * A call costs its promise and nothing else: entries live in the columns of
 * a reused segment, and consecutive calls without a signal share one gate
 * promise that their own promises follow (see Gate): about 110 bytes per
 * call instead of 230, so a burst of calls leaves the garbage collector less
 * to do (and less often) while the calls are pending.
 *
 * Ordering: two updates of the same entity never share a batch (a server may
 * apply a batch in any order), and a batch that touches an entity waits for
 * any earlier in-flight batch touching it, so insert → modify → delete of
 * one entry is applied in that order. Entities are compared by a hash of
 * their key (keyHash): a collision only splits a batch or adds a wait.
 * Nothing is retried: when a request's fate is unknown (stream or channel
 * lost, cancelled) its callers fail with a clear error rather than risk a
 * second write.
 *
 * `writeChunked` is the same machinery for one bulk write (P4RuntimeClient.write
 * with continueOnError): consecutive chunks, a window in flight, per-entity
 * order across chunks, failures reported by index in the caller's list.
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { type Entity, EntitySchema, TableEntrySchema, type Update, UpdateSchema } from "../proto/gen/p4/v1/p4runtime_pb.js";
import { Code, P4ConnectionError, P4RuntimeError, type UpdateFailure, isP4RuntimeError } from "../p4runtime/errors.js";
import type { EntityInput } from "./entities/entity.js";
import { encodeEntityMessage, encodeTableEntryKey, encodeUpdate } from "./wire/messages.js";
import { type EncodedUpdate, type WireSlot, keyHash } from "./wire/table-entry.js";
import type { SlotColumns } from "./wire/request.js";

export type { EncodedUpdate, WireSlot };

export interface UpdateInput {
  readonly type: "insert" | "modify" | "delete";
  readonly entity: EntityInput;
}

/** What the coalescer needs of a client (P4RuntimeClient implements it). */
export interface BatchWriter {
  encodeUpdates(updates: readonly UpdateInput[]): Update[];
  writeRaw(updates: Update[]): Promise<void>;
  /** Encodes one update straight to wire bytes, described by `slot` (P4RuntimeClient's fast path); optional. */
  encodeWireTo?(update: UpdateInput | Update, slot: WireSlot): void;
  /** encodeWireTo for an insert (1), modify (2) or delete (3) of `entity`, with no UpdateInput to build; optional, with encodeWireTo. */
  encodeEntityTo?(type: 1 | 2 | 3, entity: EntityInput, slot: WireSlot): void;
  /** Sends one WriteRequest of the updates in columns [from, to) encoded by encodeWireTo (empty entries skipped); optional, with it. */
  writeColumns?(cols: SlotColumns, from: number, to: number): Promise<void>;
  on(event: "disconnect", fn: (e: Error) => void): unknown;
  off(event: "disconnect", fn: (e: Error) => void): unknown;
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
  append(type: number, input: EntityInput | Update, gate: Gate | undefined, resolve: (() => void) | undefined, reject: ((e: Error) => void) | undefined): number {
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
    readonly owner: WriteCoalescer,
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
  /** keyHash of every entity the batch touches. */
  readonly keys: IntSet;
}

/** A set of small non-negative integers (key hashes) in an open-addressing table; reused across batches. */
class IntSet {
  private readonly table: Int32Array;
  private readonly mask: number;
  constructor(capacity: number) {
    let cap = 16;
    while (cap < capacity * 2) cap <<= 1;
    this.table = new Int32Array(cap);
    this.mask = cap - 1;
  }
  private slot(h: number): number {
    const v = h + 1;
    const t = this.table;
    let s = (Math.imul(v, 0x9e3779b1) >>> 0) & this.mask;
    while (t[s] !== 0 && t[s] !== v) s = (s + 1) & this.mask;
    return s;
  }
  has(h: number): boolean {
    return this.table[this.slot(h)] !== 0;
  }
  add(h: number): void {
    this.table[this.slot(h)] = h + 1;
  }
  clear(): void {
    this.table.fill(0);
  }
}

const TYPES: Readonly<Record<string, number>> = { insert: 1, modify: 2, delete: 3 };
const TYPE_NAMES = ["insert", "insert", "modify", "delete"] as const;
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
/** The reaction of every gated caller's promise (see Gate). */
const checkGate = (g: Gate): Promise<void> | undefined => g.owner.handOver(g);

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
  private readonly inFlight = new Set<Batch>();
  private readonly freeKeySets: IntSet[] = [];
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
  /** Scratch input handed to the encoder (not retained by it). */
  private readonly scratchInput: { type: UpdateInput["type"]; entity: EntityInput | undefined } = { type: "insert", entity: undefined };
  private readonly scratchSlot: WireSlot = { buf: NOT_ENCODED, start: 0, end: 0, hash: 0 };
  private readonly encode: (u: UpdateInput | Update, slot: WireSlot) => void;
  /** The client encodes entities given with their update type (encodeEntityTo). */
  private readonly entityEncoder: boolean;
  private readonly sendRange: (seg: Segment, from: number, to: number) => Promise<void>;
  readonly stats: CoalescerStats = { requests: 0, updates: 0, largestBatch: 0 };
  private readonly onDisconnect = (e: Error) => this.failQueued(new P4ConnectionError(`stream lost before the write was sent: ${e.message}`));

  constructor(
    private readonly client: BatchWriter,
    options: CoalescerOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.lingerMs = options.lingerMs ?? 0;
    this.window = options.window ?? DEFAULT_WINDOW;
    if (this.maxBatch < 1 || this.window < 1 || this.lingerMs < 0) throw new RangeError("coalescer: maxBatch and window must be >= 1 and lingerMs >= 0");
    this.entityEncoder = client.encodeWireTo !== undefined && client.writeColumns !== undefined && client.encodeEntityTo !== undefined;
    if (client.encodeWireTo && client.writeColumns) {
      this.encode = client.encodeWireTo.bind(client);
      const writeColumns = client.writeColumns.bind(client);
      this.sendRange = (seg, from, to) => writeColumns(seg, from, to);
    } else {
      // Any BatchWriter: Update messages, serialized here (unframed) and parsed back for writeRaw.
      this.encode = (u, slot) => {
        const update = isUpdateInput(u) ? client.encodeUpdates([u])[0]! : u;
        const bytes = encodeUpdate(update);
        slot.buf = bytes;
        slot.start = 0;
        slot.end = bytes.length;
        slot.hash = keyHash(entityKey(update.entity ?? create(EntitySchema)));
      };
      this.sendRange = (seg, from, to) => {
        const updates: Update[] = [];
        for (let i = from; i < to; i++) if (seg.states[i] === LIVE) updates.push(fromBinary(UpdateSchema, seg.bufs[i]!));
        return client.writeRaw(updates);
      };
    }
    client.on("disconnect", this.onDisconnect);
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
   * Queues one update; resolves when the server applied it. Bad input
   * (what encodeUpdates rejects) fails this call, and only this call, with
   * that error before anything of it is sent.
   */
  write(input: UpdateInput | Update, signal?: AbortSignal): Promise<void> {
    if (!isUpdateInput(input)) return this.enqueue(0, input, signal);
    const type = TYPES[input.type];
    // An unknown type goes to the encoder as it is (which rejects it as encodeUpdates does).
    return type === undefined ? this.enqueue(0, input as unknown as Update, signal) : this.enqueue(type, input.entity, signal);
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
    if (gate === undefined || gate.seg !== seg || seg.length - gate.cursor >= this.maxBatch) gate = this.gate = new Gate(this, seg, seg.length);
    seg.append(type, input, gate, undefined, undefined);
    this.total++;
    this.queued();
    return gate.promise.then(checkGate);
  }

  /**
   * A gate's reaction for its next caller (see Gate): the outcome when it is
   * known, else a promise of the caller's own that its settlement will answer.
   * @internal
   */
  handOver(g: Gate): Promise<void> | undefined {
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
    this.answered(seg);
    if (e !== undefined) throw e;
    return undefined;
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
    (this.aborts ??= new Map()).set(seq, { signal, onAbort });
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
    this.client.off("disconnect", this.onDisconnect);
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
          this.releaseKeys(batch);
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
    const keys = this.freeKeySets.pop() ?? new IntSet(this.maxBatch);
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
      if (type === 0) this.encode(seg.inputs[i] as Update, slot);
      else if (this.entityEncoder) this.client.encodeEntityTo!(type as 1 | 2 | 3, seg.inputs[i] as EntityInput, slot);
      else {
        const input = this.scratchInput;
        input.type = TYPE_NAMES[type]!;
        input.entity = seg.inputs[i] as EntityInput;
        try {
          this.encode(input as UpdateInput, slot);
        } finally {
          input.entity = undefined;
        }
      }
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
    if (this.inFlight.size === 0) return false;
    const { seg, from, to } = batch;
    for (const b of this.inFlight) {
      for (let i = from; i < to; i++) if (seg.states[i] === LIVE && b.keys.has(seg.hashes[i]!)) return true;
    }
    return false;
  }

  private send(batch: Batch): void {
    if (this.aborts && this.aborts.size > 0) for (let i = batch.from; i < batch.to; i++) this.detach(batch.seg, i); // too late to cancel now
    this.inFlight.add(batch);
    this.stats.requests++;
    this.stats.updates += batch.count;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.count);
    let sent: Promise<void>;
    try {
      sent = this.sendRange(batch.seg, batch.from, batch.to);
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
    this.releaseKeys(batch);
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

  private releaseKeys(batch: Batch): void {
    batch.keys.clear();
    if (this.freeKeySets.length < this.window + 1) this.freeKeySets.push(batch.keys);
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

  private settleFailed(batch: Batch, e: unknown): void {
    const { seg, from, to } = batch;
    if (isP4RuntimeError(e) && e.failures.length > 0) {
      // Failure k is the k-th update of the request: the k-th entry of the batch that is not a hole.
      const byIndex = new Map(e.failures.map((f) => [f.index, f]));
      let k = 0;
      for (let i = from; i < to; i++) {
        if (seg.states[i] !== LIVE) continue;
        const idx = k++;
        const f = byIndex.get(idx);
        if (!f && e.reported !== undefined && idx >= e.reported) {
          // The server cut its per-update list short: this update's outcome is unknown.
          this.settle(seg, i, new P4RuntimeError("Write", Code.UNKNOWN, `outcome not reported: ${unreported(e.reported)}`, [{ index: 0, code: Code.UNKNOWN, message: `outcome not reported: ${unreported(e.reported)}` }]));
          continue;
        }
        this.settle(seg, i, f ? new P4RuntimeError("Write", f.code, "", [{ ...f, index: 0 }]) : undefined);
      }
      return;
    }
    const err = outcomeUnknown(e);
    for (let i = from; i < to; i++) if (seg.states[i] === LIVE) this.settle(seg, i, err);
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
        this.releaseKeys(b);
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
      this.releaseKeys(b);
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

/** A request that failed as a whole: its updates may or may not have been applied. */
function outcomeUnknown(e: unknown): Error {
  return isP4RuntimeError(e) && (e.code === Code.UNAVAILABLE || e.code === Code.CANCELLED || e.code === Code.DEADLINE_EXCEEDED)
    ? new P4RuntimeError("Write", e.code, `write outcome unknown (${e.details}); not retried to avoid writing twice`)
    : e instanceof Error
      ? e
      : new Error(String(e));
}

function abortError(): Error {
  const e = new Error("the write was cancelled before it was sent");
  e.name = "AbortError";
  return e;
}

export interface ChunkOptions {
  /** Most updates in one request. */
  readonly maxBatch: number;
  /** Most requests in flight at once. */
  readonly window: number;
}

/**
 * Sends one bulk write (continue-on-error semantics) as consecutive chunks:
 * `keys[i]` is keyHash() of update i's entity, and `send(from, to)` sends
 * updates [from..to) as one WriteRequest.
 * At most `window` chunks are in flight; a chunk that touches an entity an
 * earlier chunk touches is sent only once that chunk has been answered, so
 * the caller's order per entity holds. After a chunk fails as a whole (its
 * outcome unknown: connection lost, deadline, not primary...) no further
 * chunk is sent.
 *
 * Outcome: resolves when every update was applied. Otherwise one
 * P4RuntimeError whose `failures` index the caller's list: every update the
 * server rejected, and, when a chunk failed as a whole, each of its updates
 * (outcome unknown) and each update never sent (ABORTED). When nothing at
 * all was applied because the first chunks failed as a whole, that
 * request's error is thrown as it is, as a single request's would be.
 */
function unreported(reported: number): string {
  return `the switch's per-update error list stopped after ${reported} update(s) of this request (write smaller batches)`;
}

export async function writeChunked(keys: ArrayLike<number>, send: (from: number, to: number) => Promise<unknown>, opts: ChunkOptions): Promise<void> {
  const n = keys.length;
  const size = Math.max(1, opts.maxBatch);
  const window = Math.max(1, opts.window);
  const chunks = Math.ceil(n / size);
  const deps = chunkDependencies(keys, size, chunks);
  const done = new Uint8Array(chunks);
  /** Chunks that failed as a whole, by chunk number. */
  const wholesale = new Map<number, unknown>();
  const failures: UpdateFailure[] = [];
  let firstUpdateError: P4RuntimeError | undefined;
  let applied = false;
  let next = 0;

  await new Promise<void>((finish) => {
    let inFlight = 0;
    const pump = (): void => {
      while (wholesale.size === 0 && next < chunks && inFlight < window) {
        const c = next;
        const d = deps[c];
        if (d && d.some((j) => done[j] === 0)) break; // an earlier chunk touching the same entity is in flight
        next++;
        inFlight++;
        const from = c * size;
        const to = Math.min(n, from + size);
        let sent: Promise<unknown>;
        try {
          sent = send(from, to);
        } catch (e) {
          sent = Promise.reject(e);
        }
        sent
          .then(
            () => {
              applied = true;
            },
            (e: unknown) => {
              if (isP4RuntimeError(e) && e.failures.length > 0) {
                firstUpdateError ??= e;
                if (e.failures.length < to - from) applied = true;
                for (const f of e.failures) failures.push({ ...f, index: f.index + from });
                // A list cut short by the server: the updates past it have no known outcome.
                if (e.reported !== undefined) {
                  for (let i = from + e.reported; i < to; i++) failures.push({ index: i, code: Code.UNKNOWN, message: `outcome not reported: ${unreported(e.reported)}` });
                }
              } else {
                wholesale.set(c, e);
              }
            },
          )
          .finally(() => {
            done[c] = 1;
            inFlight--;
            pump();
          });
      }
      if (inFlight === 0 && (wholesale.size > 0 || next >= chunks)) finish();
    };
    pump();
  });

  if (wholesale.size === 0 && failures.length === 0) return;
  const first = wholesale.size > 0 ? Math.min(...wholesale.keys()) : -1;
  if (first >= 0 && !applied && failures.length === 0) throw wholesale.get(first);
  const outcome: UpdateFailure[] = failures;
  let code: Code;
  let details: string;
  if (first >= 0) {
    const e = wholesale.get(first);
    code = isP4RuntimeError(e) ? e.code : Code.UNKNOWN;
    const why = isP4RuntimeError(e) ? e.details || e.message : e instanceof Error ? e.message : String(e);
    const ranges: string[] = [];
    for (const [c, err] of [...wholesale].sort((a, b) => a[0] - b[0])) {
      const from = c * size;
      const to = Math.min(n, from + size);
      const cCode = isP4RuntimeError(err) ? err.code : Code.UNKNOWN;
      const cWhy = isP4RuntimeError(err) ? err.details || err.message : err instanceof Error ? err.message : String(err);
      for (let i = from; i < to; i++) outcome.push({ index: i, code: cCode, message: `outcome unknown: ${cWhy}` });
      ranges.push(`#${from}..#${to - 1} outcome unknown`);
    }
    const unsent = next * size;
    for (let i = unsent; i < n; i++) outcome.push({ index: i, code: Code.ABORTED, message: "not sent: an earlier request of this write failed" });
    if (unsent < n) ranges.push(`#${unsent}..#${n - 1} not sent`);
    details = `${why} (the write went as requests of up to ${size} updates: ${ranges.join(", ")})`;
  } else {
    code = firstUpdateError!.code;
    details = firstUpdateError!.details;
  }
  outcome.sort((a, b) => a.index - b.index);
  throw new P4RuntimeError("Write", code, details, outcome);
}

/** For each chunk, the earlier chunks that touch one of its entities (by key hash: a collision only adds a wait). */
function chunkDependencies(keys: ArrayLike<number>, size: number, chunks: number): (number[] | undefined)[] {
  const deps = new Array<number[] | undefined>(chunks);
  if (chunks < 2) return deps;
  // Open addressing over the hashes (no allocation per update): slot = hash + 1 (0 is empty), value = last chunk.
  const n = keys.length;
  let cap = 1;
  while (cap < n * 2) cap <<= 1;
  const mask = cap - 1;
  const table = new Int32Array(cap);
  const last = new Int32Array(cap);
  for (let c = 0; c < chunks; c++) {
    const end = Math.min(n, (c + 1) * size);
    for (let i = c * size; i < end; i++) {
      const h = keys[i]! + 1;
      let s = (Math.imul(h, 0x9e3779b1) >>> 0) & mask;
      while (table[s] !== 0 && table[s] !== h) s = (s + 1) & mask;
      if (table[s] === h) {
        const j = last[s]!;
        if (j !== c) {
          const d = (deps[c] ??= []);
          if (!d.includes(j)) d.push(j);
        }
      } else {
        table[s] = h;
      }
      last[s] = c;
    }
  }
  return deps;
}

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/** Identity of the entity an update touches (its key fields only). */
export function entityKey(e: Entity): string {
  const x = e.entity;
  switch (x.case) {
    case "tableEntry":
      return "t" + latin1(encodeTableEntryKey(x.value));
    case "actionProfileMember":
      return `m${x.value.actionProfileId}/${x.value.memberId}`;
    case "actionProfileGroup":
      return `g${x.value.actionProfileId}/${x.value.groupId}`;
    case "packetReplicationEngineEntry":
      return x.value.type.case === "multicastGroupEntry" ? `mc${x.value.type.value.multicastGroupId}` : `cs${x.value.type.value?.sessionId ?? 0}`;
    case "counterEntry":
      return `c${x.value.counterId}/${x.value.index?.index ?? "*"}`;
    case "meterEntry":
      return `me${x.value.meterId}/${x.value.index?.index ?? "*"}`;
    case "registerEntry":
      return `r${x.value.registerId}/${x.value.index?.index ?? "*"}`;
    case "directCounterEntry":
    case "directMeterEntry":
      return "t" + latin1(encodeTableEntryKey(x.value.tableEntry ?? create(TableEntrySchema)));
    case "valueSetEntry":
      return `v${x.value.valueSetId}`;
    case "digestEntry":
      return `d${x.value.digestId}`;
    default:
      return "x" + latin1(encodeEntityMessage(e));
  }
}
