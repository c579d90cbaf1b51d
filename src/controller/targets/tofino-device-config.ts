/**
 * The P4Runtime `p4_device_config` of a Tofino pipeline, in the two formats
 * Stratum accepts (and that bf_switchd's PI server accepts, for the first):
 *
 * 1. The PI ("legacy") packing, which Barefoot's PI implementation
 *    (bf_switchd's P4Runtime server and stratum_bf) reads:
 *
 *        u32le len(program name) | program name
 *        u32le len(tofino.bin)   | tofino.bin
 *        u32le len(context.json) | context.json
 *
 *    Source: Stratum, stratum/hal/lib/barefoot/bf_pipeline_utils.cc,
 *    BfPipelineConfigToPiConfig (Uint32ToLeByteStream of each size, then the
 *    bytes; the order is name, binary, context). One pipeline profile only.
 *
 * 2. Stratum's `BfPipelineConfig` protobuf (stratum/hal/lib/barefoot/bf.proto),
 *    which stratum_bfrt requires and stratum_bf prefers:
 *
 *        message BfPipelineConfig {
 *          message Profile { string profile_name = 1; bytes context = 2;
 *                            bytes binary = 3; repeated uint32 pipe_scope = 4; }
 *          string p4_name = 1; bytes bfruntime_info = 2; repeated Profile profiles = 3;
 *        }
 *
 *    Encoded here by hand (proto3 wire format: fields in number order,
 *    packed repeated scalars, empty fields omitted) so that no generated code
 *    for a Stratum-private .proto is needed.
 *
 * The inputs are bf-p4c's outputs: <out>/<program>.conf names the program
 * and its pipelines; <out>/<pipeline>/tofino.bin and context.json are the
 * blobs; <out>/bfrt.json is the BF Runtime info.
 */

export interface TofinoPipelineBlobs {
  /** The P4 program name (bf-p4c's "program-name", e.g. "p4cast_tna"). */
  readonly programName: string;
  /** <pipeline>/tofino.bin */
  readonly tofinoBin: Uint8Array;
  /** <pipeline>/context.json */
  readonly contextJson: Uint8Array;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

function u32le(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`length ${n} does not fit a u32`);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The PI packing: name, tofino.bin, context.json, each behind its u32le length. */
export function packTofinoDeviceConfig(blobs: TofinoPipelineBlobs): Uint8Array {
  const name = utf8.encode(blobs.programName);
  if (name.length === 0) throw new Error("packTofinoDeviceConfig: the program name is empty");
  return concat([
    u32le(name.length),
    name,
    u32le(blobs.tofinoBin.length),
    blobs.tofinoBin,
    u32le(blobs.contextJson.length),
    blobs.contextJson,
  ]);
}

/** Inverse of packTofinoDeviceConfig; throws on truncated or trailing bytes. */
export function unpackTofinoDeviceConfig(config: Uint8Array): TofinoPipelineBlobs {
  const view = new DataView(config.buffer, config.byteOffset, config.byteLength);
  let o = 0;
  const next = (what: string): Uint8Array => {
    if (o + 4 > config.length) throw new Error(`Tofino device config: truncated before the length of ${what} (offset ${o})`);
    const n = view.getUint32(o, true);
    o += 4;
    if (o + n > config.length)
      throw new Error(`Tofino device config: ${what} claims ${n} bytes, ${config.length - o} left (offset ${o - 4})`);
    const b = config.subarray(o, o + n);
    o += n;
    return b;
  };
  const programName = fromUtf8.decode(next("the program name"));
  const tofinoBin = next("tofino.bin");
  const contextJson = next("context.json");
  if (o !== config.length) throw new Error(`Tofino device config: ${config.length - o} trailing bytes after context.json`);
  return { programName, tofinoBin, contextJson };
}

// ---- BfPipelineConfig (protobuf) ------------------------------------------

export interface BfPipelineProfile {
  readonly profileName: string;
  readonly context: Uint8Array;
  readonly binary: Uint8Array;
  readonly pipeScope?: readonly number[];
}

export interface BfPipelineConfig {
  readonly p4Name: string;
  readonly bfruntimeInfo: Uint8Array;
  readonly profiles: readonly BfPipelineProfile[];
}

function varint(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) throw new RangeError(`varint ${n}`);
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** A length-delimited field (wire type 2); empty values are omitted (proto3). */
function lenField(field: number, value: Uint8Array): Uint8Array {
  if (value.length === 0) return new Uint8Array();
  return concat([varint((field << 3) | 2), varint(value.length), value]);
}

function encodeProfile(p: BfPipelineProfile): Uint8Array {
  const scope = p.pipeScope ?? [];
  return concat([
    lenField(1, utf8.encode(p.profileName)),
    lenField(2, p.context),
    lenField(3, p.binary),
    lenField(4, concat(scope.map((s) => varint(s)))),
  ]);
}

export function encodeBfPipelineConfig(c: BfPipelineConfig): Uint8Array {
  return concat([
    lenField(1, utf8.encode(c.p4Name)),
    lenField(2, c.bfruntimeInfo),
    // A repeated message field: every profile is written, even an empty one.
    ...c.profiles.map((p) => {
      const body = encodeProfile(p);
      return concat([varint((3 << 3) | 2), varint(body.length), body]);
    }),
  ]);
}

interface RawField {
  readonly field: number;
  readonly wire: number;
  readonly value: Uint8Array | number;
}

function readFields(b: Uint8Array): RawField[] {
  const out: RawField[] = [];
  let o = 0;
  const readVarint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (o >= b.length) throw new Error("BfPipelineConfig: truncated varint");
      const byte = b[o++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 0x80;
      if (mul > 2 ** 56) throw new Error("BfPipelineConfig: varint too long");
    }
  };
  while (o < b.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: readVarint() });
    else if (wire === 2) {
      const n = readVarint();
      if (o + n > b.length) throw new Error(`BfPipelineConfig: field ${field} claims ${n} bytes, ${b.length - o} left`);
      out.push({ field, wire, value: b.subarray(o, o + n) });
      o += n;
    } else throw new Error(`BfPipelineConfig: unexpected wire type ${wire} (field ${field})`);
  }
  return out;
}

function bytesOf(f: RawField): Uint8Array {
  if (!(f.value instanceof Uint8Array)) throw new Error(`BfPipelineConfig: field ${f.field} is not length-delimited`);
  return f.value;
}

export function decodeBfPipelineConfig(b: Uint8Array): BfPipelineConfig {
  let p4Name = "";
  let bfruntimeInfo: Uint8Array = new Uint8Array();
  const profiles: BfPipelineProfile[] = [];
  for (const f of readFields(b)) {
    if (f.field === 1) p4Name = fromUtf8.decode(bytesOf(f));
    else if (f.field === 2) bfruntimeInfo = bytesOf(f);
    else if (f.field === 3) {
      let profileName = "";
      let context: Uint8Array = new Uint8Array();
      let binary: Uint8Array = new Uint8Array();
      const pipeScope: number[] = [];
      for (const g of readFields(bytesOf(f))) {
        if (g.field === 1) profileName = fromUtf8.decode(bytesOf(g));
        else if (g.field === 2) context = bytesOf(g);
        else if (g.field === 3) binary = bytesOf(g);
        else if (g.field === 4 && g.wire === 0) pipeScope.push(g.value as number);
        else if (g.field === 4) {
          // packed
          const packed = bytesOf(g);
          let o = 0;
          while (o < packed.length) {
            let v = 0;
            let mul = 1;
            for (;;) {
              const byte = packed[o++];
              if (byte === undefined) throw new Error("BfPipelineConfig: truncated pipe_scope");
              v += (byte & 0x7f) * mul;
              if (byte < 0x80) break;
              mul *= 0x80;
            }
            pipeScope.push(v);
          }
        }
      }
      profiles.push({ profileName, context, binary, pipeScope });
    }
  }
  return { p4Name, bfruntimeInfo, profiles };
}

/** The Tofino device-config formats the controller can produce. */
export type TofinoConfigFormat = "pi" | "bf-pipeline-config";
