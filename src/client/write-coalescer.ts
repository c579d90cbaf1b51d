/**
 * Write coalescing: many concurrent single-entity writes become a few
 * batched WriteRequests. Updates are gathered for at most `lingerMs` (or
 * until `maxBatch`), up to `window` requests are in flight at once, and each
 * caller still gets its own outcome: its own per-update error when its
 * update failed, success otherwise.
 *
 * Ordering: two updates of the same entity never share a batch (a server may
 * apply a batch in any order), and a batch that touches an entity waits for
 * any earlier in-flight batch touching it, so insert → modify → delete of
 * one entry is applied in that order. Nothing is retried: when a request's
 * fate is unknown (stream or channel lost, cancelled) its callers fail with
 * a clear error rather than risk a second write.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type Entity,
  EntitySchema,
  TableEntrySchema,
  type Update,
} from "../proto/gen/p4/v1/p4runtime_pb.js";
import { Code, P4ConnectionError, P4RuntimeError, isP4RuntimeError } from "./errors.js";
import type { EntityInput } from "./entities/entity.js";

export interface UpdateInput {
  readonly type: "insert" | "modify" | "delete";
  readonly entity: EntityInput;
}

/** What the coalescer needs of a client (P4RuntimeClient implements it). */
export interface BatchWriter {
  encodeUpdates(updates: readonly UpdateInput[]): Update[];
  writeRaw(updates: Update[]): Promise<void>;
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

export interface CoalescerStats {
  requests: number;
  updates: number;
  largestBatch: number;
}

interface Pending {
  readonly update: Update;
  readonly key: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Batch {
  readonly items: Pending[];
  readonly keys: Set<string>;
  sealed: boolean;
}

export class WriteCoalescer {
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly window: number;
  private readonly queue: Batch[] = [];
  private readonly inFlight = new Set<Batch>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private closed: Error | undefined;
  private idleWaiters: (() => void)[] = [];
  readonly stats: CoalescerStats = { requests: 0, updates: 0, largestBatch: 0 };
  private readonly onDisconnect = (e: Error) => this.failQueued(new P4ConnectionError(`stream lost before the write was sent: ${e.message}`));

  constructor(
    private readonly client: BatchWriter,
    options: CoalescerOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 1000;
    this.lingerMs = options.lingerMs ?? 0;
    this.window = options.window ?? 4;
    if (this.maxBatch < 1 || this.window < 1 || this.lingerMs < 0) throw new RangeError("coalescer: maxBatch and window must be >= 1 and lingerMs >= 0");
    client.on("disconnect", this.onDisconnect);
  }

  insert(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.write({ type: "insert", entity }, signal);
  }

  modify(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.write({ type: "modify", entity }, signal);
  }

  delete(entity: EntityInput, signal?: AbortSignal): Promise<void> {
    return this.write({ type: "delete", entity }, signal);
  }

  /** Queues one update; resolves when the server applied it. */
  write(input: UpdateInput | Update, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(abortError());
    let update: Update;
    try {
      update = "entity" in input && input.entity && "kind" in input.entity ? this.client.encodeUpdates([input as UpdateInput])[0]! : (input as Update);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { update, key: entityKey(update.entity!), resolve, reject };
      if (signal) {
        p.signal = signal;
        p.onAbort = () => this.cancel(p);
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      this.enqueue(p);
    });
  }

  /** Resolves when everything queued so far has been answered. */
  flush(): Promise<void> {
    this.sealOpen();
    this.pump();
    if (this.queue.length === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Fails every queued (unsent) write and refuses new ones. */
  close(reason = "the write coalescer was closed"): void {
    this.closed = new P4ConnectionError(reason);
    this.client.off("disconnect", this.onDisconnect);
    this.failQueued(this.closed);
  }

  private enqueue(p: Pending): void {
    let open = this.queue[this.queue.length - 1];
    if (!open || open.sealed || open.keys.has(p.key) || open.items.length >= this.maxBatch) {
      if (open) open.sealed = true;
      open = { items: [], keys: new Set(), sealed: false };
      this.queue.push(open);
    }
    open.items.push(p);
    open.keys.add(p.key);
    if (open.items.length >= this.maxBatch) {
      open.sealed = true;
      this.pump();
    } else {
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.timer) return;
    const fire = () => {
      this.timer = undefined;
      this.sealOpen();
      this.pump();
    };
    this.timer = this.lingerMs > 0 ? setTimeout(fire, this.lingerMs) : setImmediate(fire);
  }

  private sealOpen(): void {
    const open = this.queue[this.queue.length - 1];
    if (open) open.sealed = true;
  }

  /** Sends sealed batches in order while the window and ordering allow. */
  private pump(): void {
    while (this.queue.length > 0 && this.inFlight.size < this.window) {
      const head = this.queue[0]!;
      if (!head.sealed) break;
      if (head.items.length === 0) {
        this.queue.shift();
        continue;
      }
      for (const b of this.inFlight) for (const k of head.keys) if (b.keys.has(k)) return; // wait for the earlier write of the same entity
      this.queue.shift();
      this.send(head);
    }
    this.checkIdle();
  }

  private send(batch: Batch): void {
    this.inFlight.add(batch);
    for (const p of batch.items) if (p.signal && p.onAbort) p.signal.removeEventListener("abort", p.onAbort);
    this.stats.requests++;
    this.stats.updates += batch.items.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.items.length);
    this.client
      .writeRaw(batch.items.map((p) => p.update))
      .then(
        () => {
          for (const p of batch.items) p.resolve();
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
    // The request as a whole failed: its updates may or may not have been applied.
    const err =
      isP4RuntimeError(e) && (e.code === Code.UNAVAILABLE || e.code === Code.CANCELLED || e.code === Code.DEADLINE_EXCEEDED)
        ? new P4RuntimeError("Write", e.code, `write outcome unknown (${e.details}); not retried to avoid writing twice`)
        : e instanceof Error
          ? e
          : new Error(String(e));
    for (const p of batch.items) p.reject(err);
  }

  private cancel(p: Pending): void {
    for (const b of this.queue) {
      const i = b.items.indexOf(p);
      if (i < 0) continue;
      b.items.splice(i, 1);
      if (!b.items.some((x) => x.key === p.key)) b.keys.delete(p.key);
      p.reject(abortError());
      this.pump();
      return;
    }
  }

  private failQueued(err: Error): void {
    const batches = this.queue.splice(0);
    for (const b of batches) for (const p of b.items) p.reject(err);
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.queue.length === 0 && this.inFlight.size === 0) {
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

/** Identity of the entity an update touches (its key fields only). */
export function entityKey(e: Entity): string {
  const x = e.entity;
  switch (x.case) {
    case "tableEntry": {
      const t = x.value;
      const key = create(TableEntrySchema, { tableId: t.tableId, match: t.match, priority: t.priority, isDefaultAction: t.isDefaultAction });
      return "t" + Buffer.from(toBinary(TableEntrySchema, key)).toString("base64");
    }
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
      return entityKey(create(EntitySchema, { entity: { case: "tableEntry", value: x.value.tableEntry ?? create(TableEntrySchema) } }));
    case "valueSetEntry":
      return `v${x.value.valueSetId}`;
    case "digestEntry":
      return `d${x.value.digestId}`;
    default:
      return Buffer.from(toBinary(EntitySchema, e)).toString("base64");
  }
}

