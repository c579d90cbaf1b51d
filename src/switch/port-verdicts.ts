/**
 * Heartbeat verdicts as port status (embedded switch). A program whose data
 * plane judges its links' peers (p4cast's `hb_verdict_digest_t`, heartbeat
 * mode `dataplane`) tells the switch with a digest whose struct has a
 * `state` member: 1, the peer stopped answering; 0, it answers again. The
 * switch marks the link's port down (cause `verdict`) or clears that, so
 * the packet replication engine moves the link's replicas to their backups
 * at the next packet, with no controller round trip; the controller still
 * gets the digest and repairs at leisure.
 *
 * The port is the one the digest's packet crosses: the port a request
 * leaves by (a "down" is judged as the request for the silent peer goes
 * out), else the port it came in on (an "up" is judged on the peer's
 * response, which ends there). A new pipeline starts with every peer up:
 * its verdicts clear.
 */
import type { P4InfoIndex } from "../p4runtime/p4info/index.js";
import type { DigestMessage, PortStatus } from "./engine/index.js";

/** The verdict digest of p4cast's own program (p4/v1model/arch.p4): the switch's default. */
export const P4CAST_VERDICT_DIGEST = "hb_verdict_digest_t";

export class PortVerdicts {
  /** The position of `state` among the digest's values; undefined: the pipeline has no such digest. */
  private stateAt: number | undefined;

  constructor(
    private readonly status: PortStatus,
    /** The digest's name in the P4Info (and the BMv2 JSON's learn list). */
    readonly digest: string,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** A pipeline was installed: find the digest in it and clear the previous pipeline's verdicts. */
  pipeline(index: P4InfoIndex): void {
    this.stateAt = undefined;
    const d = index.digests.find(this.digest);
    const struct = d?.typeSpec?.typeSpec.case === "struct" ? d.typeSpec.typeSpec.value.name : undefined;
    const members = struct ? (index.p4info.typeInfo?.structs[struct]?.members ?? []) : [];
    const at = members.findIndex((m) => m.name === "state");
    if (at >= 0) this.stateAt = at;
    else if (d) this.log(`digest ${this.digest} has no member "state": its verdicts do not set port status`);
    for (const port of this.status.clear("verdict")) this.log(`port ${port}: its verdict cleared with the new pipeline`);
  }

  /** Every digest the engine makes, before it goes to the controller. */
  receive(d: DigestMessage): void {
    if (this.stateAt === undefined || d.name !== this.digest) return;
    const state = d.values[this.stateAt];
    const port = d.egressPort ?? d.ingressPort;
    if (port === undefined || (state !== 0n && state !== 1n)) return;
    if (this.status.set(port, state === 0n, "verdict"))
      this.log(`port ${port}: peer judged ${state === 0n ? "up" : "down"} by the data plane`);
  }
}
