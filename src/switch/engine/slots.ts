/**
 * Entry slots of a table: the lowest free number is always the one given
 * out (BMv2's handle manager does the same: the first clear bit), so entries
 * of equal priority in a ternary table keep BMv2's order. O(log n) per
 * allocation and release: slots below `fresh` that were released wait in a
 * min-heap; every slot from `fresh` up is free.
 */
export class SlotAllocator {
  private fresh = 0;
  private readonly heap: number[] = [];

  /** The lowest free slot, now taken. */
  take(): number {
    if (this.heap.length === 0) return this.fresh++;
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1]! < h[l]! ? l + 1 : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Gives a taken slot back. */
  release(slot: number): void {
    if (slot === this.fresh - 1) {
      this.fresh--;
      // Released slots just below the new top join the fresh range lazily: take() still returns the heap's minimum first.
      return;
    }
    const h = this.heap;
    let i = h.length;
    h.push(slot);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= slot) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = slot;
  }
}
