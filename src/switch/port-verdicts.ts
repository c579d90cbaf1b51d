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
 * response, which ends there). Verdicts are kept per peer (the digest's
 * `peer_index`): a peer's "up" clears the port its "down" marked, and a
 * "down" of a peer already marked on another port (the controller numbered
 * its peers anew) moves the mark. A new pipeline starts with every peer up:
 * its verdicts clear. A verdict otherwise holds until the data plane judges
 * the peer up again, which needs its heartbeat requests: a controller.
 */
import type { P4InfoIndex } from "../p4runtime/p4info/index.js";
import type { DigestMessage, PortStatus } from "./engine/index.js";

/** The verdict digest of p4cast's own program (p4/v1model/arch.p4): the switch's default. */
export const P4CAST_VERDICT_DIGEST = "hb_verdict_digest_t";

export class PortVerdicts {
  /** The positions of `state` and `peer_index` among the digest's values; undefined: the pipeline has no such digest. */
  private stateAt: number | undefined;
  private peerAt: number | undefined;
  /** Peer index → the port its "down" marked. */
  private readonly marked = new Map<bigint, number>();

  constructor(
    private readonly status: PortStatus,
    /** The digest's name in the P4Info (and the BMv2 JSON's learn list). */
    readonly digest: string,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** A pipeline was installed: find the digest in it and clear the previous pipeline's verdicts. */
  pipeline(index: P4InfoIndex): void {
    this.stateAt = undefined;
    this.peerAt = undefined;
    this.marked.clear();
    const d = index.digests.find(this.digest);
    const struct = d?.typeSpec?.typeSpec.case === "struct" ? d.typeSpec.typeSpec.value.name : undefined;
    const members = struct ? (index.p4info.typeInfo?.structs[struct]?.members ?? []) : [];
    const state = members.findIndex((m) => m.name === "state");
    const peer = members.findIndex((m) => m.name === "peer_index");
    if (state >= 0 && peer >= 0) {
      this.stateAt = state;
      this.peerAt = peer;
    } else if (d) this.log(`digest ${this.digest} lacks a member "state" or "peer_index": its verdicts do not set port status`);
    for (const port of this.status.clear("verdict")) this.log(`port ${port}: its verdict cleared with the new pipeline`);
  }

  /** Every digest the engine makes, before it goes to the controller. */
  receive(d: DigestMessage): void {
    if (this.stateAt === undefined || this.peerAt === undefined || d.name !== this.digest) return;
    const state = d.values[this.stateAt];
    const peer = d.values[this.peerAt];
    const port = d.egressPort ?? d.ingressPort;
    if (port === undefined || peer === undefined || (state !== 0n && state !== 1n)) return;
    const before = this.marked.get(peer);
    if (state === 1n) {
      if (before !== undefined && before !== port) this.unmark(before, peer);
      this.marked.set(peer, port);
      if (this.status.set(port, false, "verdict")) this.log(`port ${port}: peer ${peer} judged down by the data plane`);
    } else {
      this.marked.delete(peer);
      // The port the peer's "down" marked, and the one its answer came in on, unless another peer holds it.
      for (const p of new Set([before, port])) if (p !== undefined) this.unmark(p, peer);
    }
  }

  /** Lifts the verdict on `port` unless a peer other than `peer` is still judged down there. */
  private unmark(port: number, peer: bigint): void {
    for (const [other, p] of this.marked) if (p === port && other !== peer) return;
    if (this.status.set(port, true, "verdict")) this.log(`port ${port}: peer ${peer} judged up by the data plane`);
  }
}
