/**
 * Why each link is down. A link can be reported down by several sources at
 * once: the heartbeat watch at either end ("heartbeat from s3"), or the loss
 * of the P4Runtime stream to either end ("s3 unreachable"). The link is down
 * while any reason holds and up when the last one clears, so a switch that
 * returns does not bring a link back that a heartbeat still sees broken.
 */
export class LinkFaults {
  private readonly reasons = new Map<number, Set<string>>();

  /** Adds a reason; true when the link goes from up to down. */
  add(link: number, reason: string): boolean {
    const set = this.reasons.get(link) ?? new Set<string>();
    const wasUp = set.size === 0;
    set.add(reason);
    this.reasons.set(link, set);
    return wasUp;
  }

  /** Removes a reason; true when the link goes from down to up. */
  remove(link: number, reason: string): boolean {
    const set = this.reasons.get(link);
    if (!set?.delete(reason)) return false;
    if (set.size > 0) return false;
    this.reasons.delete(link);
    return true;
  }

  /** Removes every reason that starts with `prefix` (e.g. a watcher's); returns the links that went up. */
  removeMatching(prefix: string): number[] {
    const up: number[] = [];
    for (const [link, set] of [...this.reasons]) {
      for (const r of [...set]) if (r.startsWith(prefix)) set.delete(r);
      if (set.size === 0) {
        this.reasons.delete(link);
        up.push(link);
      }
    }
    return up;
  }

  isDown(link: number): boolean {
    return (this.reasons.get(link)?.size ?? 0) > 0;
  }

  /** Down links and their reasons. */
  down(): Map<number, string[]> {
    return new Map([...this.reasons].map(([l, s]) => [l, [...s].sort()]));
  }
}
