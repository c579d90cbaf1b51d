/** The embedded switch's packet engine (BMv2 simple_switch semantics). */
export { loadPipeline } from "./engine.js";
export type { Engine, EngineOptions, PacketOutput } from "./engine.js";
export { EngineError } from "./runtime-api.js";
export type {
  ActionCall,
  ActionInfo,
  CloneSessionSpec,
  CounterValue,
  DigestMessage,
  EngineErrorCode,
  EntryAction,
  EntryHandle,
  EntrySpec,
  MatchValue,
  MeterRates,
  PipelineRuntime,
  Replica,
  TableInfo,
} from "./runtime-api.js";
export { P4AssertionError } from "./errors.js";
export {
  PKT_INSTANCE_TYPE_NORMAL,
  PKT_INSTANCE_TYPE_INGRESS_CLONE,
  PKT_INSTANCE_TYPE_EGRESS_CLONE,
  PKT_INSTANCE_TYPE_COALESCED,
  PKT_INSTANCE_TYPE_RECIRC,
  PKT_INSTANCE_TYPE_REPLICATION,
  PKT_INSTANCE_TYPE_RESUBMIT,
} from "./simple-switch.js";
export { GREEN, YELLOW, RED } from "./meters.js";
