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
 * Ordering: two updates of the same entity never share a batch (a server may
 * apply a batch in any order), and a batch that touches an entity waits for
 * any earlier in-flight batch touching it, so insert → modify → delete of
 * one entry is applied in that order. Nothing is retried: when a request's
 * fate is unknown (stream or channel lost, cancelled) its callers fail with
 * a clear error rather than risk a second write.
 *
 * `writeChunked` is the same machinery for one bulk write (P4RuntimeClient.write
 * with continueOnError): consecutive chunks, a window in flight, per-entity
 * order across chunks, failures reported by index in the caller's list.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { type Entity, EntitySchema, TableEntrySchema, type Update, UpdateSchema } from "../proto/gen/p4/v1/p4runtime_pb.js";
import { create } from "@bufbuild/protobuf";
import { Code, P4ConnectionError, P4RuntimeError, type UpdateFailure, isP4RuntimeError } from "./errors.js";
import type { EntityInput } from "./entities/entity.js";
import { encodeEntityMessage, encodeTableEntryKey, encodeUpdate } from "./wire/messages.js";
import { type EncodedUpdate, type WireSlot, keyHash } from "./wire/table-entry.js";

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
  /** Sends one WriteRequest of updates encoded by encodeWireTo; optional, with it. */
  writeSlots?(slots: readonly WireSlot[]): Promise<void>;
  on(event: "disconnect", fn: (e: Error) => void): unknown;
  off(event: "disconnect", fn: (e: Error) => void): unknown;
}

export interface CoalescerOptions {
  /** Most updates in one WriteRequest (default 1000). */
  readonly maxBatch?: number;
  /** How long a batch may wait for more updates, in ms (default 0: the next turn of the event loop). */
  readonly lingerMs?: number;
  /** Most WriteRequests in flight at once (default 4). */
  readonly window?: number;
}

export const DEFAULT_MAX_BATCH = 1000;
export const DEFAULT_WINDOW = 4;

export interface CoalescerStats {
  requests: number;
  updates: number;
  largestBatch: number;
}

/** A queued update; once encoded (as its batch is formed) it is also the slot describing its bytes. */
class Pending implements WireSlot {
  buf: Uint8Array = NOT_ENCODED;
  start = 0;
  end = 0;
  hash = 0;
  /** Set while the caller's AbortSignal may still cancel it. */
  abort: { readonly signal: AbortSignal; readonly onAbort: () => void } | undefined = undefined;
  constructor(
    /** The caller's update until it is encoded: a Pending is itself the UpdateInput { type, entity }... */
    public type: UpdateInput["type"],
    public entity: EntityInput | undefined,
    /** ...or an Update message. */
    public message: Update | undefined,
    readonly resolve: () => void,
    readonly reject: (e: Error) => void,
  ) {}
}

// One shared promise executor: a queued write costs a promise and a Pending, no closure.
let capturedResolve: () => void = () => {};
let capturedReject: (e: Error) => void = () => {};
const capture = (resolve: () => void, reject: (e: Error) => void): void => {
  capturedResolve = resolve;
  capturedReject = reject;
};

interface Batch {
  readonly items: Pending[];
  /** keyHash of every entity the batch touches. */
  readonly keys: Set<number>;
}

const NOT_ENCODED = new Uint8Array(0);

function isUpdateInput(u: UpdateInput | Update): u is UpdateInput {
  return "entity" in u && u.entity !== undefined && "kind" in u.entity;
}

export class WriteCoalescer {
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly window: number;
  /** Updates not yet in a batch, in call order: queue[head..]. */
  private queue: (Pending | undefined)[] = [];
  private head = 0;
  /** queue[head..ready) may be sent now (linger over, a batch's worth queued, or flushed). */
  private ready = 0;
  /** A formed batch waiting for an in-flight batch that touches one of its entities. */
  private blocked: Batch | undefined;
  private readonly inFlight = new Set<Batch>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private pumpScheduled = false;
  private encodeScheduled = false;
  /** queue[head..encoded) are encoded (or cancelled). */
  private encoded = 0;
  private closed: Error | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly encode: (u: UpdateInput | Update, slot: WireSlot) => void;
  private readonly sendSlots: (slots: readonly WireSlot[]) => Promise<void>;
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
    if (client.encodeWireTo && client.writeSlots) {
      this.encode = client.encodeWireTo.bind(client);
      this.sendSlots = client.writeSlots.bind(client);
    } else {
      // Any BatchWriter: Update messages, serialized here.
      this.encode = (u, slot) => {
        const update = isUpdateInput(u) ? client.encodeUpdates([u])[0]! : u;
        const bytes = encodeUpdate(update);
        slot.buf = bytes;
        slot.start = 0;
        slot.end = bytes.length;
        slot.hash = keyHash(entityKey(update.entity ?? create(EntitySchema)));
      };
      this.sendSlots = (slots) => client.writeRaw(slots.map((x) => fromBinary(UpdateSchema, x.buf)));
    }
    client.on("disconnect", this.onDisconnect);
  }

  insert(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.enqueue("insert", entity, undefined, signal);
  }

  modify(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.enqueue("modify", entity, undefined, signal);
  }

  delete(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.enqueue("delete", entity, undefined, signal);
  }

  /**
   * Queues one update; resolves when the server applied it. Bad input
   * (what encodeUpdates rejects) fails this call, and only this call, with
   * that error before anything of it is sent.
   */
  write(input: UpdateInput | Update, signal?: AbortSignal): Promise<void> {
    return isUpdateInput(input) ? this.enqueue(input.type, input.entity, undefined, signal) : this.enqueue("insert", undefined, input, signal);
  }

  private enqueue(type: UpdateInput["type"], entity: EntityInput | undefined, message: Update | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(abortError());
    const promise = new Promise<void>(capture);
    const p = new Pending(type, entity, message, capturedResolve, capturedReject);
    if (signal) {
      const onAbort = () => this.cancel(p);
      p.abort = { signal, onAbort };
      signal.addEventListener("abort", onAbort, { once: true });
    }
    this.queue.push(p);
    if (this.queue.length - this.ready >= this.maxBatch) {
      // A batch's worth is waiting: no need to linger.
      this.ready = this.queue.length;
      this.schedulePump();
    } else {
      this.scheduleLinger();
    }
    return promise;
  }

  /** Resolves when everything queued so far has been answered. */
  flush(): Promise<void> {
    this.ready = this.queue.length;
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
      this.ready = this.queue.length;
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

  /**
   * Forms and sends batches in order while the window and ordering allow.
   * Updates are encoded here, as their batch is formed, so encoding later
   * batches overlaps with earlier requests in flight.
   */
  private pump(): void {
    while (this.inFlight.size < this.window) {
      let batch = this.blocked;
      if (!batch) {
        if (this.head >= this.ready) break;
        batch = this.form();
        if (batch.items.length === 0) continue;
      }
      for (const b of this.inFlight) {
        if (intersects(b.keys, batch.keys)) {
          this.blocked = batch; // wait for the earlier write of the same entity
          this.checkIdle();
          return;
        }
      }
      this.blocked = undefined;
      this.send(batch);
      if (this.inFlight.size === 1 && this.head < this.ready && this.window > 1) {
        // The first request of a burst goes out before the next batches are encoded.
        this.schedulePump();
        break;
      }
    }
    if (this.encoded < this.ready && !this.pumpScheduled) this.scheduleEncode();
    this.checkIdle();
  }

  /**
   * Encodes the ready updates that wait for a window slot, on the next turn
   * of the event loop (after the requests just sent have gone out): their
   * inputs are released early, and each later batch only needs framing.
   */
  private scheduleEncode(): void {
    if (this.encodeScheduled) return;
    this.encodeScheduled = true;
    setImmediate(() => {
      this.encodeScheduled = false;
      const q = this.queue;
      let i = Math.max(this.encoded, this.head);
      for (; i < this.ready; i++) {
        const p = q[i];
        if (p === undefined || p.buf !== NOT_ENCODED) continue;
        try {
          this.encodeOne(p);
        } catch (err) {
          q[i] = undefined;
          this.detach(p);
          p.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      this.encoded = i;
      this.pump();
    });
  }

  /** Takes ready updates from the queue into one batch: at most maxBatch, no entity twice. */
  private form(): Batch {
    const items: Pending[] = [];
    const keys = new Set<number>();
    const q = this.queue;
    while (this.head < this.ready && items.length < this.maxBatch) {
      const p = q[this.head];
      if (p === undefined) {
        this.head++; // cancelled
        continue;
      }
      if (p.buf === NOT_ENCODED) {
        try {
          this.encodeOne(p);
        } catch (err) {
          q[this.head++] = undefined;
          this.detach(p);
          p.reject(err instanceof Error ? err : new Error(String(err)));
          continue;
        }
      }
      if (keys.has(p.hash)) break; // the same entity again (or a hash collision): it opens the next batch
      keys.add(p.hash);
      items.push(p);
      q[this.head++] = undefined;
      this.detach(p);
    }
    this.compact();
    return { items, keys };
  }

  /** Encodes a queued update into its own slot fields and lets go of the input. */
  private encodeOne(p: Pending): void {
    this.encode(p.message ?? (p as unknown as UpdateInput), p);
    p.entity = undefined;
    p.message = undefined;
  }

  private detach(p: Pending): void {
    if (p.abort) p.abort.signal.removeEventListener("abort", p.abort.onAbort);
    p.abort = undefined;
  }

  /** Drops the consumed front of the queue now and then. */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.ready = 0;
      this.encoded = 0;
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.ready -= this.head;
      this.encoded = Math.max(0, this.encoded - this.head);
      this.head = 0;
    }
  }

  private send(batch: Batch): void {
    this.inFlight.add(batch);
    const items = batch.items;
    this.stats.requests++;
    this.stats.updates += items.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, items.length);
    let sent: Promise<void>;
    try {
      sent = this.sendSlots(items);
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent
      .then(
        () => {
          for (const p of items) p.resolve();
        },
        (e: unknown) => this.settleFailed(batch, e),
      )
      .finally(() => {
        this.inFlight.delete(batch);
        this.pump();
      });
  }

  private settleFailed(batch: Batch, e: unknown): void {
    if (isP4RuntimeError(e) && e.failures.length > 0) {
      const byIndex = new Map(e.failures.map((f) => [f.index, f]));
      batch.items.forEach((p, i) => {
        const f = byIndex.get(i);
        if (!f) return p.resolve();
        p.reject(new P4RuntimeError("Write", f.code, "", [{ ...f, index: 0 }]));
      });
      return;
    }
    const err = outcomeUnknown(e);
    for (const p of batch.items) p.reject(err);
  }

  private cancel(p: Pending): void {
    const i = this.queue.indexOf(p, this.head);
    if (i >= 0) {
      this.queue[i] = undefined;
    } else {
      const b = this.blocked;
      const j = b ? b.items.indexOf(p) : -1;
      if (!b || j < 0) return; // already sent
      b.items.splice(j, 1);
      b.keys.delete(p.hash);
      if (b.items.length === 0) this.blocked = undefined;
    }
    this.detach(p);
    p.reject(abortError());
    this.pump();
  }

  private failQueued(err: Error): void {
    const pending: Pending[] = [];
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]) pending.push(this.queue[i]!);
    if (this.blocked) pending.unshift(...this.blocked.items);
    this.queue = [];
    this.head = 0;
    this.ready = 0;
    this.encoded = 0;
    this.blocked = undefined;
    for (const p of pending) {
      this.detach(p);
      p.reject(err);
    }
    this.checkIdle();
  }

  private isIdle(): boolean {
    return this.head >= this.queue.length && !this.blocked && this.inFlight.size === 0;
  }

  private checkIdle(): void {
    if (this.isIdle()) {
      const w = this.idleWaiters.splice(0);
      for (const r of w) r();
    }
  }
}

function intersects(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const k of small) if (large.has(k)) return true;
  return false;
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
