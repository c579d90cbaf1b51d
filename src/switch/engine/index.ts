/** The embedded switch's packet engine (BMv2 simple_switch semantics). */
export { loadEngine } from "./engine.js";
export type { EngineOptions } from "./engine.js";
export { EngineError } from "./runtime-api.js";
export type {
  ActionCall,
  ProgramAction,
  CloneSessionSpec,
  CounterValue,
  DigestMessage,
  Engine,
  EngineErrorCode,
  EntryAction,
  EntryHandle,
  EntrySpec,
  GroupMember,
  MatchValue,
  MeterRates,
  PacketOutput,
  PipelineRuntime,
  Replica,
  ReplicaDestination,
  ProgramTable,
} from "./runtime-api.js";
export { PortStatus, type PortStatusListener } from "./port-status.js";
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
