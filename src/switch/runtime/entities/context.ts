/**
 * What every entity handler works with: the bound pipeline, the server-side
 * bookkeeping the engine does not hold (entry metadata, idle-timeout state,
 * one-shot groups, replica and watch port encodings, digest configuration),
 * and an undo log for ROLLBACK_ON_ERROR / DATAPLANE_ATOMIC batches.
 */
import type { BoundPipeline } from "../pipeline.js";
import type { EntryHandle } from "../../engine/runtime-api.js";
import type { DigestEntry_Config } from "../../../proto/gen/p4/v1/p4runtime_pb.js";

export interface EntryExtras {
  metadata: Uint8Array;
  idleTimeoutNs: bigint;
  /** Set once an idle-timeout notification was sent; cleared on a hit or modify. */
  notifiedAtUs?: bigint;
  /** Hidden group and members created for a one-shot action set. */
  oneShot?: { profile: string; group: number; members: number[] };
}

export class RuntimeState {
  /** key: `${tableId}/${handle}` */
  readonly extras = new Map<string, EntryExtras>();
  /**
   * Per multicast group / clone session id: the indexes of the replicas
   * written with the deprecated uint32 egress_port form (none: absent).
   */
  readonly egressPortForm = { mcast: new Map<number, ReadonlySet<number>>(), clone: new Map<number, ReadonlySet<number>>() };
  /** Per action selector group (`${profile}/${group}`): see deprecatedWatchOf. */
  private readonly deprecatedWatch = new Map<string, ReadonlySet<number>>();
  readonly digestConfig = new Map<number, DigestEntry_Config>();
  /** Ids of hidden one-shot members and groups, per action profile. */
  private readonly nextHidden = new Map<string, number>();

  constructor(readonly pipeline: BoundPipeline) {}

  key(tableId: number, handle: EntryHandle): string {
    return `${tableId}/${handle}`;
  }

  /** Allocates an id from the top of the 32-bit space for hidden one-shot objects. */
  hiddenId(profile: string): number {
    const next = this.nextHidden.get(profile) ?? 0xffffffff;
    this.nextHidden.set(profile, next - 1);
    return next;
  }

  /**
   * The members of an action selector group (one-shot groups included) whose
   * watch port was written in the deprecated int32 `watch` form, to be read
   * back that way.
   */
  deprecatedWatchOf(profile: string, group: number): ReadonlySet<number> | undefined {
    return this.deprecatedWatch.get(`${profile}/${group}`);
  }

  setDeprecatedWatch(profile: string, group: number, members: ReadonlySet<number> | undefined): void {
    if (members && members.size > 0) this.deprecatedWatch.set(`${profile}/${group}`, members);
    else this.deprecatedWatch.delete(`${profile}/${group}`);
  }

  isHidden(id: number): boolean {
    return id > 0xf0000000;
  }

  /**
   * How an action selector is being programmed: with members and groups, or
   * with one-shot action sets; simple_switch_grpc (PI) refuses to mix the two
   * on one selector, and so does this server. Undefined while it is empty.
   */
  selectorMode(profile: string): "manual" | "oneShot" | undefined {
    const engine = this.pipeline.engine;
    const ids = [...engine.members(profile), ...engine.groups(profile)];
    if (ids.some((id) => !this.isHidden(id))) return "manual";
    if (ids.length > 0) return "oneShot";
    return undefined;
  }
}

/** An undo step that threw while a batch was rolled back. */
export interface UndoFailure {
  /** Index of the update (in its WriteRequest) whose effect could not be undone. */
  readonly index: number;
  readonly what: string;
  readonly error: string;
}

/**
 * Collects inverse operations while a batch is applied, and clean-ups that
 * may only run once the batch stands. Disabled (CONTINUE_ON_ERROR), undo
 * steps are dropped and clean-ups run at once.
 *
 * Undo steps must not hold engine entry handles across updates: an earlier
 * update's undo may re-insert an entry under a new handle. Table entries are
 * therefore found again by match key and priority when they are undone.
 */
const updateNumber = (i: number): string => `update #${i}`;

export class UndoLog {
  private readonly steps: { index: number; run: () => void }[] = [];
  private readonly cleanups: (() => void)[] = [];
  private index = -1;
  /** `describe(i)` names update i in failure reports (asked only when a step fails). */
  constructor(
    readonly enabled: boolean,
    private readonly describe: (index: number) => string = updateNumber,
  ) {}

  /** The index of the update the following steps belong to. */
  at(index: number): void {
    this.index = index;
  }

  push(step: () => void): void {
    if (this.enabled) this.steps.push({ index: this.index, run: step });
  }

  onCommit(step: () => void): void {
    if (this.enabled) this.cleanups.push(step);
    else step();
  }

  commit(): void {
    for (const c of this.cleanups) c();
    this.cleanups.length = 0;
    this.steps.length = 0;
  }

  /**
   * Runs the undo steps, last first. A step that throws does not stop the
   * others; every failure is returned, never dropped: the caller must report
   * them (the device answers INTERNAL and logs them).
   */
  rollback(): UndoFailure[] {
    const failures: UndoFailure[] = [];
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const s = this.steps[i]!;
      try {
        s.run();
      } catch (e) {
        failures.push({ index: s.index, what: this.describe(s.index), error: e instanceof Error ? e.message : String(e) });
      }
    }
    this.steps.length = 0;
    this.cleanups.length = 0;
    return failures;
  }
}
