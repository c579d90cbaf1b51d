/**
 * Classic pcap files (microsecond timestamps, Ethernet link type): a writer
 * that records frames and a reader for replaying them into a switch.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;

export interface PcapRecord {
  /** Microseconds since the epoch. */
  readonly timeUs: bigint;
  readonly data: Uint8Array;
}

export class PcapWriter {
  private fd: number | undefined;

  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
    const h = Buffer.alloc(24);
    h.writeUInt32LE(MAGIC_US, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    writeSync(this.fd, h);
  }

  write(data: Uint8Array, timeUs: bigint = BigInt(Date.now()) * 1000n): void {
    if (this.fd === undefined) return;
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Number(timeUs / 1_000_000n), 0);
    h.writeUInt32LE(Number(timeUs % 1_000_000n), 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    writeSync(this.fd, h);
    writeSync(this.fd, data);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Writes `frames` as a pcap file (timestamps 0). */
export function writePcapFile(path: string, frames: readonly Uint8Array[]): void {
  const w = new PcapWriter(path);
  for (const f of frames) w.write(f, 0n);
  w.close();
}

export interface ReadPcapOptions {
  /**
   * Accept a file cut short (simple_switch writes its pcaps in blocks and
   * loses the last one when stopped): an empty file or a cut last record
   * end the list instead of raising an error.
   */
  readonly partial?: boolean;
}

/** Reads every record of a pcap file (either byte order, µs or ns). */
export function readPcap(path: string, options: ReadPcapOptions = {}): PcapRecord[] {
  const buf = readFileSync(path);
  if (buf.length < 24) {
    if (options.partial) return [];
    throw new Error(`${path}: too short for a pcap file`);
  }
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === MAGIC_US || magicLE === MAGIC_NS) {
    le = true;
    nano = magicLE === MAGIC_NS;
  } else if (magicBE === MAGIC_US || magicBE === MAGIC_NS) {
    le = false;
    nano = magicBE === MAGIC_NS;
  } else {
    throw new Error(`${path}: not a pcap file (magic 0x${magicLE.toString(16)}); pcapng is not supported`);
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== LINKTYPE_ETHERNET && !options.partial) throw new Error(`${path}: link type ${linkType} is not Ethernet`);
  const out: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = BigInt(u32(off));
    const frac = BigInt(u32(off + 4));
    const incl = u32(off + 8);
    off += 16;
    if (off + incl > buf.length) {
      if (options.partial) break;
      throw new Error(`${path}: truncated record at byte ${off - 16}`);
    }
    out.push({ timeUs: sec * 1_000_000n + (nano ? frac / 1000n : frac), data: new Uint8Array(buf.subarray(off, off + incl)) });
    off += incl;
  }
  return out;
}
