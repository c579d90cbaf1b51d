/**
 * Parser value sets ("parse_vset"): a set of (value, mask) members per key
 * field. A transition matches when some member matches every key field under
 * both the member's mask and the transition's JSON mask.
 */
import { maskOf, type Val } from "./bits.js";
import { EngineError } from "./runtime-api.js";

type Member = readonly { readonly value: bigint; readonly mask: bigint }[];

export class ValueSet {
  private members: Member[] = [];
  widths: number[] | undefined;

  constructor(
    readonly name: string,
    readonly compressedBitwidth: number,
    readonly maxSize: number,
  ) {}

  setWidths(w: number[]): void {
    this.widths = w;
  }

  set(members: readonly Member[]): void {
    const widths = this.widths;
    if (this.maxSize > 0 && members.length > this.maxSize)
      throw new EngineError("TABLE_FULL", `value set ${this.name} holds at most ${this.maxSize} members`);
    for (const m of members) {
      if (widths && m.length !== widths.length)
        throw new EngineError("BAD_VALUE", `value set ${this.name}: members have ${widths.length} fields`);
      m.forEach((f, i) => {
        const w = widths ? widths[i]! : this.compressedBitwidth;
        if (f.value < 0n || f.value > maskOf(w) || f.mask < 0n || f.mask > maskOf(w))
          throw new EngineError("BAD_VALUE", `value set ${this.name}: value wider than ${w} bits`);
      });
    }
    this.members = members.map((m) => m.map((f) => ({ value: f.value, mask: f.mask })));
  }

  get(): readonly Member[] {
    return this.members.map((m) => m.map((f) => ({ ...f })));
  }

  match(keys: Val[], jsonMask: bigint[] | undefined): boolean {
    outer: for (const m of this.members) {
      for (let i = 0; i < keys.length; i++) {
        const f = m[i];
        if (!f) continue outer;
        const k = BigInt(keys[i]!);
        const jm = jsonMask ? jsonMask[i]! : -1n;
        if ((k & f.mask & jm) !== (f.value & f.mask & jm)) continue outer;
      }
      return true;
    }
    return false;
  }
}
