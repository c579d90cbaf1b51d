/** The BMv2 target: simple_switch_grpc or the embedded switch (target.ts). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { P4RuntimeClient } from "../../client/client.js";
import { registerAccess, type RegisterAccess } from "../../client/registers.js";
import type { Bmv2ThriftOptions } from "../../client/thrift/bmv2-standard.js";
import { loadP4Info } from "../../p4runtime/p4info/load.js";
import { defaultBuildDir, pipelineCookie, type Pipeline } from "../pipeline.js";
import type { RegisterWrite, Target } from "./target.js";

export interface Bmv2TargetOptions {
  /** p4c-bm2-ss's JSON (default p4/build/p4cast.json). */
  readonly json?: string;
  /** P4Info (default p4/build/p4cast.p4info.txtpb). */
  readonly p4info?: string;
  /** BMv2's Thrift service, used when the P4Runtime server has no RegisterEntry. */
  readonly thrift?: Bmv2ThriftOptions;
}

/**
 * The dedup state registers of the v1model program (p4/controls/overlay_dedup.p4),
 * all reset to 0 for a new last-hop session: the window (highest, history),
 * the gap record and the resynchronisation run.
 */
export const BMV2_DEDUP_REGISTERS = [
  "ingress.dedup.dedup_highest",
  "ingress.dedup.dedup_history",
  "ingress.dedup.dedup_gap",
  "ingress.dedup.dedup_resync_seq",
  "ingress.dedup.dedup_resync_count",
] as const;

export class Bmv2Target implements Target {
  readonly kind = "bmv2" as const;
  readonly lastSeenUnitNs = 1000;
  readonly reflectTsUnitNs = 1000;
  /** hb_rtt: microseconds (ingress_global_timestamp). */
  readonly rttUnitNs = 1000;
  readonly heartbeatRequests = "packet-out" as const;
  readonly cpuPort = 255;

  constructor(private readonly options: Bmv2TargetOptions = {}) {}

  async pipeline(): Promise<Pipeline> {
    const p4info = await loadP4Info(this.options.p4info ?? join(defaultBuildDir, "p4cast.p4info.txtpb"));
    const deviceConfig = new Uint8Array(readFileSync(this.options.json ?? join(defaultBuildDir, "p4cast.json")));
    return { p4info, deviceConfig, cookie: pipelineCookie(p4info, deviceConfig) };
  }

  /** P4Runtime where implemented, else Thrift (probes once). */
  registers(client: P4RuntimeClient): Promise<RegisterAccess> {
    return registerAccess(client, this.options.thrift ?? {});
  }

  dedupResetWrites(session: number): RegisterWrite[] {
    return BMV2_DEDUP_REGISTERS.map((register) => ({ register, index: session, value: 0n }));
  }
}
