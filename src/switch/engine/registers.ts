/** Register arrays: numbers for widths up to 48 bits, bigints beyond. */
import { NUM_FIELD_MAX, maskOf } from "./bits.js";
import { EngineError } from "./runtime-api.js";

export class RegisterArray {
  /** Float64Array (narrow) or bigint[] (wide); generated code indexes it. */
  readonly store: Float64Array | bigint[];
  readonly narrow: boolean;
  constructor(
    readonly name: string,
    readonly size: number,
    readonly width: number,
  ) {
    this.narrow = width <= NUM_FIELD_MAX;
    this.store = this.narrow ? new Float64Array(size) : new Array<bigint>(size).fill(0n);
  }
  read(i: number): bigint {
    this.check(i);
    const v = this.store[i]!;
    return typeof v === "bigint" ? v : BigInt(v);
  }
  write(i: number, v: bigint): void {
    this.check(i);
    if (v < 0n || v > maskOf(this.width))
      throw new EngineError("BAD_VALUE", `register ${this.name}: value ${v} wider than ${this.width} bits`);
    if (this.narrow) (this.store as Float64Array)[i] = Number(v);
    else (this.store as bigint[])[i] = v;
  }
  reset(): void {
    if (this.narrow) (this.store as Float64Array).fill(0);
    else (this.store as bigint[]).fill(0n);
  }
  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size)
      throw new EngineError("BAD_INDEX", `register ${this.name}: index ${i} out of range [0, ${this.size})`);
  }
}
