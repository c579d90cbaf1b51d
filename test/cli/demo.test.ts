/**
 * `p4cast demo` and protection coverage: a topology whose always-redundant
 * last hop cannot be protected (line3) is reported by `topology check`, and
 * its demo explains the loss there as expected (exit 0 in both output
 * formats); on mesh8 every client gets every packet; the output carries
 * progress, units, the detection time and the repair as "N writes on M
 * switches"; the demo says which target ran.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { loadTopology } from "../../src/controller/topology/load.js";
import { unprotectedLastHops } from "../../src/cli/coverage.js";
import { bmv2NetworkUnavailable } from "../../src/lab/bmv2-network.js";
import { onPath } from "../../src/lab/on-path.js";
import { p4cast, repoRoot } from "./cli.js";

const line3 = join(repoRoot, "examples", "line3.yaml");
const mesh8 = join(repoRoot, "examples", "mesh8.yaml");

describe("protection coverage", () => {
  it("finds line3's last hop s3 unprotected (its overlay shares both links of the branch) and every mesh8 last hop protected", () => {
    expect(unprotectedLastHops(loadTopology(line3))).toEqual([
      { session: 1, lastHop: "s3", sharedLinks: ["s1:2-s2:1", "s2:2-s3:3"], noOverlay: false },
    ]);
    expect(unprotectedLastHops(loadTopology(mesh8))).toEqual([]);
  });

  it("topology check warns about it, naming the session and the last hop (exit 0)", async () => {
    const [a, b] = await Promise.all([p4cast(["topology", "check", line3]), p4cast(["topology", "check", mesh8])]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/\(3 switches, 3 hosts, 2 links, 1 session\)/);
    expect(a.stdout).toMatch(/warning: protection coverage: session 1 \(always-redundant\): last hop s3 is not protected/);
    expect(b.code).toBe(0);
    expect(b.stdout).not.toMatch(/warning/);
  });
});

describe("p4cast demo", { timeout: 240_000 }, () => {
  const expectedTarget = !onPath("simple_switch_grpc")
    ? /on embedded switches \(simple_switch_grpc is not on PATH\)/
    : bmv2NetworkUnavailable()
      ? /on embedded switches \(simple_switch_grpc is on PATH, but /
      : /on simple_switch_grpc \(BMv2\)/;

  it("line3: loss at the unprotected last hop is explained as expected; exit 0 in table and json output", async () => {
    const [t, j] = await Promise.all([
      p4cast(["demo", "-t", line3, "--packets", "200"], { timeoutMs: 200_000 }),
      p4cast(["demo", "-t", line3, "--packets", "200", "--output", "json"], { timeoutMs: 200_000 }),
    ]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(expectedTarget);
    expect(t.stdout).toMatch(/line3: 3 switches, 1 session, on /);
    expect(t.stdout).toMatch(/warning: protection coverage: session 1 .*last hop s3 is not protected/);
    expect(t.stdout).toMatch(/always-redundant \(unprotected\)/);
    expect(t.stdout).toMatch(
      /lost packets because session 1 last hop s3 is unprotected: no overlay path avoids s2:2-s3:3 \(expected, not a failure/,
    );
    expect(t.stdout).not.toMatch(/LOSS OR DUPLICATES/);
    expect(j.code, j.stderr).toBe(0);
    const r = j.json<{ ok: boolean; verdict: string; clients: { client: string; protected: boolean; lost: number }[] }>();
    expect(r.ok).toBe(true);
    expect(r.verdict).toBe("ok (loss only at unprotected last hops)");
    expect(r.clients.map((c) => [c.client, c.protected, c.lost > 0])).toEqual([
      ["h2", false, true],
      ["h3", false, true],
    ]);
  });

  it("mesh8: progress, units, detection time, and the repair as writes on switches", async () => {
    const r = await p4cast(["demo", "-t", mesh8, "--packets", "300"], { timeoutMs: 200_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(expectedTarget);
    expect(r.stdout).toMatch(/mesh8: 8 switches, 2 sessions, on /);
    expect(r.stdout).toMatch(/sent 75\/300 packets per session \(25%\)/);
    expect(r.stdout).toMatch(/packet 150: cut s4:3-s6:3/);
    expect(r.stdout).toMatch(/│ \d+ packets\s+│ \d+ packets\s+│ \d+ packets\s+│ \d+ packets\s+│ \d+ packets \/ \d+ ms\s+│/);
    expect(r.stdout).toMatch(/detection: the heartbeats declared s4:3-s6:3 down \d+\.\d ms after the cut/);
    // The cut's repair; the overlay switch-over is in it unless a link flap a busy machine saw before the cut
    // (its own failover line) had already switched the overlay on.
    const overlay = /(overlay switched on \d+\.\d ms after the heartbeat verdict, )?/.source;
    const repaired = /repaired with \d+ writes on \d+ switch(es)?: new ways ready \d+\.\d ms after the heartbeat verdict/.source;
    const drained = / \(\d+\.\d ms after the cut\), old ways gone after \d+\.\d ms/.source;
    expect(r.stdout).toMatch(new RegExp(`failover: s4:3-s6:3 down: ${overlay}${repaired}${drained}`));
    expect(r.stdout).toMatch(/failover: \S+ down: overlay switched on \d+\.\d ms after the heartbeat verdict, repaired with/);
    expect(r.stdout).not.toMatch(/on s\d+, s\d+/);
    expect(r.stdout).toMatch(/always-redundant sessions: every client got every packet exactly once/);
  });

  it("--target bmv2 runs on simple_switch_grpc, or says why it cannot (exit 1)", async () => {
    const why = bmv2NetworkUnavailable();
    const r = await p4cast(["demo", "-t", line3, "--packets", "100", "--target", "bmv2"], { timeoutMs: 200_000 });
    if (why) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot run the topology on BMv2: ${why}`);
      expect(r.stderr).toMatch(/hint: use --target embedded/);
    } else {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/on simple_switch_grpc \(BMv2\) \(--target bmv2\)/);
    }
  });
});
