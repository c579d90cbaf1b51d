/**
 * Heartbeats with data-plane verdicts (topology heartbeat.mode "dataplane";
 * p4/controls/heartbeat.p4, src/controller/runtime/heartbeat.ts): one
 * packet-out per switch per interval and no reads in steady state; every
 * peer still gets its request; a cut link is declared down from the two
 * ends' digests (one per end and change) and up again the same way; a
 * switch that stops answering while its stream stays open (hung, or deaf
 * and mute) is declared from its neighbours' digests and a probe of it. On
 * the embedded switch and on simple_switch_grpc.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Controller } from "../../src/controller/controller.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import type { HeartbeatMonitor } from "../../src/controller/runtime/heartbeat.js";
import { HB_COUNTER, HB_DIGEST } from "../../src/controller/runtime/heartbeat.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import type { Topology } from "../../src/controller/topology/schema.js";
import { Bmv2Network, bmv2NetworkUnavailable } from "../../src/lab/bmv2-network.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";

/** As in test/controller/heartbeat-verdicts.test.ts: the switches share the machine with the test; 200 ms keeps it about logic. */
const INTERVAL_MS = 200;
const THRESHOLD = 3;

function topology(): Topology {
  const t = loadTopology("examples/mesh8.yaml");
  return { ...t, heartbeat: { intervalMs: INTERVAL_MS, missThreshold: THRESHOLD, mode: "dataplane" } };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

async function intervals(hb: HeartbeatMonitor, n: number): Promise<void> {
  const start = hb.stats.intervals;
  const deadline = performance.now() + 60_000;
  while (hb.stats.intervals - start < n) {
    if (performance.now() > deadline) throw new Error(`the heartbeat loop ran ${hb.stats.intervals - start} of ${n} intervals in 60 s`);
    await new Promise((r) => setTimeout(r, INTERVAL_MS / 4));
  }
}

/** Waits until `done()` or `ms` pass; true when done. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return done();
}

const bmv2Why = bmv2NetworkUnavailable();
if (bmv2Why) console.log(`[p4cast tests] data-plane heartbeat verdicts on BMv2 skipped: ${bmv2Why}`);
const kinds = bmv2Why ? (["embedded"] as const) : (["embedded", "bmv2"] as const);

/** A controller (election id `electionId`) that connected to `net`, deployed `t` and started its heartbeats. */
async function deployed(t: Topology, net: EmbeddedNetwork | Bmv2Network, electionId: bigint) {
  const ctl = new Controller({
    topology: t,
    pipeline: await loadPipeline(),
    grpcAddress: net.grpcAddress,
    electionId,
    ...(net instanceof Bmv2Network ? { thriftAddress: net.thriftAddress } : {}),
  });
  cleanup.push(() => ctl.close());
  await ctl.connect();
  await ctl.deploy();
  return { ctl, hb: ctl.startHeartbeats() };
}

async function watching(kind: (typeof kinds)[number]) {
  const t = topology();
  const net = kind === "embedded" ? await EmbeddedNetwork.start(t) : await Bmv2Network.start(t);
  cleanup.push(() => net.stop());
  const { ctl, hb } = await deployed(t, net, 10n);
  const events: string[] = [];
  hb.on("linkDown", (e) => events.push(`down ${e.name}`));
  hb.on("linkUp", (e) => events.push(`up ${e.name}`));
  await intervals(hb, 6);
  expect(events, "nothing declared while every link works").toEqual([]);
  return { t, net, ctl, hb, events };
}

describe.each(kinds)("heartbeats with data-plane verdicts (%s switches)", (kind) => {
  it("steady state: one packet-out per switch per interval, no reads, no digests; every peer gets its requests", async () => {
    const { t, ctl, hb } = await watching(kind);
    const counts = async () => {
      const out = new Map<string, bigint>();
      for (const [sw, c] of ctl.clients)
        for (const e of await c.readAll({ kind: "counterEntry", counter: HB_COUNTER }))
          if (e.kind === "counterEntry" && e.data.packets > 0n) out.set(`${sw}[${e.index}]`, e.data.packets);
      return out;
    };
    const before = await counts();
    const s0 = { ...hb.stats };
    await intervals(hb, 10);
    const s1 = { ...hb.stats };
    const after = await counts();
    const n = s1.intervals - s0.intervals;
    const switches = t.switches.length;
    console.log(
      `[heartbeat dataplane ${kind}] ${n} intervals, ${switches} switches: ${s1.packetOuts - s0.packetOuts} packet-outs, ` +
        `${s1.reads - s0.reads} reads, ${s1.digests - s0.digests} digests`,
    );
    // Each interval sends one request per switch (an interval under way at either end may be counted on either side).
    expect(s1.packetOuts - s0.packetOuts).toBeGreaterThanOrEqual((n - 1) * switches);
    expect(s1.packetOuts - s0.packetOuts).toBeLessThanOrEqual((n + 1) * switches);
    expect(s1.reads - s0.reads).toBe(0);
    expect(s1.digests - s0.digests).toBe(0);
    // Every watch's response counter moved: every peer got requests and answered them.
    const watches = hb.watches();
    expect(watches.length).toBe(2 * t.links.length);
    for (const w of watches) {
      const peers = ctl.currentPlan!.peers.get(w.switch)!;
      const index = peers.find((p) => p.link === w.link)!.index;
      const key = `${w.switch}[${index}]`;
      expect(after.get(key) ?? 0n, `responses ${w.switch} got from ${w.peer}`).toBeGreaterThan(before.get(key) ?? 0n);
    }
  }, 120_000);

  it("a cut link: one digest per end saying down, declared within (threshold + 1) intervals; restored: one per end saying up", async () => {
    const { t, net, hb, events } = await watching(kind);
    const link = t.links.findIndex((l) => l.ends.some((e) => e.switch === "s4") && l.ends.some((e) => e.switch === "s6"));
    expect(link).toBeGreaterThanOrEqual(0);
    const [a, b] = t.links[link]!.ends;
    const name = `${a.switch}:${a.port}-${b.switch}:${b.port}`;
    const digests = hb.stats.digests;
    const cutAt = performance.now();
    let downAt = 0;
    hb.once("linkDown", () => (downAt = performance.now()));
    net.link(link).cut();
    expect(await until(() => events.includes(`down ${name}`), 10 * INTERVAL_MS), "declared down").toBe(true);
    const detectionMs = downAt - cutAt;
    console.log(`[heartbeat dataplane ${kind}] ${name} cut: declared down after ${detectionMs.toFixed(0)} ms`);
    // Slack for the loaded machine on top of the bound (threshold + 1 intervals).
    expect(detectionMs).toBeLessThan((THRESHOLD + 1) * INTERVAL_MS + 2 * INTERVAL_MS);
    await intervals(hb, 3);
    expect(hb.stats.digests - digests, "one digest per end").toBe(2);
    expect(events).toEqual([`down ${name}`]);

    net.link(link).restore();
    expect(await until(() => events.includes(`up ${name}`), 10 * INTERVAL_MS), "declared up").toBe(true);
    await intervals(hb, 3);
    expect(hb.stats.digests - digests, "and one per end coming back").toBe(4);
    expect(events).toEqual([`down ${name}`, `up ${name}`]);
  }, 120_000);

  it("one end alone judges a working link down: the other end still hears it, so nothing is declared", async () => {
    const { t, ctl, hb, events } = await watching(kind);
    const link = t.links.findIndex((l) => l.ends.some((e) => e.switch === "s4") && l.ends.some((e) => e.switch === "s6"));
    const peer = ctl.currentPlan!.peers.get("s4")!.find((p) => p.link === link)!;
    // What s4's data plane would send if its own requests to s6 stopped getting through (a fault at s4).
    const s4 = ctl.clients.get("s4")!;
    const reads = hb.stats.reads;
    s4.emit("digest", {
      digest: HB_DIGEST,
      listId: 1n,
      timestampNs: 0n,
      data: [{ peer_index: BigInt(peer.index), state: 1n, seq: 1n }],
      raw: [],
    });
    expect(hb.watches().find((w) => w.switch === "s4" && w.link === link)?.down).toBe(true);
    await intervals(hb, 2 * THRESHOLD);
    expect(events, "s6 still hears s4: no verdict").toEqual([]);
    expect(hb.stats.reads - reads, "s6 was probed while s4's trip stood").toBeGreaterThanOrEqual(2);
    // s4 takes it back: the probing stops.
    s4.emit("digest", {
      digest: HB_DIGEST,
      listId: 2n,
      timestampNs: 0n,
      data: [{ peer_index: BigInt(peer.index), state: 0n, seq: 2n }],
      raw: [],
    });
    const settled = hb.stats.reads;
    await intervals(hb, 3);
    expect(hb.stats.reads - settled).toBeLessThanOrEqual(1);
    expect(events).toEqual([]);
  }, 120_000);

  it("a controller that connects after a verdict was taken learns it from the first request's report", async () => {
    const { t, net, ctl, hb, events } = await watching(kind);
    const link = t.links.findIndex((l) => l.ends.some((e) => e.switch === "s4") && l.ends.some((e) => e.switch === "s6"));
    net.link(link).cut();
    expect(await until(() => events.length === 1, 10 * INTERVAL_MS)).toBe(true);
    // The first controller goes; a second one (as after a restart) connects, deploys and watches.
    hb.stop();
    await ctl.close();
    const { hb: hb2 } = await deployed(t, net, 20n);
    const downs: number[] = [];
    hb2.on("linkDown", (e) => downs.push(e.link));
    // The data plane judged the link down long ago and sends no digest for it again unless asked.
    expect(await until(() => downs.includes(link), 4 * INTERVAL_MS), "reported on the first request").toBe(true);
    net.link(link).restore();
    expect(await until(() => hb2.downLinks().length === 0, 10 * INTERVAL_MS), "and up again").toBe(true);
  }, 120_000);

  it("a switch that stops answering with its stream open: its neighbours' digests and a probe of it declare its links", async () => {
    const { t, net, ctl, events } = await watching(kind);
    const sw = "s8";
    const links = t.links.flatMap((l, i) => (l.ends.some((e) => e.switch === sw) ? [i] : []));
    expect(links.length).toBeGreaterThanOrEqual(2);
    const names = links.map((i) => {
      const [a, b] = t.links[i]!.ends;
      return `down ${a.switch}:${a.port}-${b.switch}:${b.port}`;
    });
    if (net instanceof Bmv2Network) {
      // Hung: the process stops; its stream stays open and its reads never return.
      net.process(sw)!.kill("SIGSTOP");
      cleanup.push(async () => void net.process(sw)?.kill("SIGCONT"));
    } else {
      // Deaf and mute: its packets stop on every link and its requests stay with the controller,
      // so it judges nothing itself; its reads still answer (the probe finds its counters still).
      const c = ctl.clients.get(sw)!;
      c.sendPacketRaw = () => undefined;
      for (const i of links) net.link(i).cut();
    }
    expect(await until(() => names.every((n) => events.includes(n)), 15 * INTERVAL_MS), `${names.join(", ")} declared`).toBe(true);
    expect(events.sort()).toEqual(names.sort());
  }, 120_000);
});
