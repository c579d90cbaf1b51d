/**
 * Link verdicts from heartbeats, where silence does not mean a broken link.
 *
 * - One end's requests do not leave (its P4Runtime stream or its switch
 *   stalls on a busy machine): that end hears nothing, but the other end
 *   still hears its replies, so the link is not declared down. A real cut
 *   then is.
 * - A switch all of whose watches trip at once while its neighbours are not
 *   judged (their reads stall too) is no witness against its links: nothing
 *   is declared. A cut that its other end confirms still is.
 * - A standby controller (backup on every switch) keeps its own verdicts
 *   from what the primary's requests bring back. When no request is sent at
 *   all (the primary is gone or holds the switches without sending), the
 *   standby must declare nothing down, or it takes over with every link
 *   down and tears the trees apart. A real cut while the primary sends is
 *   still seen by the standby.
 */
import { afterEach, describe, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { Controller } from "../../src/controller/controller.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import type { Topology } from "../../src/controller/topology/schema.js";
import type { HeartbeatMonitor } from "../../src/controller/runtime/heartbeat.js";

/**
 * The switches, the controller and the test share one process: a late
 * interval is this process being busy, which delays the verdicts and the
 * packets alike. 200 ms keeps the suite's checks about heartbeat logic, not
 * about how loaded the machine is.
 */
const INTERVAL_MS = 200;

function topology(): Topology {
  const t = loadTopology("examples/mesh8.yaml");
  return { ...t, heartbeat: { intervalMs: INTERVAL_MS, missThreshold: 3, mode: "fast" } };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

async function controller(t: Topology, net: EmbeddedNetwork, electionId: bigint): Promise<Controller> {
  const ctl = new Controller({ topology: t, pipeline: await loadPipeline(), grpcAddress: net.grpcAddress, electionId, allowBackup: true });
  cleanup.push(() => ctl.close());
  await ctl.connect();
  return ctl;
}

/** Waits until every switch's interval has been judged `n` more times by `hb`. */
async function intervals(hb: HeartbeatMonitor, n: number): Promise<void> {
  const start = hb.stats.intervals;
  const deadline = performance.now() + 60_000;
  while (hb.stats.intervals - start < n) {
    if (performance.now() > deadline) throw new Error(`the heartbeat loop ran ${hb.stats.intervals - start} of ${n} intervals in 60 s`);
    await new Promise((r) => setTimeout(r, INTERVAL_MS));
  }
}

/** mesh8 on embedded switches, deployed by one controller whose heartbeats run and have declared nothing for 6 intervals. */
async function watching() {
  const t = topology();
  const net = await EmbeddedNetwork.start(t);
  cleanup.push(() => net.stop());
  const ctl = await controller(t, net, 10n);
  await ctl.deploy();
  const hb = ctl.startHeartbeats();
  const downs: string[] = [];
  hb.on("linkDown", (e) => downs.push(`${e.name} (seen from ${e.detectedBy})`));
  await intervals(hb, 6);
  expect(downs).toEqual([]);
  return { t, net, ctl, hb, downs };
}

describe("heartbeat verdicts of one controller", () => {
  it("one end whose requests do not leave declares nothing; a real cut of its link is still declared", async () => {
    const { t, net, ctl, hb, downs } = await watching();

    // s1's packet-outs are lost on the way (a stalled stream): its watches hear nothing.
    const s1 = ctl.clients.get("s1")!;
    const send = s1.sendPacketRaw.bind(s1);
    s1.sendPacketRaw = () => undefined;
    await intervals(hb, 4 * t.heartbeat.missThreshold);
    const s1Watches = hb.watches().filter((w) => w.switch === "s1");
    expect(
      s1Watches.every((w) => w.down),
      "s1's own watches tripped",
    ).toBe(true);
    expect(downs, "the neighbours still hear s1's replies: no link is down").toEqual([]);
    expect(ctl.state().downLinks).toEqual([]);

    // A real cut of s1's first link while s1 still sends nothing: the neighbour's end agrees now.
    const link = t.links.findIndex((l) => l.ends.some((e) => e.switch === "s1"));
    net.link(link).cut();
    await intervals(hb, t.heartbeat.missThreshold + 3);
    expect(ctl.state().downLinks.map((l) => l.link)).toEqual([link]);

    // s1 sends again and the link returns: both come up.
    s1.sendPacketRaw = send;
    net.link(link).restore();
    await intervals(hb, 4);
    expect(ctl.state().downLinks).toEqual([]);
  }, 120_000);
});

describe("heartbeat verdicts of a starved switch", () => {
  it("a switch all of whose watches trip while its neighbours' reads stall declares nothing; a confirmed cut still counts", async () => {
    const { t, net, ctl, hb, downs } = await watching();

    // s8 (two links) is starved: its requests do not leave, so every watch of it trips. Its neighbours' counter
    // reads stall at the same time (a busy machine), so neither of them is judged and neither vouches.
    const s8Links = t.links.flatMap((l, i) => (l.ends.some((e) => e.switch === "s8") ? [i] : []));
    expect(s8Links.length).toBeGreaterThanOrEqual(2);
    const neighbours = s8Links.map((i) => t.links[i]!.ends.find((e) => e.switch !== "s8")!.switch);
    const s8 = ctl.clients.get("s8")!;
    const send = s8.sendPacketRaw.bind(s8);
    s8.sendPacketRaw = () => undefined;
    const reads = new Map(neighbours.map((n) => [n, ctl.clients.get(n)!.readRaw.bind(ctl.clients.get(n)!)]));
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((r) => (release = r));
    for (const n of neighbours) {
      const c = ctl.clients.get(n)!;
      c.readRaw = async function* () {
        await stalled;
        yield* [];
      } as typeof c.readRaw;
    }
    await intervals(hb, 4 * t.heartbeat.missThreshold);
    expect(
      hb
        .watches()
        .filter((w) => w.switch === "s8")
        .every((w) => w.down),
      "s8's own watches tripped",
    ).toBe(true);
    expect(downs, "s8 alone, with every watch silent, is no witness against its links").toEqual([]);

    // The neighbours are judged again; then one of s8's links is really cut: its other end misses too.
    for (const [n, read] of reads) ctl.clients.get(n)!.readRaw = read;
    release();
    await intervals(hb, 4);
    expect(downs).toEqual([]);
    net.link(s8Links[0]!).cut();
    await intervals(hb, t.heartbeat.missThreshold + 3);
    expect(ctl.state().downLinks.map((l) => l.link)).toEqual([s8Links[0]]);

    s8.sendPacketRaw = send;
    net.link(s8Links[0]!).restore();
    await intervals(hb, 4);
    expect(ctl.state().downLinks).toEqual([]);
  }, 120_000);
});

describe("heartbeats of a standby controller", () => {
  it("declares nothing down while nobody sends requests, and still sees a real cut while the primary sends", async () => {
    const t = topology();
    const net = await EmbeddedNetwork.start(t);
    cleanup.push(() => net.stop());
    const primary = await controller(t, net, 20n);
    await primary.deploy();
    const primaryHb = primary.startHeartbeats();
    const standby = await controller(t, net, 10n);
    const hb = standby.startHeartbeats();
    const downs: string[] = [];
    hb.on("linkDown", (e) => downs.push(`${e.name} (seen from ${e.detectedBy})`));

    // The primary sends: the standby hears responses on its watches and declares nothing.
    await intervals(hb, 8);
    expect(downs).toEqual([]);
    expect(hb.watches().filter((w) => w.responses !== undefined && w.responses > 0n).length).toBeGreaterThan(0);

    // A third client takes every switch and sends nothing: both controllers are standbys with no requests.
    primaryHb.stop();
    const holders = await Promise.all(
      t.switches.map((s) =>
        P4RuntimeClient.connect({ address: net.grpcAddress(s), deviceId: BigInt(s.deviceId), electionId: 50n, reconnect: false }),
      ),
    );
    cleanup.push(async () => {
      for (const h of holders) h.close();
    });
    expect(holders.every((h) => h.isPrimary)).toBe(true);
    await intervals(hb, 4 * t.heartbeat.missThreshold);
    expect(downs, "silence with no request sent is not a link failure").toEqual([]);
    expect(standby.state().downLinks).toEqual([]);

    // The holder leaves; the primary (election id 20) is primary again and sends again.
    for (const h of holders) h.close();
    const restarted = primary.startHeartbeats();
    cleanup.push(async () => restarted.stop());
    await intervals(hb, 8);
    expect(downs).toEqual([]);

    // A real cut while the primary sends: the standby sees it within the bound.
    const link = t.links[0]!;
    const name = `${link.ends[0].switch}:${link.ends[0].port}-${link.ends[1].switch}:${link.ends[1].port}`;
    net.link(0).cut();
    await intervals(hb, t.heartbeat.missThreshold + 3);
    expect(downs.length, `the cut of ${name} is seen by the standby`).toBeGreaterThan(0);
    expect(standby.state().downLinks.map((l) => l.link)).toEqual([0]);
  }, 120_000);
});
