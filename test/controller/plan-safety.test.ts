/**
 * A deploy plans every switch before it writes to any: a topology that
 * cannot be planned (two different entries for one key on a switch) fails
 * with the topology paths that caused it, and every switch keeps what the
 * previous deploy wrote.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { P4RuntimeClient } from "../../src/client/client.js";
import { Controller } from "../../src/controller/controller.js";
import { readState, type SwitchState } from "../../src/controller/deploy/reconcile.js";
import { EmbeddedNetwork } from "../../src/controller/lab/embedded-network.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import { type Topology, TopologySchema } from "../../src/controller/topology/schema.js";

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

const text = (m: Map<string, SwitchState>) =>
  JSON.stringify(
    [...m].map(([n, s]) => [n, [...s.entries].map(([k, e]) => [k, e.value]).sort(), [...s.groups].sort(([a], [b]) => a - b), [...s.meters.keys()].sort()]),
    (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
  );

describe("a deploy that cannot be planned writes nothing", { timeout: 60_000 }, () => {
  it("two hosts with one IPv4 address on s3: the deploy fails naming both, every switch keeps the previous deploy", async () => {
    const base = loadTopology(fixture("base-line3.yaml"));
    const net = await EmbeddedNetwork.start(base);
    cleanup.push(() => net.stop());
    const first = await controller(base, net, 10n);
    expect((await first.deploy()).writes).toBeGreaterThan(20);
    await first.close();
    const before = await snapshot(net, base);

    const bad = shapeOnly("duplicate-host-ipv4.yaml");
    const second = await controller(bad, net, 11n);
    const err = await second.deploy().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain("hosts[1].ipv4");
    expect(err!.message).toContain("hosts[4].ipv4");
    expect(err!.message).toContain("10.0.3.2");
    // Nothing was written anywhere: s1 and s2 (which the new topology changes too) are as the first deploy left them.
    expect(text(await snapshot(net, base))).toBe(text(before));
  });
});
