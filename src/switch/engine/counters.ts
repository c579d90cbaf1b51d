/** Counter arrays (indirect, and the per-entry direct counters of tables). */
import { EngineError, type CounterValue } from "./runtime-api.js";

export class CounterArray {
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  constructor(
    readonly name: string,
    readonly size: number,
  ) {
    this.packets = new Float64Array(size);
    this.bytes = new Float64Array(size);
  }
  /** BMv2 counts the packet's ingress length in bytes. */
  count(i: number, ingressLength: number): void {
    if (i < 0 || i >= this.size || !Number.isInteger(i)) return; // BMv2 logs and skips out-of-range indices
    this.packets[i]! += 1;
    this.bytes[i]! += ingressLength;
  }
  read(i: number): CounterValue {
    this.check(i);
    return { packets: BigInt(this.packets[i]!), bytes: BigInt(this.bytes[i]!) };
  }
  write(i: number, v: CounterValue): void {
    this.check(i);
    this.packets[i] = Number(v.packets);
    this.bytes[i] = Number(v.bytes);
  }
  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size)
      throw new EngineError("BAD_INDEX", `counter ${this.name}: index ${i} out of range [0, ${this.size})`);
  }
}
