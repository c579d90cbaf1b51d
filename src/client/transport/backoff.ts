/**
 * Exponential backoff with jitter for reconnecting: delays grow by
 * `multiplier` from `initialMs` up to `maxMs`, and each is spread by a random
 * factor in [1 - jitter, 1 + jitter] so that many controllers reconnecting to
 * one switch do not retry in lockstep.
 */
export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly multiplier?: number;
  /** 0..1: relative spread of each delay. */
  readonly jitter?: number;
  readonly random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 100;
    this.maxMs = opts.maxMs ?? 5_000;
    this.multiplier = opts.multiplier ?? 2;
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.2));
    this.random = opts.random ?? Math.random;
    if (this.initialMs <= 0 || this.maxMs < this.initialMs || this.multiplier < 1) {
      throw new RangeError(
        `backoff: need 0 < initialMs <= maxMs and multiplier >= 1 (got ${this.initialMs}, ${this.maxMs}, ${this.multiplier})`,
      );
    }
  }

  /** The delay before the next attempt, in milliseconds. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.multiplier ** this.attempt);
    this.attempt++;
    const spread = 1 + this.jitter * (2 * this.random() - 1);
    return Math.max(1, Math.round(Math.min(this.maxMs, base * spread)));
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
