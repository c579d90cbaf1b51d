/**
 * Ordering per entity across requests. A server may apply the updates of
 * one request in any order, and requests in flight together in any order,
 * so a batch touching an entity waits until no request in flight touches
 * it: insert → modify → delete of one entry are applied in call order.
 * Entities are compared by hash (entityHash, see wire/encode-update.ts): a
 * collision only splits a batch or adds a wait, never a reordering.
 *
 * One hashing for the coalescer's batches and a bulk write's chunks: each
 * batch's entities in a KeySet, and InFlight holding the sets of the
 * batches sent and not yet answered.
 */

/** A set of entity hashes (small non-negative integers) in an open-addressing table; reused across batches. */
export class KeySet {
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

/** The batches in flight and the entities they touch. */
export class InFlight<B extends { readonly keys: KeySet }> {
  private readonly batches = new Set<B>();
  private readonly free: KeySet[] = [];

  /** `maxBatch`: most entities of one batch; `window`: most batches in flight. */
  constructor(
    private readonly maxBatch: number,
    private readonly window: number,
  ) {}

  get size(): number {
    return this.batches.size;
  }

  /** An empty key set for a new batch. */
  keySet(): KeySet {
    return this.free.pop() ?? new KeySet(this.maxBatch);
  }

  /**
   * True when a batch in flight touches one of the entities hashes[from..to),
   * skipping the entries whose `live` is not 1 (holes) when `live` is given.
   */
  conflicts(hashes: ArrayLike<number>, from: number, to: number, live?: ArrayLike<number>): boolean {
    if (this.batches.size === 0) return false;
    for (const b of this.batches) {
      const keys = b.keys;
      for (let i = from; i < to; i++) if ((live === undefined || live[i] === 1) && keys.has(hashes[i]!)) return true;
    }
    return false;
  }

  add(batch: B): void {
    this.batches.add(batch);
  }

  /** The batch was answered: its entities are free again. */
  delete(batch: B): void {
    this.batches.delete(batch);
    this.release(batch.keys);
  }

  /** Gives back the key set of a batch that was answered or never sent. */
  release(keys: KeySet): void {
    keys.clear();
    if (this.free.length < this.window + 1) this.free.push(keys);
  }
}
