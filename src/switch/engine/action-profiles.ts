/**
 * Action profiles (indirect tables) and action selectors (indirect_ws). A
 * group selects one of its members with the selector's hash: BMv2 keeps a
 * group's members ordered by member handle (allocation order, lowest free
 * handle first) and picks members[hash % size]. Weights repeat a member.
 * A member with a watch port is left out while that port is down: the hash
 * then picks among the members that remain, in the same order (as PI's
 * BMv2 target does with members it deactivates); a group whose members are
 * all left out runs no action, like an empty group.
 */
import { bindAction, type BoundAction, type CompiledAction } from "./actions.js";
import type { PortStatus } from "./port-status.js";
import { EngineError, type ActionCall, type EntryAction, type GroupMember } from "./runtime-api.js";

interface Member {
  readonly handle: number;
  bound: BoundAction;
}

interface Group {
  readonly spec: readonly GroupMember[];
  /** Members in selection order. */
  readonly order: readonly Member[];
  /** The watch port of each entry of `order`; undefined when no member has one. */
  readonly watch: readonly (number | undefined)[] | undefined;
  /** `order` without the members whose watch port is down, as of port status version `liveAt`. */
  live: readonly Member[];
  liveAt: number;
}

export class ActionProfile {
  readonly members = new Map<number, Member>();
  readonly groups = new Map<number, Group>();
  private readonly refs = new Map<string, number>();
  private readonly usedHandles = new Set<number>();
  /** Set by the program compiler for selectors: the hash of the selector input. */
  selector: (() => number | bigint) | undefined;
  actions = new Map<string, CompiledAction>();

  constructor(
    readonly name: string,
    readonly maxSize: number,
    hasSelector: boolean,
    private readonly ports: PortStatus,
  ) {
    if (hasSelector) this.selector = () => 0;
  }

  ref(a: EntryAction, d: number): void {
    if (a.kind === "action") return;
    const k = a.kind === "member" ? `m${a.member}` : `g${a.group}`;
    this.refs.set(k, (this.refs.get(k) ?? 0) + d);
  }

  private refCount(k: string): number {
    return this.refs.get(k) ?? 0;
  }

  private bind(call: ActionCall): BoundAction {
    const a = this.actions.get(call.action);
    if (!a) throw new EngineError("BAD_ACTION", `action ${call.action} is not usable with ${this.name}`);
    return bindAction(a, call, `action profile ${this.name}`);
  }

  addMember(member: number, call: ActionCall): void {
    if (this.members.has(member)) throw new EngineError("DUPLICATE_ENTRY", `${this.name}: member ${member} exists`);
    if (this.members.size >= this.maxSize) throw new EngineError("TABLE_FULL", `${this.name} is full`);
    const bound = this.bind(call);
    let h = 0;
    while (this.usedHandles.has(h)) h++;
    this.usedHandles.add(h);
    this.members.set(member, { handle: h, bound });
  }

  modifyMember(member: number, call: ActionCall): void {
    const m = this.members.get(member);
    if (!m) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no member ${member}`);
    m.bound = this.bind(call);
  }

  deleteMember(member: number): void {
    const m = this.members.get(member);
    if (!m) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no member ${member}`);
    if (this.refCount(`m${member}`) > 0) throw new EngineError("IN_USE", `${this.name}: member ${member} is used by table entries`);
    for (const g of this.groups.values())
      if (g.spec.some((s) => s.member === member)) throw new EngineError("IN_USE", `${this.name}: member ${member} is in a group`);
    this.members.delete(member);
    this.usedHandles.delete(m.handle);
  }

  getMember(member: number): ActionCall {
    const m = this.members.get(member);
    if (!m) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no member ${member}`);
    return m.bound.call;
  }

  setGroup(group: number, members: readonly GroupMember[]): void {
    if (!this.selector) throw new EngineError("UNSUPPORTED", `${this.name} is not an action selector`);
    if (!this.groups.has(group) && this.groups.size >= this.maxSize) throw new EngineError("TABLE_FULL", `${this.name}: too many groups`);
    const seen = new Set<number>();
    for (const s of members) {
      const m = this.members.get(s.member);
      if (!m) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no member ${s.member}`);
      if (!Number.isInteger(s.weight) || s.weight < 1) throw new EngineError("BAD_VALUE", `${this.name}: bad weight ${s.weight}`);
      if (s.watchPort !== undefined && (!Number.isInteger(s.watchPort) || s.watchPort < 0))
        throw new EngineError("BAD_VALUE", `${this.name}: bad watch port ${s.watchPort}`);
      if (seen.has(s.member)) throw new EngineError("DUPLICATE_ENTRY", `${this.name}: member ${s.member} twice in group`);
      seen.add(s.member);
    }
    const spec = members.map(copyGroupMember);
    const sorted = [...spec].sort((a, b) => this.members.get(a.member)!.handle - this.members.get(b.member)!.handle);
    const order: Member[] = [];
    const watch: (number | undefined)[] = [];
    for (const s of sorted)
      for (let i = 0; i < s.weight; i++) {
        order.push(this.members.get(s.member)!);
        watch.push(s.watchPort);
      }
    const watched = watch.some((w) => w !== undefined);
    this.groups.set(group, { spec, order, watch: watched ? watch : undefined, live: order, liveAt: -1 });
  }

  deleteGroup(group: number): void {
    if (!this.groups.has(group)) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no group ${group}`);
    if (this.refCount(`g${group}`) > 0) throw new EngineError("IN_USE", `${this.name}: group ${group} is used by table entries`);
    this.groups.delete(group);
  }

  getGroup(group: number): readonly GroupMember[] {
    const g = this.groups.get(group);
    if (!g) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no group ${group}`);
    return g.spec.map(copyGroupMember);
  }

  /** The group's members in selection order, without those whose watch port is down. */
  private selectable(g: Group): readonly Member[] {
    const watch = g.watch;
    if (!watch) return g.order;
    const version = this.ports.version;
    if (g.liveAt !== version) {
      g.live = g.order.filter((_, i) => watch[i] === undefined || this.ports.isUp(watch[i]));
      g.liveAt = version;
    }
    return g.live;
  }

  /** Resolves an indirect entry action on the packet path; undefined: nothing to run. */
  select(a: EntryAction): BoundAction | undefined {
    if (a.kind === "member") return this.members.get(a.member)?.bound;
    if (a.kind === "group") {
      const g = this.groups.get(a.group);
      if (!g) return undefined;
      const members = this.selectable(g);
      if (members.length === 0) return undefined;
      const h = this.selector!();
      const i = typeof h === "bigint" ? Number(h % BigInt(members.length)) : h % members.length;
      return members[i]!.bound;
    }
    return undefined;
  }
}

function copyGroupMember(m: GroupMember): GroupMember {
  return m.watchPort === undefined
    ? { member: m.member, weight: m.weight }
    : { member: m.member, weight: m.weight, watchPort: m.watchPort };
}
