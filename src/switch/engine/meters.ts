/**
 * Two-rate three-colour meters with BMv2's exact semantics (meters.cpp):
 * rates are held in units per microsecond, both buckets start full, tokens are
 * computed from the time elapsed since the meter's time origin, the peak
 * bucket is tested first (RED when short) and then the committed one (YELLOW
 * when short); an unconfigured meter marks everything GREEN (0). Byte meters
 * charge the packet's ingress length.
 */
import { EngineError, type MeterRates } from "./runtime-api.js";

export const GREEN = 0;
export const YELLOW = 1;
export const RED = 2;

interface Rate {
  infoRate: number; // units per microsecond
  burst: number;
  tokens: number;
  tokensLast: number;
  color: number;
}

export class Meter {
  /** Highest colour first (peak rate, then committed), as BMv2 stores them. */
  rates: Rate[] | undefined;
  config: MeterRates | undefined;

  set(r: MeterRates | undefined): void {
    if (!r) {
      this.rates = undefined;
      this.config = undefined;
      return;
    }
    if (r.cir > r.pir) throw new EngineError("BAD_VALUE", "meter: committed rate exceeds peak rate");
    // BMv2 (through PI) gets rates per second and stores them per microsecond
    const committed: Rate = {
      infoRate: Number(r.cir) / 1e6,
      burst: Number(r.cburst),
      tokens: Number(r.cburst),
      tokensLast: 0,
      color: YELLOW,
    };
    const peak: Rate = { infoRate: Number(r.pir) / 1e6, burst: Number(r.pburst), tokens: Number(r.pburst), tokensLast: 0, color: RED };
    this.rates = [peak, committed];
    this.config = r;
  }

  /** `sinceInitUs`: microseconds since the meter's time origin. */
  execute(sinceInitUs: number, units: number): number {
    const rates = this.rates;
    if (!rates) return GREEN;
    let color = GREEN;
    for (const rate of rates) {
      // uint64 truncation of micros * rate as in BMv2
      const tokensSinceInit = Math.floor(sinceInitUs * rate.infoRate);
      const fresh = tokensSinceInit - rate.tokensLast;
      rate.tokensLast = tokensSinceInit;
      rate.tokens = Math.min(rate.tokens + fresh, rate.burst);
      if (rate.tokens < units) {
        color = rate.color;
        break;
      }
      rate.tokens -= units;
    }
    return color;
  }
}

export class MeterArray {
  readonly meters: Meter[];
  constructor(
    readonly name: string,
    readonly size: number,
    /** true: bytes, false: packets. */
    readonly bytes: boolean,
  ) {
    this.meters = Array.from({ length: size }, () => new Meter());
  }
  check(i: number): Meter {
    const m = this.meters[i];
    if (!m || !Number.isInteger(i)) throw new EngineError("BAD_INDEX", `meter ${this.name}: index ${i} out of range [0, ${this.size})`);
    return m;
  }
}
