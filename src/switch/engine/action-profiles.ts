/**
 * Action profiles (indirect tables) and action selectors (indirect_ws). A
 * group selects one of its members with the selector's hash: BMv2 keeps a
 * group's members ordered by member handle (allocation order, lowest free
 * handle first) and picks members[hash % size]. Weights repeat a member.
 */
import { bindAction, type BoundAction, type CompiledAction } from "./actions.js";
import { EngineError, type ActionCall, type EntryAction } from "./runtime-api.js";

interface Member {
  readonly handle: number;
  bound: BoundAction;
}

interface Group {
  spec: { member: number; weight: number }[];
  /** Members in selection order. */
  order: Member[];
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
    return bindAction(a, call.args, `action profile ${this.name}`);
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

  setGroup(group: number, members: readonly { member: number; weight: number }[]): void {
    if (!this.selector) throw new EngineError("UNSUPPORTED", `${this.name} is not an action selector`);
    if (!this.groups.has(group) && this.groups.size >= this.maxSize) throw new EngineError("TABLE_FULL", `${this.name}: too many groups`);
    const order: Member[] = [];
    const seen = new Set<number>();
    for (const s of members) {
      const m = this.members.get(s.member);
      if (!m) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no member ${s.member}`);
      if (!Number.isInteger(s.weight) || s.weight < 1) throw new EngineError("BAD_VALUE", `${this.name}: bad weight ${s.weight}`);
      if (seen.has(s.member)) throw new EngineError("DUPLICATE_ENTRY", `${this.name}: member ${s.member} twice in group`);
      seen.add(s.member);
    }
    const sorted = [...members].sort((a, b) => this.members.get(a.member)!.handle - this.members.get(b.member)!.handle);
    for (const s of sorted) for (let i = 0; i < s.weight; i++) order.push(this.members.get(s.member)!);
    this.groups.set(group, { spec: members.map((s) => ({ member: s.member, weight: s.weight })), order });
  }

  deleteGroup(group: number): void {
    if (!this.groups.has(group)) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no group ${group}`);
    if (this.refCount(`g${group}`) > 0) throw new EngineError("IN_USE", `${this.name}: group ${group} is used by table entries`);
    this.groups.delete(group);
  }

  getGroup(group: number): readonly { member: number; weight: number }[] {
    const g = this.groups.get(group);
    if (!g) throw new EngineError("NO_SUCH_ENTRY", `${this.name}: no group ${group}`);
    return g.spec.map((s) => ({ ...s }));
  }

  /** Resolves an indirect entry action on the packet path; undefined: nothing to run. */
  select(a: EntryAction): BoundAction | undefined {
    if (a.kind === "member") return this.members.get(a.member)?.bound;
    if (a.kind === "group") {
      const g = this.groups.get(a.group);
      if (!g || g.order.length === 0) return undefined;
      const h = this.selector!();
      const i = typeof h === "bigint" ? Number(h % BigInt(g.order.length)) : h % g.order.length;
      return g.order[i]!.bound;
    }
    return undefined;
  }
}
