/**
 * The runtime interface of the embedded switch's packet engine: what the
 * P4Runtime server (src/switch/runtime) calls to program a loaded BMv2 JSON
 * pipeline and to read its state. It plays the part of BMv2's
 * runtime_interface.h: objects are named as in the BMv2 JSON (which are also
 * the P4Info names p4c emits), values are unsigned bigints of the object's
 * width, and failures are reported as {@link EngineError} with a code rather
 * than as free-form exceptions.
 */

/** One key component, in the order of the table's JSON "key" array. */
export type MatchValue =
  | { readonly kind: "exact"; readonly value: bigint }
  | { readonly kind: "lpm"; readonly value: bigint; readonly prefixLength: number }
  | { readonly kind: "ternary"; readonly value: bigint; readonly mask: bigint }
  | { readonly kind: "range"; readonly low: bigint; readonly high: bigint }
  /** `wildcard: true` matches anything (the P4Runtime "don't care"). */
  | { readonly kind: "optional"; readonly value: bigint; readonly wildcard: boolean };

/** An action by its JSON name with its arguments in runtime_data order. */
export interface ActionCall {
  readonly action: string;
  readonly args: readonly bigint[];
}

/** What a table entry (or default entry) runs. */
export type EntryAction =
  | { readonly kind: "action"; readonly call: ActionCall }
  | { readonly kind: "member"; readonly member: number }
  | { readonly kind: "group"; readonly group: number };

export interface EntrySpec {
  readonly key: readonly MatchValue[];
  /** Larger wins; ignored for tables whose keys are all exact/lpm. */
  readonly priority: number;
  readonly action: EntryAction;
  /** Idle timeout in nanoseconds; 0 or absent: never ages. */
  readonly idleTimeoutNs?: bigint;
}

export type EntryHandle = number;

export interface CounterValue {
  readonly packets: bigint;
  readonly bytes: bigint;
}

/**
 * Two-rate three-colour meter configuration in the P4Runtime units: rates in
 * units (bytes or packets, by the meter's type) per second, bursts in units.
 */
export interface MeterRates {
  readonly cir: bigint;
  readonly cburst: bigint;
  readonly pir: bigint;
  readonly pburst: bigint;
}

/** Where a copy made by the packet replication engine goes. */
export interface ReplicaDestination {
  readonly port: number;
  /** Replication id: egress_rid in the egress pipeline. */
  readonly rid: number;
}

/**
 * One copy made by the packet replication engine. With backups (P4Runtime
 * 1.5 backup replicas), the copy goes to the first of the replica and its
 * backups, in this order, whose port is up, with that one's rid; when all
 * their ports are down, no copy is made. Without backups the copy goes to
 * `port` whatever its status, as on simple_switch.
 */
export interface Replica extends ReplicaDestination {
  readonly backups?: readonly ReplicaDestination[];
}

export interface CloneSessionSpec {
  readonly replicas: readonly Replica[];
  /** Truncate clones to this many bytes; 0: whole packet. */
  readonly truncateBytes: number;
}

/** A member of an action selector's group. */
export interface GroupMember {
  readonly member: number;
  /** How many times the member is repeated in the selection (at least 1). */
  readonly weight: number;
  /** The port the member depends on (P4Runtime watch_port): left out of the selection while that port is down. */
  readonly watchPort?: number;
}

/** A digest as produced by a learn list (v1model `digest` extern). */
export interface DigestMessage {
  /** The learn list's JSON name. */
  readonly name: string;
  /** One value per learn-list field, in JSON order. */
  readonly values: readonly bigint[];
  /** The port the packet that made it came in on. */
  readonly ingressPort?: number;
  /** Where that packet was going at the end of ingress: a port, or undefined when it was dropped or multicast. */
  readonly egressPort?: number;
}

export type EngineErrorCode =
  | "NO_SUCH_OBJECT" // unknown table/action/counter/... name
  | "BAD_KEY" // key count, kind or width does not fit the table
  | "BAD_ACTION" // action not allowed in the table, wrong argument count/width
  | "DUPLICATE_ENTRY"
  | "NO_SUCH_ENTRY"
  | "TABLE_FULL"
  | "BAD_INDEX"
  | "BAD_VALUE" // a value wider than its object
  | "IN_USE" // e.g. deleting an action-profile member still referenced
  | "UNSUPPORTED";

export class EngineError extends Error {
  override readonly name = "EngineError";
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a loaded program contains, for the runtime layer's validation. */
export interface ProgramTable {
  readonly name: string;
  readonly keys: readonly { readonly name: string; readonly matchType: MatchValue["kind"]; readonly bitwidth: number }[];
  readonly actions: readonly string[];
  readonly maxSize: number;
  /** Name of the action profile/selector for indirect tables. */
  readonly actionProfile?: string;
  readonly withCounters: boolean;
  readonly directMeters?: string;
  readonly supportTimeout: boolean;
}

export interface ProgramAction {
  readonly name: string;
  readonly params: readonly { readonly name: string; readonly bitwidth: number }[];
}

/**
 * The runtime state of one loaded pipeline. Every mutating call either fully
 * applies or throws an {@link EngineError} and changes nothing. The engine
 * keeps the keys, actions and calls it is given as they are (no copy, one
 * set of objects per entry): a caller must not modify them afterwards.
 */
export interface PipelineRuntime {
  table(name: string): ProgramTable;
  action(name: string): ProgramAction;

  // -- match-action tables -------------------------------------------------
  addEntry(table: string, spec: EntrySpec): EntryHandle;
  /** Finds the entry with exactly this key and priority. */
  findEntry(table: string, key: readonly MatchValue[], priority: number): EntryHandle | undefined;
  modifyEntry(table: string, handle: EntryHandle, action: EntryAction, idleTimeoutNs?: bigint): void;
  deleteEntry(table: string, handle: EntryHandle): void;
  getEntry(table: string, handle: EntryHandle): EntrySpec;
  /** Handles in insertion order. */
  entries(table: string): readonly EntryHandle[];
  setDefaultAction(table: string, action: EntryAction): void;
  /** Back to the program's initial default action. */
  resetDefaultAction(table: string): void;
  getDefaultAction(table: string): EntryAction;
  /** Microsecond timestamp of the entry's last hit (or insertion). */
  entryLastHitUs(table: string, handle: EntryHandle): bigint;

  readDirectCounter(table: string, handle: EntryHandle): CounterValue;
  writeDirectCounter(table: string, handle: EntryHandle, value: CounterValue): void;
  /** undefined: the meter marks everything green. */
  setDirectMeter(table: string, handle: EntryHandle, rates: MeterRates | undefined): void;
  getDirectMeter(table: string, handle: EntryHandle): MeterRates | undefined;

  // -- action profiles and selectors ----------------------------------------
  addMember(profile: string, member: number, call: ActionCall): void;
  modifyMember(profile: string, member: number, call: ActionCall): void;
  deleteMember(profile: string, member: number): void;
  getMember(profile: string, member: number): ActionCall;
  members(profile: string): readonly number[];
  /** Creates or replaces the group's member set (weights repeat a member). */
  setGroup(profile: string, group: number, members: readonly GroupMember[]): void;
  deleteGroup(profile: string, group: number): void;
  getGroup(profile: string, group: number): readonly GroupMember[];
  groups(profile: string): readonly number[];

  // -- indexed externs ------------------------------------------------------
  counterSize(name: string): number;
  readCounter(name: string, index: number): CounterValue;
  writeCounter(name: string, index: number, value: CounterValue): void;
  meterSize(name: string): number;
  setMeter(name: string, index: number, rates: MeterRates | undefined): void;
  getMeter(name: string, index: number): MeterRates | undefined;
  registerSize(name: string): number;
  registerWidth(name: string): number;
  readRegister(name: string, index: number): bigint;
  writeRegister(name: string, index: number, value: bigint): void;

  // -- parser value sets ----------------------------------------------------
  /** Replaces the set's members; each member is value and mask per field. */
  setValueSet(name: string, members: readonly (readonly { readonly value: bigint; readonly mask: bigint }[])[]): void;
  getValueSet(name: string): readonly (readonly { readonly value: bigint; readonly mask: bigint }[])[];

  // -- packet replication engine ----------------------------------------------
  setMulticastGroup(group: number, replicas: readonly Replica[]): void;
  deleteMulticastGroup(group: number): void;
  getMulticastGroup(group: number): readonly Replica[] | undefined;
  multicastGroups(): readonly number[];
  setCloneSession(session: number, spec: CloneSessionSpec): void;
  deleteCloneSession(session: number): void;
  getCloneSession(session: number): CloneSessionSpec | undefined;
  cloneSessions(): readonly number[];
}

/** A packet leaving the switch. */
export interface PacketOutput {
  readonly port: number;
  readonly data: Uint8Array;
}

/** A loaded program that processes packets (see loadEngine). */
export interface Engine extends PipelineRuntime {
  /**
   * Runs one packet to completion; every copy that leaves, in the order BMv2
   * emits them. `arrivedUs`: when the packet arrived, on the engine's clock
   * (the clock when omitted); the packet's timestamp and every meter it
   * meets use it, never earlier than a packet processed before.
   */
  process(ingressPort: number, data: Uint8Array, arrivedUs?: number): PacketOutput[];
  onDigest(cb: (d: DigestMessage) => void): void;
  /**
   * Marks a port up or down for the data plane (every port is up until
   * marked down): backup replicas and the watch ports of selector members
   * follow it. Returns whether the status changed.
   */
  setPortStatus(port: number, up: boolean): boolean;
  isPortUp(port: number): boolean;
}
