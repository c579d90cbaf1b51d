/**
 * Client arbitration for one device (P4Runtime "Client Arbitration and
 * Controller Replication"): per role, every stream that sent an election id
 * is a candidate, and the live candidate with the highest id is primary.
 * Whenever the primary changes, every candidate of the role is told who is
 * primary: status OK to the primary, ALREADY_EXISTS to the backups (NOT_FOUND
 * when nobody is left). Like simple_switch_grpc (PI), a backup takes over
 * at once when the primary's stream closes; the specification instead keeps
 * the role without a primary until an id at least as high as the highest
 * ever seen arrives (docs/architecture.md lists this difference).
 *
 * A stream whose MasterArbitrationUpdate has no election_id is a candidate
 * that can never be primary (P4Runtime "Unset Election ID": lower than any
 * id, 0 included): it is told who is primary and may read, but its writes
 * and packet-outs are refused. Several such streams may coexist.
 */
import { Code } from "../../proto/gen/google/rpc/code_pb.js";

export interface Candidate {
  /** undefined: the stream sent no election_id and can never be primary. */
  readonly electionId: bigint | undefined;
  readonly role: string;
}

export interface ArbitrationNotice<C extends Candidate> {
  readonly to: C;
  readonly code: Code;
  readonly message: string;
  /** The primary's election id, else the highest id seen for the role; unset when there never was one. */
  readonly electionId?: bigint;
}

export class ArbitrationError extends Error {
  override readonly name = "ArbitrationError";
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

interface RoleState<C> {
  readonly live: Set<C>;
  primary: C | undefined;
  /** The highest election id any stream of the role has sent. */
  highestSeen: bigint | undefined;
}

export class Arbitrator<C extends Candidate> {
  private readonly roles = new Map<string, RoleState<C>>();

  /** The primary of a role, if any. */
  primary(role: string): C | undefined {
    return this.roles.get(role)?.primary;
  }

  isPrimary(c: C): boolean {
    return this.primary(c.role) === c;
  }

  /** The election id a Write of the role must carry. */
  primaryElectionId(role: string): bigint | undefined {
    return this.roles.get(role)?.primary?.electionId;
  }

  /**
   * Handles an arbitration update from `c` (new, or live with `previous` as
   * its former state). An election id held by another live stream of the
   * role is rejected with INVALID_ARGUMENT. Returns the notices to send.
   */
  update(c: C, previous?: C): ArbitrationNotice<C>[] {
    let st = this.roles.get(c.role);
    if (!st) {
      st = { live: new Set(), primary: undefined, highestSeen: undefined };
      this.roles.set(c.role, st);
    }
    for (const other of st.live) {
      if (c.electionId !== undefined && other !== c && other !== previous && other.electionId === c.electionId) {
        throw new ArbitrationError(
          Code.INVALID_ARGUMENT,
          `election id ${c.electionId} is already used by another client of role "${c.role || "<default>"}"`,
        );
      }
    }
    const before = st.primary;
    if (previous) st.live.delete(previous);
    st.live.add(c);
    if (c.electionId !== undefined && (st.highestSeen === undefined || c.electionId > st.highestSeen)) st.highestSeen = c.electionId;
    st.primary = highest(st.live);
    // A new primary, or the primary changing its id, is news for everybody;
    // a backup joining or changing its id hears alone.
    const everybody = st.primary !== before || st.primary === c || (previous !== undefined && before === previous);
    return everybody ? this.notices(st) : this.notices(st).filter((n) => n.to === c);
  }

  /** Removes a closed stream; if it was primary, the next highest takes over. */
  remove(c: C): ArbitrationNotice<C>[] {
    const st = this.roles.get(c.role);
    if (!st?.live.has(c)) return [];
    st.live.delete(c);
    if (st.primary !== c) return [];
    st.primary = highest(st.live);
    return this.notices(st);
  }

  candidates(role?: string): C[] {
    if (role !== undefined) return [...(this.roles.get(role)?.live ?? [])];
    return [...this.roles.values()].flatMap((s) => [...s.live]);
  }

  private notices(st: RoleState<C>): ArbitrationNotice<C>[] {
    const p = st.primary;
    const id = p ? p.electionId : st.highestSeen;
    return [...st.live].map((to) => ({
      to,
      ...(id !== undefined ? { electionId: id } : {}),
      code: to === p ? Code.OK : p ? Code.ALREADY_EXISTS : Code.NOT_FOUND,
      message: to === p ? "is primary" : p ? "is backup" : "no primary",
    }));
  }
}

function highest<C extends Candidate>(set: ReadonlySet<C>): C | undefined {
  let best: C | undefined;
  for (const c of set) {
    if (c.electionId === undefined) continue; // an unset election id never becomes primary
    if (!best || c.electionId > best.electionId!) best = c;
  }
  return best;
}
