/**
 * A deploy plans every switch before it writes to any: a topology that
 * cannot be planned (two different entries for one key on a switch) fails
 * with the topology paths that caused it, and every switch keeps what the
 * previous deploy wrote.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { P4RuntimeClient } from "../../src/client/client.js";
import { Controller } from "../../src/controller/controller.js";
import { readState, type SwitchState } from "../../src/controller/deploy/reconcile.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import { type Topology, TopologySchema } from "../../src/controller/topology/schema.js";
import { isPlanError } from "../../src/controller/plan/plan-error.js";
import { p4cast } from "../cli/cli.js";
import { checkIntents } from "../../src/controller/deploy/reconcile.js";
import { T, emptyIntent } from "../../src/controller/plan/intent.js";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import type { TableEntryInput } from "../../src/client/entities/table-entry.js";

const fixture = (name: string) => `test/controller/fixtures/${name}`;
/** The file's shape only, without the cross-checks: what a program may hand the Controller directly. */
const shapeOnly = (name: string): Topology => TopologySchema.parse(parseYaml(readFileSync(fixture(name), "utf8")));

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function controller(t: Topology, net: EmbeddedNetwork, electionId: bigint): Promise<Controller> {
  const ctl = new Controller({ topology: t, pipeline: await loadPipeline(), grpcAddress: net.grpcAddress, electionId });
  cleanup.push(() => ctl.close());
  await ctl.connect();
  return ctl;
}

/** Every switch's entries, groups and meters, read by a backup client. */
async function snapshot(net: EmbeddedNetwork, t: Topology): Promise<Map<string, SwitchState>> {
  const out = new Map<string, SwitchState>();
  for (const s of t.switches) {
    const c = await P4RuntimeClient.connect({ address: net.grpcAddress(s), deviceId: BigInt(s.deviceId), electionId: 1n });
    try {
      out.set(s.name, await readState(c));
    } finally {
      c.close();
    }
  }
  return out;
}

async function deployError(ctl: Controller): Promise<Error> {
  const err = await ctl.deploy().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error("the deploy succeeded");
  return err;
}

/** A base deploy by a first controller, then the switches as it left them. */
async function deployBase(): Promise<{ net: EmbeddedNetwork; base: Topology; before: Map<string, SwitchState> }> {
  const base = loadTopology(fixture("base-line3.yaml"));
  const net = await EmbeddedNetwork.start(base);
  cleanup.push(() => net.stop());
  const first = await controller(base, net, 10n);
  expect((await first.deploy()).writes).toBeGreaterThan(20);
  await first.close();
  return { net, base, before: await snapshot(net, base) };
}

const text = (m: Map<string, SwitchState>) =>
  JSON.stringify(
    [...m].map(([n, s]) => [
      n,
      [...s.entries].map(([k, e]) => [k, e.value]).sort(),
      [...s.groups].sort(([a], [b]) => a - b),
      [...s.meters.keys()].sort(),
    ]),
    (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
  );

describe("checkIntents: every switch against the P4Info, before any switch is contacted", () => {
  it("names the origin and value of what the P4Info refuses, and both sides of a key clash (with or without an origin)", async () => {
    const index = new P4InfoIndex((await loadPipeline()).p4info);
    const a = emptyIntent("s1");
    const wide: TableEntryInput = {
      table: T.nexthop,
      match: { nexthop_id: 3 },
      action: { name: "forward_to_neighbor", params: { port: 4096, src_mac: "02:50:00:00:01:03", dst_mac: "00:00:00:00:00:01" } },
    };
    a.entries.push(wide);
    a.origins!.entries.set(wide, "hosts[2].attach");
    const b = emptyIntent("s2");
    const r1: TableEntryInput = {
      table: T.routeV4,
      match: { dst_addr: "10.9.0.0/16" },
      action: { name: "route_to_nexthop", params: { nexthop_id: 1 } },
    };
    const r2: TableEntryInput = {
      table: T.routeV4,
      match: { dst_addr: "10.9.0.0/16" },
      action: { name: "route_to_nexthop", params: { nexthop_id: 2 } },
    };
    const same: TableEntryInput = { ...r1 };
    b.entries.push(r1, same, r2);
    b.origins!.entries.set(r2, "sessions[0].clients[1]");
    let err: unknown;
    try {
      checkIntents(index, [a, b]);
    } catch (e) {
      err = e;
    }
    expect(isPlanError(err)).toBe(true);
    if (!isPlanError(err)) return;
    expect(err.problems.map((p) => [p.switch, ...p.paths])).toEqual([
      ["s1", "hosts[2].attach"],
      ["s2", "sessions[0].clients[1]"],
    ]);
    expect(err.problems[0]!.message).toMatch(
      /^hosts\[2\]\.attach: an entry of ingress\.l3\.nexthop_exact is refused by the P4Info: .*port.*4096/,
    );
    // The identical entry is merged; the different one is the clash.
    expect(err.problems[1]!.message).toBe(
      "two different entries for one key, ingress.l3.ipv4_lpm dst_addr=10.9.0.0/16: " +
        "an entry with no recorded origin wants ingress.l3.route_to_nexthop(nexthop_id=1), " +
        "sessions[0].clients[1] wants ingress.l3.route_to_nexthop(nexthop_id=2)",
    );
    // Without the clash and the refusal: accepted.
    expect(() => checkIntents(index, [{ ...b, entries: [r1, same] }])).not.toThrow();
  });
});

describe("a deploy that cannot be planned writes nothing", { timeout: 60_000 }, () => {
  it("two hosts with one IPv4 address on s3: the deploy fails naming both, every switch keeps the previous deploy", async () => {
    const { net, base, before } = await deployBase();
    // The file's cross-checks refuse it now; a program may still hand the Controller such a topology.
    const bad = shapeOnly("duplicate-host-ipv4.yaml");
    const err = await deployError(await controller(bad, net, 11n));
    expect(isPlanError(err)).toBe(true);
    expect(err.message).toContain(
      "s3: two different entries for one key, ingress.l3.ipv4_lpm dst_addr=10.0.3.2/32: " +
        "hosts[1].ipv4 wants ingress.l3.route_to_nexthop(nexthop_id=1), hosts[4].ipv4 wants ingress.l3.route_to_nexthop(nexthop_id=4)",
    );
    // Nothing was written anywhere: s1 and s2 (which the new topology changes too) are as the first deploy left them.
    expect(text(await snapshot(net, base))).toBe(text(before));
  });

  it("a file that passes the checks but maps one IPv4 address twice: PlanError naming both mappings, nothing written", async () => {
    const { net, base, before } = await deployBase();
    const bad = loadTopology(fixture("duplicate-mapping.yaml"));
    const ctl = await controller(bad, net, 11n);
    const err = await deployError(ctl);
    expect(isPlanError(err)).toBe(true);
    if (!isPlanError(err)) return;
    expect(err.problems.map((p) => [p.switch, ...p.paths])).toEqual([
      ["s2", "translation.mappings[0]", "translation.mappings[1]"],
      ["s2", "translation.mappings[0]", "translation.mappings[1]"],
    ]);
    expect(err.message).toContain(
      "ingress.nat64.xlate_v4_dst_lpm dst_addr=192.0.2.1/32: " +
        "translation.mappings[0] wants ingress.nat64.xlate_v4_dst_explicit(addr=2001:db8::1), " +
        "translation.mappings[1] wants ingress.nat64.xlate_v4_dst_explicit(addr=2001:db8::2)",
    );
    expect(text(await snapshot(net, base))).toBe(text(before));
    // The failed deploy left no plan behind: the controller has none yet.
    expect(ctl.currentPlan).toBeUndefined();
  });

  it("p4cast deploy: a plan error is exit 2 with the paths and no stack trace, and no switch is written", async () => {
    const base = loadTopology(fixture("base-line3.yaml"));
    const net = await EmbeddedNetwork.start(base);
    cleanup.push(() => net.stop());
    const dir = mkdtempSync(join(tmpdir(), "p4cast-plan-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    // The fixtures with the embedded switches' addresses.
    const atNet = (name: string) => {
      let t = readFileSync(fixture(name), "utf8");
      for (const s of base.switches) t = t.replace(s.grpc, net.grpcAddress(s));
      const f = join(dir, name);
      writeFileSync(f, t);
      return f;
    };
    const ok = await p4cast(["deploy", "-t", atNet("base-line3.yaml"), "--output", "json"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json<{ writes: number }>().writes).toBeGreaterThan(20);
    const before = await snapshot(net, base);

    const check = await p4cast(["topology", "check", atNet("duplicate-mapping.yaml")]);
    expect(check.code, check.stderr).toBe(0);
    const r = await p4cast(["deploy", "-t", atNet("duplicate-mapping.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^p4cast: error: the topology cannot be planned \(2 problems\):\n/);
    expect(r.stderr).toContain(
      "s2: two different entries for one key, ingress.nat64.xlate_v4_dst_lpm dst_addr=192.0.2.1/32: translation.mappings[0] wants",
    );
    expect(r.stderr).toContain("hint: fix the topology file at the paths named; no switch was written");
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(text(await snapshot(net, base))).toBe(text(before));

    // The clash the file's checks catch: exit 2 naming both paths, no stack trace.
    const dup = await p4cast(["deploy", "-t", atNet("duplicate-host-ipv4.yaml")]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain("hosts[4].ipv4: 10.0.3.2 is also hosts[1].ipv4");
    expect(dup.stderr).not.toMatch(/^\s+at /m);
    expect(text(await snapshot(net, base))).toBe(text(before));
  });
});
