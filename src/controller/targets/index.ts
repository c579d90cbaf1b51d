/** Switch targets the controller can program (target.ts). */
export type { Target, TargetKind, RegisterWrite } from "./target.js";
export { Bmv2Target, BMV2_DEDUP_REGISTERS, type Bmv2TargetOptions } from "./bmv2.js";
export {
  TofinoTarget,
  TofinoRegisters,
  committedTofinoFiles,
  TNA_DEDUP,
  TNA_DEDUP_WINDOW,
  TOFINO_PKTGEN_PORT,
  PKTGEN_TIMER_HEADER_LENGTH,
  heartbeatTemplate,
  pktgenTimerApp,
  pktgenPeerEntries,
  tnaDedupResetWrites,
  type TofinoTargetOptions,
  type PktgenTimerApp,
  type PktgenPeer,
} from "./tofino.js";
export {
  packTofinoDeviceConfig,
  unpackTofinoDeviceConfig,
  encodeBfPipelineConfig,
  decodeBfPipelineConfig,
  type TofinoPipelineBlobs,
  type BfPipelineConfig,
  type BfPipelineProfile,
  type TofinoConfigFormat,
} from "./tofino-device-config.js";
