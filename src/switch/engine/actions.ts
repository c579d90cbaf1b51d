/** Compiled actions as the tables and action profiles see them. */
import { NUM_FIELD_MAX, maskOf, type Val } from "./bits.js";
import { EngineError, type ActionCall, type ProgramAction } from "./runtime-api.js";

export type ActionFn = (P: Val[]) => void;

export interface CompiledAction {
  readonly idx: number;
  readonly id: number;
  readonly name: string;
  readonly info: ProgramAction;
  /** Set once the program's code is generated. */
  fn: ActionFn;
}

/** An action with its arguments converted to storage form. */
export interface BoundAction {
  readonly action: CompiledAction;
  readonly args: Val[];
  /** The call as given (kept, not copied: the engine owns what it is given, see PipelineRuntime). */
  readonly call: ActionCall;
}

export function bindAction(a: CompiledAction, call: ActionCall, where: string): BoundAction {
  const args = call.args;
  const ps = a.info.params;
  if (args.length !== ps.length)
    throw new EngineError("BAD_ACTION", `${where}: action ${a.name} takes ${ps.length} arguments, got ${args.length}`);
  const conv: Val[] = [];
  for (let i = 0; i < ps.length; i++) {
    const w = ps[i]!.bitwidth;
    const v = args[i]!;
    if (typeof v !== "bigint" || v < 0n || v > maskOf(w))
      throw new EngineError("BAD_ACTION", `${where}: argument ${ps[i]!.name} of ${a.name} does not fit ${w} bits`);
    conv.push(w <= NUM_FIELD_MAX ? Number(v) : v);
  }
  // Under the action's own name (a call may name it another way the table accepts).
  return { action: a, args: conv, call: call.action === a.name ? call : { action: a.name, args } };
}
