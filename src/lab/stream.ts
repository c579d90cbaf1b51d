/**
 * A sequenced UDP stream for end-to-end tests and experiments: the source
 * host sends numbered packets to a session's service address at a fixed
 * rate; every client records every sequence number it receives.
 */
import { buildFrame, decodeFrame } from "../packet/frame.js";
import type { HostPort } from "../switch/ports/virtual-link.js";
import type { HostSpec, SessionSpec } from "../controller/topology/schema.js";

export interface ClientLog {
  readonly seqs: number[];
}

export function streamFrame(src: HostSpec, gatewayMac: string, s: SessionSpec, seq: number): Uint8Array {
  const payload = new Uint8Array(16);
  new DataView(payload.buffer).setUint32(0, seq);
  return buildFrame({
    ethernet: { src: src.mac, dst: gatewayMac },
    packet: {
      ip: { version: 4, src: src.ipv4!.split("/")[0]!, dst: s.service.address, ttl: 64 },
      l4: { kind: "udp", udp: { srcPort: 40000, dstPort: s.service.port }, payload },
    },
  });
}

/** Records the sequence numbers arriving at each client. */
export function recordClients(hosts: ReadonlyMap<string, HostPort>, clients: readonly string[], port: number): Map<string, ClientLog> {
  const logs = new Map<string, ClientLog>();
  for (const c of clients) {
    const log = { seqs: [] as number[] };
    logs.set(c, log);
    hosts.get(c)!.onFrame((f) => {
      const d = decodeFrame(f);
      if (d.ip?.l4.kind === "udp" && d.ip.l4.header.dstPort === port)
        log.seqs.push(new DataView(d.ip.l4.payload.buffer, d.ip.l4.payload.byteOffset).getUint32(0));
    });
  }
  return logs;
}

export interface StreamStats {
  readonly received: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly reordered: number;
  /** Longest run of consecutive missing sequence numbers. */
  readonly longestGap: number;
}

export function analyse(log: ClientLog, sent: number): StreamStats {
  const seen = new Set<number>();
  let duplicated = 0;
  let reordered = 0;
  let max = -1;
  for (const s of log.seqs) {
    if (seen.has(s)) duplicated++;
    seen.add(s);
    if (s < max) reordered++;
    max = Math.max(max, s);
  }
  let lost = 0;
  let run = 0;
  let longestGap = 0;
  for (let i = 0; i < sent; i++) {
    if (seen.has(i)) {
      run = 0;
      continue;
    }
    lost++;
    longestGap = Math.max(longestGap, ++run);
  }
  return { received: log.seqs.length, lost, duplicated, reordered, longestGap };
}

/**
 * Sends `count` packets, one every `intervalMs`, calling `at(i)` before
 * packet i. The pace is kept after a hook that took long (no catch-up
 * burst), so a stream never floods the network after a pause.
 */
export async function sendStream(
  host: HostPort,
  frame: (seq: number) => Uint8Array,
  count: number,
  intervalMs: number,
  at?: (seq: number) => Promise<void> | void,
): Promise<void> {
  let next = performance.now();
  for (let i = 0; i < count; i++) {
    await at?.(i);
    next = Math.max(next, performance.now() - intervalMs);
    host.send(frame(i));
    next += intervalMs;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/** Waits until no client has received anything new for `quietMs` (at most `maxMs`). */
export async function settle(logs: ReadonlyMap<string, ClientLog>, quietMs = 300, maxMs = 10_000): Promise<void> {
  const total = () => [...logs.values()].reduce((n, l) => n + l.seqs.length, 0);
  const end = performance.now() + maxMs;
  let last = total();
  let quietSince = performance.now();
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    const now = total();
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= quietMs) return;
  }
}
