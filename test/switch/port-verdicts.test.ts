/**
 * Port status with several causes (src/switch/engine/port-status.ts) and
 * heartbeat verdicts as port status (src/switch/port-verdicts.ts): a port is
 * up only when no cause holds it down; p4cast's verdict digest marks the
 * port its packet crosses (the request's way out for "down", the response's
 * way in for "up"); a new pipeline clears the verdicts but not the carrier.
 */
import { describe, expect, it } from "vitest";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import { PortStatus } from "../../src/switch/engine/port-status.js";
import { P4CAST_VERDICT_DIGEST, PortVerdicts } from "../../src/switch/port-verdicts.js";

describe("port status causes", () => {
  it("a port is down while any cause holds it, and listeners hear only changes", () => {
    const ps = new PortStatus();
    const heard: string[] = [];
    ps.onChange((p, up) => heard.push(`${p} ${up ? "up" : "down"}`));
    expect(ps.set(3, false, "link")).toBe(true);
    expect(ps.set(3, false, "verdict")).toBe(false);
    expect(ps.causes(3)).toEqual(["link", "verdict"]);
    expect(ps.set(3, true, "link")).toBe(false);
    expect(ps.isUp(3)).toBe(false);
    expect(ps.set(3, true, "verdict")).toBe(true);
    expect(ps.isUp(3)).toBe(true);
    // Up for a cause that never held it is no change.
    expect(ps.set(3, true, "api")).toBe(false);
    expect(heard).toEqual(["3 down", "3 up"]);
  });

  it("clear(cause) lifts that cause everywhere and returns the ports that came up", () => {
    const ps = new PortStatus();
    ps.set(1, false, "verdict");
    ps.set(2, false, "verdict");
    ps.set(2, false, "link");
    ps.set(5, false, "api");
    expect(ps.clear("verdict")).toEqual([1]);
    expect(ps.downPorts()).toEqual([2, 5]);
    expect(ps.causes(2)).toEqual(["link"]);
  });
});

describe("heartbeat verdicts as port status", async () => {
  const index = new P4InfoIndex((await loadPipeline()).p4info);
  const DOWN = 1n;
  const UP = 0n;
  /** Port status and p4cast's verdicts on it, with the pipeline loaded. */
  const started = () => {
    const ps = new PortStatus();
    const v = new PortVerdicts(ps, P4CAST_VERDICT_DIGEST);
    v.pipeline(index);
    return { ps, v };
  };
  // hb_verdict_digest_t: peer_index, state, seq.
  const digest = (state: bigint, ports: { ingressPort: number; egressPort?: number }, peer = 4n) => ({
    name: P4CAST_VERDICT_DIGEST,
    values: [peer, state, 17n],
    ...ports,
  });

  it("down marks the port a request leaves by; up clears the port a response came in on", () => {
    const { ps, v } = started();
    // A request copy (recirculated, so it came in on some internal port) leaves for the peer on port 3.
    v.receive(digest(DOWN, { ingressPort: 0, egressPort: 3 }));
    expect(ps.isUp(3)).toBe(false);
    expect(ps.causes(3)).toEqual(["verdict"]);
    // The peer's response comes in on port 3 and ends there (no egress port).
    v.receive(digest(UP, { ingressPort: 3 }));
    expect(ps.isUp(3)).toBe(true);
  });

  it("other digests, unknown states and a digest of another name leave ports alone", () => {
    const { ps, v } = started();
    v.receive({ name: "mac_learn_digest", values: [1n, 1n, 1n], ingressPort: 2, egressPort: 3 });
    v.receive(digest(7n, { ingressPort: 0, egressPort: 3 }));
    expect(ps.downPorts()).toEqual([]);
    // A switch told of a digest its pipeline does not have does nothing with it either.
    const other = new PortVerdicts(ps, "no_such_digest");
    other.pipeline(index);
    other.receive({ name: "no_such_digest", values: [0n, 1n, 0n], ingressPort: 1, egressPort: 3 });
    expect(ps.downPorts()).toEqual([]);
  });

  it("verdicts are per peer: a peer renumbered onto another port moves its mark, and its answer lifts it", () => {
    const { ps, v } = started();
    v.receive(digest(DOWN, { ingressPort: 0, egressPort: 1 }, 0n));
    expect(ps.downPorts()).toEqual([1]);
    // The controller renumbered its peers (same pipeline): index 0 is now port 2's peer, and a REPORT says it is down.
    v.receive(digest(DOWN, { ingressPort: 0, egressPort: 2 }, 0n));
    expect(ps.downPorts()).toEqual([2]);
    // Port 2's peer answers: up, and nothing is left marked.
    v.receive(digest(UP, { ingressPort: 2 }, 0n));
    expect(ps.downPorts()).toEqual([]);
  });

  it("a port judged down for two peers comes up only when both answer", () => {
    const { ps, v } = started();
    v.receive(digest(DOWN, { ingressPort: 0, egressPort: 5 }, 1n));
    v.receive(digest(DOWN, { ingressPort: 0, egressPort: 5 }, 2n));
    v.receive(digest(UP, { ingressPort: 5 }, 1n));
    expect(ps.isUp(5)).toBe(false);
    v.receive(digest(UP, { ingressPort: 5 }, 2n));
    expect(ps.isUp(5)).toBe(true);
  });

  it("a new pipeline starts with its peers up: the verdicts clear, the carrier stays", () => {
    const { ps, v } = started();
    v.receive(digest(DOWN, { ingressPort: 0, egressPort: 3 }));
    v.receive(digest(DOWN, { ingressPort: 0, egressPort: 4 }));
    ps.set(4, false, "link");
    v.pipeline(index);
    expect(ps.downPorts()).toEqual([4]);
    expect(ps.causes(4)).toEqual(["link"]);
  });
});
