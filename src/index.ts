/**
 * p4cast's public API: `import { ... } from "p4cast"`.
 *
 * A small, explicit set of names for a program that uses p4cast as a library:
 *
 * - the P4Runtime client (`P4RuntimeClient`, `loadP4Info`, `registerAccess`)
 *   and its errors (`P4RuntimeError` with per-update `failures`,
 *   `P4ConnectionError`, `P4ValueError`, `P4InfoLookupError`, canonical
 *   `Code`s and the `is...` guards);
 * - topologies: `loadTopology` / `parseTopology` read and validate a topology
 *   file (YAML or JSON) and throw a `TopologyError` naming the path of every
 *   problem; `NetworkGraph` is the link graph built from one;
 * - the controller (`Controller`, `ControllerOptions`) and the compiled
 *   pipeline it pushes (`loadPipeline`: the committed p4/build outputs by
 *   default);
 * - the network plan builder (`planNetwork`): what the controller writes to
 *   every switch, computed without any switch (`PlanError` when it cannot);
 * - targets: `Bmv2Target` (simple_switch_grpc and the embedded switch) and
 *   `TofinoTarget`;
 * - the embedded switch (`EmbeddedSwitch`, ports joined by `VirtualLink`s) and
 *   `EmbeddedNetwork`, a whole topology of embedded switches in one process.
 *
 * The client's full surface (codecs, P4Info index, entity encoders, the
 * write coalescer) is `p4cast/client`; the generated P4Runtime messages are
 * `p4cast/proto`. Everything else under src/ is internal and may change.
 */
export { P4RuntimeClient } from "./client/client.js";
export type { Atomicity, ClientEvents, P4RuntimeClientOptions, PipelineInput, UpdateInput, UpdateType } from "./client/client.js";
export type { EntityInput, EntityKind } from "./client/entities/entity.js";
export type { TableEntryInput } from "./client/entities/table-entry.js";
export { registerAccess } from "./client/registers.js";
export type { RegisterAccess } from "./client/registers.js";
export { loadP4Info } from "./p4runtime/p4info/load.js";
// The errors and their guards (P4RuntimeError, P4ValueError, ..., isP4RuntimeError, ...) and canonical Codes.
export * from "./p4runtime/errors.js";

export { TopologyError, loadTopology, parseTopology } from "./controller/topology/load.js";
export type { HostSpec, LinkSpec, SessionSpec, SwitchSpec, Topology } from "./controller/topology/schema.js";
export { NetworkGraph } from "./controller/topology/graph.js";

export { Controller } from "./controller/controller.js";
export type {
  ControllerEvents,
  ControllerFault,
  ControllerOptions,
  ControllerState,
  DeployReport,
  FailoverReport,
  SwitchHealth,
} from "./controller/controller.js";
export { loadPipeline, pipelineCookie } from "./controller/pipeline.js";
export type { Pipeline } from "./controller/pipeline.js";

export { planNetwork } from "./controller/plan/network-plan.js";
export type { NetworkPlan, PlanInput, SessionPlan } from "./controller/plan/network-plan.js";
export type { SwitchIntent } from "./controller/plan/intent.js";
export { PlanError, isPlanError } from "./controller/plan/plan-error.js";

export { Bmv2Target, TofinoTarget } from "./controller/targets/index.js";
export type { Bmv2TargetOptions, Target, TargetKind, TofinoTargetOptions } from "./controller/targets/index.js";

export { EmbeddedSwitch } from "./switch/embedded-switch.js";
export type { EmbeddedSwitchOptions, LogLevel, ServerTlsOptions } from "./switch/embedded-switch.js";
export { VirtualLink } from "./switch/ports/virtual-link.js";
export type { Port } from "./switch/ports/port.js";
export { EmbeddedNetwork } from "./lab/embedded-network.js";
export type { EmbeddedNetworkOptions } from "./lab/embedded-network.js";
