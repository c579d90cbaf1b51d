/**
 * What the controller needs to know about the switch it programs beyond
 * P4Runtime itself: how the pipeline's device config is built, how
 * registers are reached, which register layout the data plane has, the
 * unit of data-plane timestamps and who sends heartbeat requests.
 *
 *   bmv2   p4c-bm2-ss's JSON as device config; registers over P4Runtime
 *          where the server implements RegisterEntry (embedded switch), else
 *          BMv2's Thrift service (simple_switch_grpc); timestamps and
 *          hb_rtt in us;
 *          the controller sends heartbeat requests as packet-outs.
 *   tofino bf-p4c's tofino.bin + context.json packed for Stratum / bf_switchd
 *          (tofino-device-config.ts); registers over P4Runtime only (there is
 *          no Thrift register service; bf_switchd's and Stratum's P4Runtime
 *          servers implement RegisterEntry); timestamps and hb_rtt in ns,
 *          hb_last_seen_ts in units of 1024 ns; requests made by the packet generator
 *          (p4/tna/pktgen.p4, docs/tofino.md).
 *
 * The controller takes a target's `pipeline()` as its `pipeline` option and
 * its `registers()` for register access (docs/tofino.md, "Controller").
 */
import type { P4RuntimeClient } from "../../client/client.js";
import type { RegisterAccess } from "../../client/registers.js";
import type { Pipeline } from "../pipeline.js";

export type TargetKind = "bmv2" | "tofino";

/** One register cell write (controller resets). */
export interface RegisterWrite {
  readonly register: string;
  readonly index: number;
  readonly value: bigint;
}

export interface Target {
  readonly kind: TargetKind;
  /** P4Info + the target's device config + cookie, ready for SetForwardingPipelineConfig. */
  pipeline(): Promise<Pipeline>;
  /** Register access for a connected client of a switch of this target. */
  registers(client: P4RuntimeClient): Promise<RegisterAccess>;
  /** The writes that empty the dedup window of a last-hop session. */
  dedupResetWrites(session: number): RegisterWrite[];
  /** Nanoseconds per unit of hb_last_seen_ts / reflect_ts as the data plane stores them. */
  readonly lastSeenUnitNs: number;
  /** Nanoseconds per unit of a heartbeat response's reflect_ts. */
  readonly reflectTsUnitNs: number;
  /** Nanoseconds per unit of hb_rtt (the data plane's round trip of a STAMP response). */
  readonly rttUnitNs: number;
  /** Who sends heartbeat requests: the controller (packet-out) or the switch's packet generator. */
  readonly heartbeatRequests: "packet-out" | "pktgen";
  /** The data-plane port of the CPU (packet-in / packet-out). */
  readonly cpuPort: number;
}
