/**
 * loadEngine(): the engine's entry point. Compiles a BMv2 JSON (v1model,
 * as p4c-bm2-ss emits it) and returns an Engine: the packet API plus the
 * PipelineRuntime the P4Runtime server programs it through.
 */
import { PortStatus } from "./port-status.js";
import { copyReplica, Pre } from "./pre.js";
import { Program } from "./program.js";
import {
  EngineError,
  type ActionCall,
  type ProgramAction,
  type CloneSessionSpec,
  type CounterValue,
  type DigestMessage,
  type EntryAction,
  type EntryHandle,
  type EntrySpec,
  type MatchValue,
  type MeterRates,
  type Engine,
  type GroupMember,
  type PacketOutput,
  type Replica,
  type ProgramTable,
} from "./runtime-api.js";
import { SimpleSwitch } from "./simple-switch.js";
import type { ActionProfile } from "./action-profiles.js";
import type { Table } from "./tables.js";

export interface EngineOptions {
  /** Microsecond clock; defaults to process.hrtime. */
  readonly clock?: () => bigint;
  /** simple_switch's drop port (default 511). */
  readonly dropPort?: number;
  readonly log?: (msg: string) => void;
  /** Uniform [0, 1) source for modify_field_rng_uniform (default Math.random). */
  readonly random?: () => number;
  /**
   * The switch's port status, shared by the pipelines it loads one after the
   * other; default: the engine's own, every port up.
   */
  readonly portStatus?: PortStatus;
}

const defaultClock = (): bigint => process.hrtime.bigint() / 1000n;

export function loadEngine(json: unknown, options: EngineOptions = {}): Engine {
  return new EngineImpl(json, options);
}

function cloneAction(a: EntryAction): EntryAction {
  if (a.kind === "action") return { kind: "action", call: { action: a.call.action, args: [...a.call.args] } };
  return { ...a };
}

class EngineImpl implements Engine {
  private readonly prog: Program;
  private readonly pre = new Pre();
  private readonly sw: SimpleSwitch;
  private readonly clock: () => bigint;
  private readonly ports: PortStatus;

  constructor(json: unknown, o: EngineOptions) {
    this.clock = o.clock ?? defaultClock;
    this.ports = o.portStatus ?? new PortStatus();
    const log = o.log ?? (() => {});
    this.prog = new Program(json, {
      clock: this.clock,
      log,
      random: o.random ?? Math.random,
      dropPort: o.dropPort ?? 511,
      portStatus: this.ports,
    });
    this.sw = new SimpleSwitch(this.prog, this.pre, this.ports, this.clock, log);
  }

  process(ingressPort: number, data: Uint8Array, arrivedUs?: number): PacketOutput[] {
    return this.sw.process(ingressPort, data, arrivedUs);
  }

  onDigest(cb: (d: DigestMessage) => void): void {
    this.sw.onDigest(cb);
  }

  setPortStatus(port: number, up: boolean): boolean {
    return this.ports.set(port, up);
  }

  isPortUp(port: number): boolean {
    return this.ports.isUp(port);
  }

  // -- info -----------------------------------------------------------------------

  private t(name: string): Table {
    return this.prog.table(name);
  }

  table(name: string): ProgramTable {
    return this.t(name).info;
  }

  action(name: string): ProgramAction {
    const a = this.prog.actions.get(name);
    if (!a) throw new EngineError("NO_SUCH_OBJECT", `no action ${name}`);
    return a.info;
  }

  // -- tables -----------------------------------------------------------------------

  addEntry(table: string, spec: EntrySpec): EntryHandle {
    return this.t(table).add(spec, this.clock());
  }

  findEntry(table: string, key: readonly MatchValue[], priority: number): EntryHandle | undefined {
    return this.t(table).find(key, priority);
  }

  modifyEntry(table: string, handle: EntryHandle, action: EntryAction, idleTimeoutNs?: bigint): void {
    this.t(table).modify(handle, action, idleTimeoutNs);
  }

  deleteEntry(table: string, handle: EntryHandle): void {
    this.t(table).delete(handle);
  }

  getEntry(table: string, handle: EntryHandle): EntrySpec {
    const s = this.t(table).spec(handle);
    return { ...s, action: cloneAction(s.action) };
  }

  entries(table: string): readonly EntryHandle[] {
    return [...this.t(table).entries.keys()];
  }

  setDefaultAction(table: string, action: EntryAction): void {
    this.t(table).setDefault(action);
  }

  resetDefaultAction(table: string): void {
    this.t(table).resetDefault();
  }

  getDefaultAction(table: string): EntryAction {
    const t = this.t(table);
    if (t.defaultAction) return cloneAction(t.defaultAction);
    // no default entry in the JSON: BMv2 runs nothing on a miss
    const noAction = t.info.actions.find((a) => a === "NoAction" || a.endsWith(".NoAction"));
    if (noAction && !t.profile) return { kind: "action", call: { action: noAction, args: [] } };
    throw new EngineError("NO_SUCH_ENTRY", `table ${table} has no default action`);
  }

  entryLastHitUs(table: string, handle: EntryHandle): bigint {
    return BigInt(this.t(table).entry(handle).lastHitUs);
  }

  readDirectCounter(table: string, handle: EntryHandle): CounterValue {
    const t = this.t(table);
    if (!t.info.withCounters) throw new EngineError("UNSUPPORTED", `table ${table} has no direct counter`);
    const e = t.entry(handle);
    return { packets: BigInt(e.packets), bytes: BigInt(e.bytes) };
  }

  writeDirectCounter(table: string, handle: EntryHandle, value: CounterValue): void {
    const t = this.t(table);
    if (!t.info.withCounters) throw new EngineError("UNSUPPORTED", `table ${table} has no direct counter`);
    if (value.packets < 0n || value.bytes < 0n) throw new EngineError("BAD_VALUE", "negative counter value");
    const e = t.entry(handle);
    e.packets = Number(value.packets);
    e.bytes = Number(value.bytes);
  }

  setDirectMeter(table: string, handle: EntryHandle, rates: MeterRates | undefined): void {
    this.t(table).setDirectMeter(handle, rates);
  }

  getDirectMeter(table: string, handle: EntryHandle): MeterRates | undefined {
    const e = this.t(table).entry(handle);
    if (!e.meter) throw new EngineError("UNSUPPORTED", `table ${table} has no direct meter`);
    return e.meter.config;
  }

  // -- action profiles ------------------------------------------------------------------

  private p(name: string): ActionProfile {
    const p = this.prog.profiles.get(name);
    if (!p) throw new EngineError("NO_SUCH_OBJECT", `no action profile ${name}`);
    return p;
  }

  addMember(profile: string, member: number, call: ActionCall): void {
    this.p(profile).addMember(member, call);
  }
  modifyMember(profile: string, member: number, call: ActionCall): void {
    this.p(profile).modifyMember(member, call);
  }
  deleteMember(profile: string, member: number): void {
    this.p(profile).deleteMember(member);
  }
  getMember(profile: string, member: number): ActionCall {
    const c = this.p(profile).getMember(member);
    return { action: c.action, args: [...c.args] };
  }
  members(profile: string): readonly number[] {
    return [...this.p(profile).members.keys()];
  }
  setGroup(profile: string, group: number, members: readonly GroupMember[]): void {
    this.p(profile).setGroup(group, members);
  }
  deleteGroup(profile: string, group: number): void {
    this.p(profile).deleteGroup(group);
  }
  getGroup(profile: string, group: number): readonly GroupMember[] {
    return this.p(profile).getGroup(group);
  }
  groups(profile: string): readonly number[] {
    return [...this.p(profile).groups.keys()];
  }

  // -- externs -----------------------------------------------------------------------------

  private counter(name: string) {
    const c = this.prog.counters.get(name);
    if (!c) throw new EngineError("NO_SUCH_OBJECT", `no counter ${name}`);
    return c;
  }
  counterSize(name: string): number {
    return this.counter(name).size;
  }
  readCounter(name: string, index: number): CounterValue {
    return this.counter(name).read(index);
  }
  writeCounter(name: string, index: number, value: CounterValue): void {
    if (value.packets < 0n || value.bytes < 0n) throw new EngineError("BAD_VALUE", "negative counter value");
    this.counter(name).write(index, value);
  }

  private meter(name: string) {
    const m = this.prog.meters.get(name);
    if (!m) throw new EngineError("NO_SUCH_OBJECT", `no meter ${name}`);
    return m;
  }
  meterSize(name: string): number {
    return this.meter(name).size;
  }
  setMeter(name: string, index: number, rates: MeterRates | undefined): void {
    this.meter(name).check(index).set(rates);
  }
  getMeter(name: string, index: number): MeterRates | undefined {
    return this.meter(name).check(index).config;
  }

  private register(name: string) {
    const r = this.prog.registers.get(name);
    if (!r) throw new EngineError("NO_SUCH_OBJECT", `no register ${name}`);
    return r;
  }
  registerSize(name: string): number {
    return this.register(name).size;
  }
  registerWidth(name: string): number {
    return this.register(name).width;
  }
  readRegister(name: string, index: number): bigint {
    return this.register(name).read(index);
  }
  writeRegister(name: string, index: number, value: bigint): void {
    this.register(name).write(index, value);
  }

  // -- value sets ------------------------------------------------------------------------------

  setValueSet(name: string, members: readonly (readonly { readonly value: bigint; readonly mask: bigint }[])[]): void {
    const vs = this.prog.valueSets.get(name);
    if (!vs) throw new EngineError("NO_SUCH_OBJECT", `no value set ${name}`);
    vs.set(members);
  }
  getValueSet(name: string): readonly (readonly { readonly value: bigint; readonly mask: bigint }[])[] {
    const vs = this.prog.valueSets.get(name);
    if (!vs) throw new EngineError("NO_SUCH_OBJECT", `no value set ${name}`);
    return vs.get();
  }

  // -- PRE -------------------------------------------------------------------------------------

  setMulticastGroup(group: number, replicas: readonly Replica[]): void {
    this.pre.setGroup(group, replicas);
  }
  deleteMulticastGroup(group: number): void {
    this.pre.deleteGroup(group);
  }
  getMulticastGroup(group: number): readonly Replica[] | undefined {
    return this.pre.groups.get(group)?.replicas.map(copyReplica);
  }
  multicastGroups(): readonly number[] {
    return [...this.pre.groups.keys()];
  }
  setCloneSession(session: number, spec: CloneSessionSpec): void {
    this.pre.setSession(session, spec);
  }
  deleteCloneSession(session: number): void {
    this.pre.deleteSession(session);
  }
  getCloneSession(session: number): CloneSessionSpec | undefined {
    const s = this.pre.sessions.get(session);
    return s ? { replicas: s.spec.replicas.map(copyReplica), truncateBytes: s.spec.truncateBytes } : undefined;
  }
  cloneSessions(): readonly number[] {
    return [...this.pre.sessions.keys()];
  }
}
