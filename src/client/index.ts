/**
 * p4cast's P4Runtime client library: typed, by-name access to a P4Runtime
 * device. Layering: transport (channel, stream session, arbitration,
 * reconnect) → codec (bytestrings, values, match fields) → P4Info index →
 * entities (one module per family) → P4RuntimeClient.
 */
export { P4RuntimeClient } from "./client.js";
export type { Atomicity, ClientEvents, P4RuntimeClientOptions, PipelineInput, UpdateInput, UpdateType } from "./client.js";

// The errors and their guards (P4RuntimeError, P4ValueError, ..., isP4RuntimeError, ...) and canonical Codes.
export * from "../p4runtime/errors.js";

export {
  byteWidth,
  canonicalize,
  decodeSigned,
  decodeUnsigned,
  encodeSigned,
  encodeUnsigned,
  maxUnsigned,
  pad,
} from "../p4runtime/codec/bytestring.js";
export type { BytestringMode } from "../p4runtime/codec/bytestring.js";
export {
  formatIPv4,
  formatIPv6,
  formatMac,
  formatValue,
  guessFormat,
  parseIPv4,
  parseIPv6,
  parseMac,
  parseValue,
} from "../p4runtime/codec/values.js";
export type { ValueFormat, ValueInput } from "../p4runtime/codec/values.js";
export { decodeMatch, encodeMatch, formatMatch, parseMatch } from "../p4runtime/codec/match.js";
export type { MatchInput, MatchKind, MatchSpec } from "../p4runtime/codec/match.js";

export { P4InfoIndex } from "../p4runtime/p4info/index.js";
export type {
  ActionInfo,
  ActionProfileInfo,
  ControllerPacketMetadataInfo,
  CounterInfo,
  DigestInfo,
  DirectCounterInfo,
  DirectMeterInfo,
  MatchFieldInfo,
  MeterInfo,
  RegisterInfo,
  TableInfo,
  ValueSetInfo,
} from "../p4runtime/p4info/index.js";
export { NameIndex } from "../p4runtime/p4info/names.js";
export { loadP4Info, parseP4Info, p4infoFormatOf } from "../p4runtime/p4info/load.js";
export type { P4InfoFormat } from "../p4runtime/p4info/load.js";

export { decodeEntity, encodeEntity } from "./entities/entity.js";
export type { DecodedEntity, DecodedOf, EntityInput, EntityKind } from "./entities/entity.js";
export { formatTableEntry } from "./entities/table-entry.js";
export type { DecodedTableEntry, TableActionInput, TableEntryInput } from "./entities/table-entry.js";
export type { ActionCallInput, CounterDataValue, MeterConfigValue } from "./entities/common.js";
export type { DecodedPacketIn, PacketOutInput } from "./entities/packet-io.js";
export type { DecodedDigestList } from "./entities/digest.js";

export { Backoff } from "./transport/backoff.js";
export type { BackoffOptions } from "./transport/backoff.js";
export type { TlsOptions } from "./transport/channel.js";
export type { ArbitrationStatus } from "./transport/session.js";
export { parseElectionId } from "../p4runtime/election.js";

export { P4RuntimeRegisters, ThriftRegisters, registerAccess } from "./registers.js";
export type { RegisterAccess } from "./registers.js";
export { Bmv2ThriftClient, Bmv2ThriftError } from "./thrift/bmv2-standard.js";
export { WriteCoalescer } from "./write/coalescer.js";
export type { CoalescerOptions, CoalescerStats, WriteSink } from "./write/coalescer.js";
export { entityKey } from "./wire/encode-update.js";
