/**
 * A topology that passes validation but cannot be planned: two different
 * entries for one table key on a switch, two different multicast groups
 * for one id, an entry or group the P4Info refuses. Every problem names its
 * switch and the topology paths that produced the entities involved
 * (`hosts[1].ipv4`, `sessions[0].clients[1]`), so the user can fix the file.
 */
export interface PlanProblem {
  readonly switch: string;
  /** Topology paths of the elements involved (empty when unknown). */
  readonly paths: readonly string[];
  readonly message: string;
}

export class PlanError extends Error {
  override readonly name = "PlanError";
  constructor(readonly problems: readonly PlanProblem[]) {
    super(
      `the topology cannot be planned (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  ${p.switch}: ${p.message}`).join("\n"),
    );
  }
}

export function isPlanError(e: unknown): e is PlanError {
  return e instanceof Error && e.name === "PlanError" && Array.isArray((e as PlanError).problems);
}
