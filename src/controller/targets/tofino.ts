/**
 * The Tofino target (target.ts): the TNA program (p4/tna) compiled by
 * bf-p4c, pushed through a Stratum or bf_switchd P4Runtime server.
 *
 *  - pipeline(): bf-p4c's P4Info, and tofino.bin + context.json packed as
 *    the device config (tofino-device-config.ts: the PI packing by default,
 *    Stratum's BfPipelineConfig protobuf for stratum_bfrt).
 *  - registers(): P4Runtime RegisterEntry only -- no Thrift on Tofino. The
 *    access also maps the v1model register contract the controller uses onto
 *    the TNA layout (p4/tna/overlay_dedup.p4): resetting
 *    ingress.dedup.dedup_history of session s empties dedup_valid[s] and the
 *    session's 64 dedup_slots cells.
 *  - heartbeat requests come from the packet generator: heartbeatTemplate()
 *    is the application's packet buffer, pktgenTimerApp() its settings,
 *    pktgenPeerEntries() the hb_pktgen_peer_exact entries.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { P4RuntimeClient } from "../../client/client.js";
import { P4RuntimeRegisters, type RegisterAccess } from "../../client/registers.js";
import { loadP4Info } from "../../p4runtime/p4info/load.js";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { buildFrame } from "../../packet/frame.js";
import { HEARTBEAT_UDP_PORT, HeartbeatFlags, HeartbeatType } from "../../packet/heartbeat.js";
import { pipelineCookie, type Pipeline } from "../pipeline.js";
import type { RegisterWrite, Target } from "./target.js";
import { encodeBfPipelineConfig, packTofinoDeviceConfig, type TofinoConfigFormat } from "./tofino-device-config.js";

/** p4/tna/overlay_dedup.p4: the window is P4CAST_DEDUP_WINDOW slots per session. */
export const TNA_DEDUP_WINDOW = 64;

export const TNA_DEDUP = {
  valid: "ingress.dedup.dedup_valid",
  highest: "ingress.dedup.dedup_highest",
  slots: "ingress.dedup.dedup_slots",
  gap: "ingress.dedup.dedup_gap",
  resyncSeq: "ingress.dedup.dedup_resync_seq",
  resyncCount: "ingress.dedup.dedup_resync_count",
  /** v1model only: the 64-bit history; on TNA a reset of it empties valid + slots. */
  history: "ingress.dedup.dedup_history",
} as const;

/** Tofino 1 pipe 0 packet generator port (P4CAST_PKTGEN_PORT). */
export const TOFINO_PKTGEN_PORT = 68;

export interface TofinoTargetOptions {
  /** bf-p4c's P4Info (--p4runtime-files) of p4/tna/p4cast_tna.p4. */
  readonly p4info: string;
  /** bf-p4c's <pipeline>/tofino.bin (a name ending in .gz is gunzipped: committedTofinoFiles). */
  readonly tofinoBin: string;
  /** bf-p4c's <pipeline>/context.json (a name ending in .gz is gunzipped). */
  readonly contextJson: string;
  /** Program name as in bf-p4c's .conf (default "p4cast_tna"). */
  readonly programName?: string;
  /** "pi" (default: bf_switchd, stratum_bf) or "bf-pipeline-config" (stratum_bfrt). */
  readonly format?: TofinoConfigFormat;
  /** For "bf-pipeline-config": bf-p4c's bfrt.json, pipeline name, pipe scope. */
  readonly bfrtJson?: string;
  readonly pipelineName?: string;
  readonly pipeScope?: readonly number[];
  /** PCIe CPU port (P4CAST_CPU_PORT: 192 on 2-pipe, 320 on 4-pipe Tofino 1). */
  readonly cpuPort?: number;
}

/**
 * The compile committed in p4/build/tofino (docs/tofino.md): bf-p4c's
 * P4Info and bfrt.json, and the pipeline's binary and context, gzipped.
 */
export function committedTofinoFiles(buildDir: string): Pick<TofinoTargetOptions, "p4info" | "tofinoBin" | "contextJson" | "bfrtJson"> {
  const dir = join(buildDir, "tofino");
  return {
    p4info: join(dir, "p4cast_tna.p4info.txtpb"),
    tofinoBin: join(dir, "tofino.bin.gz"),
    contextJson: join(dir, "context.json.gz"),
    bfrtJson: join(dir, "bfrt.json"),
  };
}

/** A file's bytes; gunzipped when its name ends in .gz. */
function readBlob(path: string): Uint8Array {
  const bytes = readFileSync(path);
  return new Uint8Array(path.endsWith(".gz") ? gunzipSync(bytes) : bytes);
}

export class TofinoTarget implements Target {
  readonly kind = "tofino" as const;
  /** hb_last_seen_ts holds global_tstamp >> 10 (p4/controls/heartbeat.p4, its TNA block). */
  readonly lastSeenUnitNs = 1024;
  readonly reflectTsUnitNs = 1;
  /** hb_rtt: nanoseconds, the low 32 bits of global_tstamp's difference (p4/controls/heartbeat.p4, its TNA block). */
  readonly rttUnitNs = 1;
  readonly heartbeatRequests = "pktgen" as const;
  readonly cpuPort: number;

  constructor(private readonly options: TofinoTargetOptions) {
    this.cpuPort = options.cpuPort ?? 192;
  }

  deviceConfig(): Uint8Array {
    const o = this.options;
    const programName = o.programName ?? "p4cast_tna";
    const tofinoBin = readBlob(o.tofinoBin);
    const contextJson = readBlob(o.contextJson);
    if ((o.format ?? "pi") === "pi") return packTofinoDeviceConfig({ programName, tofinoBin, contextJson });
    return encodeBfPipelineConfig({
      p4Name: programName,
      bfruntimeInfo: o.bfrtJson ? new Uint8Array(readFileSync(o.bfrtJson)) : new Uint8Array(),
      profiles: [{ profileName: o.pipelineName ?? "pipe", context: contextJson, binary: tofinoBin, pipeScope: o.pipeScope ?? [] }],
    });
  }

  async pipeline(): Promise<Pipeline> {
    const p4info = await loadP4Info(this.options.p4info);
    const deviceConfig = this.deviceConfig();
    return { p4info, deviceConfig, cookie: pipelineCookie(p4info, deviceConfig) };
  }

  /** P4Runtime registers, never Thrift; an UNIMPLEMENTED server is an error here. */
  async registers(client: P4RuntimeClient): Promise<RegisterAccess> {
    return new TofinoRegisters(client);
  }

  dedupResetWrites(session: number): RegisterWrite[] {
    return tnaDedupResetWrites(session);
  }
}

export function tnaDedupResetWrites(session: number): RegisterWrite[] {
  const base = session * TNA_DEDUP_WINDOW;
  return [
    { register: TNA_DEDUP.valid, index: session, value: 0n },
    { register: TNA_DEDUP.highest, index: session, value: 0n },
    { register: TNA_DEDUP.gap, index: session, value: 0n },
    { register: TNA_DEDUP.resyncSeq, index: session, value: 0n },
    { register: TNA_DEDUP.resyncCount, index: session, value: 0n },
    ...Array.from({ length: TNA_DEDUP_WINDOW }, (_, i) => ({ register: TNA_DEDUP.slots, index: base + i, value: 0n })),
  ];
}

/**
 * P4Runtime register access for a Tofino switch. Registers are reached by
 * RegisterEntry only. When the pipeline has the TNA dedup layout
 * (dedup_slots in the P4Info), the v1model register contract the controller
 * speaks is translated: writing 0 to dedup_history[s] empties the window
 * (dedup_valid[s] and the 64 slots); other values have no TNA equivalent.
 */
export class TofinoRegisters implements RegisterAccess {
  readonly via = "p4runtime" as const;
  private readonly inner: RegisterAccess;

  constructor(
    private readonly client: P4RuntimeClient,
    inner?: RegisterAccess,
  ) {
    this.inner = inner ?? new P4RuntimeRegisters(client);
  }

  /** Whether the pipeline on the switch has p4/tna's dedup layout. */
  get tnaLayout(): boolean {
    return this.client.index.registers.find(TNA_DEDUP.slots) !== undefined;
  }

  private isHistory(register: string): boolean {
    if (!this.tnaLayout) return false;
    return register === TNA_DEDUP.history || register === "dedup_history" || register === "dedup.dedup_history";
  }

  read(register: string, index: number): Promise<bigint> {
    if (this.isHistory(register))
      return Promise.reject(new Error(`${register}: the TNA program keeps no history bitmap (dedup_slots, docs/tofino.md)`));
    return this.inner.read(register, index);
  }

  readAll(register: string): Promise<bigint[]> {
    if (this.isHistory(register))
      return Promise.reject(new Error(`${register}: the TNA program keeps no history bitmap (dedup_slots, docs/tofino.md)`));
    return this.inner.readAll(register);
  }

  async write(register: string, index: number, value: bigint): Promise<void> {
    if (!this.isHistory(register)) return this.inner.write(register, index, value);
    if (value !== 0n) throw new Error(`${register}[${index}] := ${value}: on TNA only a reset (0) of the dedup window can be written`);
    for (const w of tnaDedupResetWrites(index)) {
      if (w.register === TNA_DEDUP.valid || w.register === TNA_DEDUP.slots) await this.inner.write(w.register, w.index, w.value);
    }
  }

  close(): void {
    this.inner.close();
  }
}

// ---- heartbeats from the packet generator ---------------------------------

/** Length of the pktgen timer header the generator prepends (pktgen_timer_header_t). */
export const PKTGEN_TIMER_HEADER_LENGTH = 6;

/**
 * The heartbeat application's packet buffer: Ethernet, IPv4 (TTL 64, DF),
 * UDP 49374 -> 49374 with checksum 0, heartbeat version 1 type request, all
 * addresses zero (hb_pktgen_peer_exact fills them per peer). 66 octets.
 */
export function heartbeatTemplate(): Uint8Array {
  return buildFrame({
    ethernet: { dst: "00:00:00:00:00:00", src: "00:00:00:00:00:00" },
    packet: {
      ip: { version: 4, src: "0.0.0.0", dst: "0.0.0.0", ttl: 64, flags: 0b010 },
      l4: {
        kind: "heartbeat",
        heartbeat: { type: HeartbeatType.REQUEST, sequence: 0 },
        udp: { srcPort: HEARTBEAT_UDP_PORT, dstPort: HEARTBEAT_UDP_PORT, checksum: 0 },
      },
    },
  });
}

/** The packet generator timer application (BF Runtime tf1.pktgen.app_cfg fields). */
export interface PktgenTimerApp {
  readonly app_id: number;
  readonly trigger_type: "TIMER_PERIODIC";
  readonly timer_nanosec: number;
  /** Batches per trigger minus one: one batch per peer. */
  readonly batch_count_cfg: number;
  /** Packets per batch minus one: one request per peer. */
  readonly packets_per_batch_cfg: number;
  readonly ibg: number;
  readonly ipg: number;
  readonly pkt_buffer_offset: number;
  /** The template's length (without the 6-octet pktgen header the generator prepends). */
  readonly pkt_len: number;
  readonly pipe_local_source_port: number;
  readonly app_enable: boolean;
}

export function pktgenTimerApp(opts: { peers: number; periodMs: number; appId?: number; bufferOffset?: number }): PktgenTimerApp {
  if (!Number.isInteger(opts.peers) || opts.peers < 1 || opts.peers > 256)
    throw new RangeError(`peers ${opts.peers}: 1..256 (P4CAST_MAX_HB_PEERS)`);
  const appId = opts.appId ?? 1;
  if (appId < 0 || appId > 7) throw new RangeError(`app id ${appId}: Tofino 1 has applications 0..7`);
  return {
    app_id: appId,
    trigger_type: "TIMER_PERIODIC",
    timer_nanosec: Math.round(opts.periodMs * 1e6),
    batch_count_cfg: opts.peers - 1,
    packets_per_batch_cfg: 0,
    ibg: 0,
    ipg: 0,
    pkt_buffer_offset: opts.bufferOffset ?? 0,
    pkt_len: heartbeatTemplate().length,
    pipe_local_source_port: TOFINO_PKTGEN_PORT,
    app_enable: true,
  };
}

export interface PktgenPeer {
  /** Index into hb_* registers (the same as the peer's heartbeat_peer_exact entry). */
  readonly peerIndex: number;
  readonly srcAddr: string;
  readonly dstAddr: string;
  readonly port: number;
  readonly srcMac: string;
  readonly dstMac: string;
  readonly originId?: number;
  /**
   * Heartbeat flags (default LINK | STAMP, 3): LINK (1) the peer reflects out
   * of the port the request came in on; STAMP (2) the response's round trip,
   * timed from the generator's timestamp, lands in hb_rtt.
   */
  readonly flags?: number;
}

/** hb_pktgen_peer_exact entries: batch b of the application is peers[b]'s request. */
export function pktgenPeerEntries(peers: readonly PktgenPeer[], appId = 1): TableEntryInput[] {
  return peers.map((p, batch) => ({
    table: "pktgen.hb_pktgen_peer_exact",
    match: { app_id: BigInt(appId), batch_id: BigInt(batch) },
    action: {
      name: "pktgen.hb_request_to_peer",
      params: {
        peer_index: BigInt(p.peerIndex),
        src_addr: p.srcAddr,
        dst_addr: p.dstAddr,
        port: BigInt(p.port),
        src_mac: p.srcMac,
        dst_mac: p.dstMac,
        origin_id: BigInt(p.originId ?? 0),
        flags: BigInt(p.flags ?? HeartbeatFlags.LINK | HeartbeatFlags.STAMP),
      },
    },
  }));
}
