/**
 * The run-time helpers the generated code calls: header validity (with
 * header-union exclusivity), header/stack/union copies, push/pop, add/remove
 * header (which also maintain BMv2's PACKET_LENGTH register), meters,
 * random numbers, logging and assertions, lookahead and varbit handling.
 */
import { and53, or53, readBitsBig, readBitsNum, wrapS, wrapU, writeBitsBig, writeBitsNum, xor53, type Val } from "./bits.js";
import { P4AssertionError } from "./errors.js";
import { emitGeneric, extractGeneric, headerBytes } from "./headers.js";
import type { MeterArray } from "./meters.js";
import type { Phv, PhvLayout } from "./phv.js";
import type { PacketState } from "./state.js";

export interface HelperOptions {
  readonly layout: PhvLayout;
  readonly phv: Phv;
  readonly S: PacketState;
  readonly log: (m: string) => void;
  readonly random: () => number;
  readonly initUs: bigint;
}

/** BMv2's log_msg formatting: each "{}" takes the next value. */
export function formatLog(fmt: string, vals: readonly Val[]): string {
  let out = "";
  let k = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c === "\\" && (fmt[i + 1] === "{" || fmt[i + 1] === "}")) {
      out += fmt[i + 1];
      i++;
    } else if (c === "{") {
      const end = fmt.indexOf("}", i);
      if (end < 0) {
        out += fmt.slice(i);
        break;
      }
      out += k < vals.length ? String(vals[k]) : "";
      k++;
      i = end;
    } else out += c;
  }
  return out;
}

export function runtimeHelpers(o: HelperOptions): Record<string, unknown> {
  const L = o.layout;
  const phv = o.phv;
  const S = o.S;
  const { N, B, V, VL, NX, UNX } = phv;
  const NB = Int32Array.from(L.headers.map((h) => h.nBase));
  const BB = Int32Array.from(L.headers.map((h) => h.bBase));
  const HU = Int32Array.from(L.headers.map((h) => h.union));
  const UH = L.unions.map((u) => Int32Array.from(u.headers));
  const SH = L.stacks.map((s) => Int32Array.from(s.headers));
  const US = L.unionStacks.map((u) => Int32Array.from(u.unions));
  const stackDummy = L.stacks.map((s) => s.dummy);
  const ustackDummy = L.unionStacks.map((u) => u.dummy);
  const hdrBytes = (h: number): number => headerBytes(L, phv, h);
  const SETV = (h: number): void => {
    V[h] = 1;
    const u = HU[h]!;
    if (u >= 0) {
      const ms = UH[u]!;
      for (let i = 0; i < ms.length; i++) if (ms[i] !== h) V[ms[i]!] = 0;
    }
  };
  const zero = (h: number): void => {
    const t = L.headers[h]!.type;
    N.fill(0, NB[h]!, NB[h]! + t.nN);
    for (let i = 0; i < t.nB; i++) B[BB[h]! + i] = 0n;
    VL[h] = 0;
  };
  const copyHeader = (d: number, s: number): void => {
    const t = L.headers[s]!.type;
    const nd = NB[d]!;
    const ns = NB[s]!;
    for (let i = 0; i < t.nN; i++) N[nd + i] = N[ns + i]!;
    for (let i = 0; i < t.nB; i++) B[BB[d]! + i] = B[BB[s]! + i]!;
    VL[d] = VL[s]!;
  };
  const AH = (d: number, s: number): void => {
    if (V[s] !== 1) {
      V[d] = 0;
      return;
    }
    SETV(d);
    copyHeader(d, s);
  };
  const stackOps = (heads: Int32Array[], nx: Int32Array, setInvalid: (h: number) => void, copy: (d: number, s: number) => void) => ({
    push: (s: number, n: number): void => {
      const hs = heads[s]!;
      const depth = hs.length;
      for (let i = depth - 1; i >= n; i--) copy(hs[i]!, hs[i - n]!);
      for (let i = 0; i < Math.min(n, depth); i++) setInvalid(hs[i]!);
      nx[s] = Math.min(depth, nx[s]! + n);
    },
    pop: (s: number, n: number): void => {
      const hs = heads[s]!;
      const depth = hs.length;
      for (let i = 0; i + n < depth; i++) copy(hs[i]!, hs[i + n]!);
      for (let i = Math.max(0, depth - n); i < depth; i++) setInvalid(hs[i]!);
      nx[s] = Math.max(0, nx[s]! - n);
    },
  });
  const hdrOps = stackOps(
    SH,
    NX,
    (h) => (V[h] = 0),
    (d, s) => {
      V[d] = V[s]!;
      copyHeader(d, s);
    },
  );
  const unionCopy = (d: number, s: number): void => {
    const dm = UH[d]!;
    const sm = UH[s]!;
    for (let i = 0; i < dm.length; i++) {
      V[dm[i]!] = V[sm[i]!]!;
      copyHeader(dm[i]!, sm[i]!);
    }
  };
  const unionOps = stackOps(
    US,
    UNX,
    (u) => {
      for (const h of UH[u]!) V[h] = 0;
    },
    unionCopy,
  );
  const HEQ = (a: number, b: number): boolean => {
    if (V[a] !== V[b]) return false;
    if (V[a] !== 1) return true;
    const t = L.headers[a]!.type;
    for (let i = 0; i < t.nN; i++) if (N[NB[a]! + i] !== N[NB[b]! + i]) return false;
    for (let i = 0; i < t.nB; i++) if (B[BB[a]! + i] !== B[BB[b]! + i]) return false;
    return VL[a] === VL[b];
  };
  const log = (m: string): void => o.log(m);
  const random = o.random;
  const initNum = Number(o.initUs);
  return {
    N,
    B,
    V,
    VL,
    NX,
    UNX,
    NB,
    BB,
    HU,
    UH,
    SH,
    US,
    S,
    and53,
    or53,
    xor53,
    wrapU,
    wrapS,
    readBitsBig,
    writeBitsBig,
    writeBitsNum,
    DIVMOD: (a: bigint, b: bigint, mod: number): bigint => (b === 0n ? 0n : mod ? a % b : a / b),
    TCM: (v: bigint, w: number): bigint => BigInt.asIntN(w, v),
    SATN: (v: number, w: number): number => Math.min(Math.max(v, -(2 ** (w - 1))), 2 ** (w - 1) - 1),
    USATN: (v: number, w: number): number => Math.min(Math.max(v, 0), 2 ** w - 1),
    SATB: (v: bigint, w: number): bigint => {
      const max = (1n << BigInt(w - 1)) - 1n;
      const min = -(1n << BigInt(w - 1));
      return v > max ? max : v < min ? min : v;
    },
    USATB: (v: bigint, w: number): bigint => {
      const max = (1n << BigInt(w)) - 1n;
      return v > max ? max : v < 0n ? 0n : v;
    },
    HEQ,
    UEQ: (a: number, b: number): boolean => UH[a]!.every((h, i) => HEQ(h, UH[b]![i]!)),
    UV: (u: number): boolean => UH[u]!.some((h) => V[h] === 1),
    SD: (s: number, i: number): number => {
      if (i >= 0 && i < SH[s]!.length) return SH[s]![i]!;
      log(`header stack index ${i} out of range`);
      return stackDummy[s]!;
    },
    USD: (s: number, i: number): number => {
      if (i >= 0 && i < US[s]!.length) return US[s]![i]!;
      log(`header union stack index ${i} out of range`);
      return ustackDummy[s]!;
    },
    SL: (s: number): number => (NX[s]! > 0 ? SH[s]![NX[s]! - 1]! : stackDummy[s]!),
    SETV,
    AH,
    AU: (d: number, s: number): void => {
      const dm = UH[d]!;
      const sm = UH[s]!;
      for (let i = 0; i < dm.length; i++) AH(dm[i]!, sm[i]!);
    },
    AS: (d: number, s: number): void => {
      NX[d] = NX[s]!;
      const dh = SH[d]!;
      const sh = SH[s]!;
      for (let i = 0; i < dh.length; i++) AH(dh[i]!, sh[i]!);
    },
    AUS: (d: number, s: number): void => {
      UNX[d] = UNX[s]!;
      const du = US[d]!;
      const su = US[s]!;
      for (let i = 0; i < du.length; i++) {
        const dm = UH[du[i]!]!;
        const sm = UH[su[i]!]!;
        for (let k = 0; k < dm.length; k++) AH(dm[k]!, sm[k]!);
      }
    },
    PUSH: hdrOps.push,
    POP: hdrOps.pop,
    UPUSH: unionOps.push,
    UPOP: unionOps.pop,
    ADDH: (h: number): void => {
      if (V[h] === 1) return;
      zero(h);
      SETV(h);
      S.pktLen += hdrBytes(h);
    },
    REMH: (h: number): void => {
      if (V[h] !== 1) return;
      S.pktLen -= hdrBytes(h);
      V[h] = 0;
    },
    METER: (arr: MeterArray, i: number): number => {
      const m = arr.meters[i];
      if (!m) {
        log(`meter ${arr.name}: index ${i} out of range`);
        return -1;
      }
      return m.execute(S.nowUs - initNum, arr.bytes ? S.ingressLen : 1);
    },
    RNG: (lo: bigint, hi: bigint): bigint | undefined => {
      if (lo > hi) {
        log("random result is not specified when lo > hi");
        return undefined;
      }
      const span = hi - lo + 1n;
      if (span <= 2n ** 52n) return lo + BigInt(Math.floor(random() * Number(span)));
      let r = 0n;
      for (let i = 0; i < 4; i++) r = (r << 32n) | BigInt(Math.floor(random() * 2 ** 32));
      return lo + (r % span);
    },
    LOGMSG: (fmt: string, vals: Val[]): void => log(formatLog(fmt, vals)),
    LOGE: (m: string): void => log(m),
    FAIL: (m: string): never => {
      throw new P4AssertionError(m);
    },
    EXVL: (h: number, d: Uint8Array, off: number, nbits: number): void => extractGeneric(L, phv, h, d, off, nbits),
    LAN: (d: Uint8Array, off: number, bo: number, w: number): number => readBitsNum(d, off * 8 + bo, w),
    LAB: (d: Uint8Array, off: number, bo: number, w: number): bigint => readBitsBig(d, off * 8 + bo, w),
    HBYTES: hdrBytes,
    EMITG: (h: number, out: Uint8Array, o: number): void => emitGeneric(L, phv, h, out, o),
  };
}
