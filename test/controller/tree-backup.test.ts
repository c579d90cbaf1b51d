/**
 * Repair in the data plane (src/controller/plan/tree-backup.ts,
 * src/switch/port-verdicts.ts): the controller gives every tree link into a
 * last hop a backup replica along a detour; when the link's upper end
 * judges its peer down (heartbeat mode "dataplane"), the embedded switch
 * marks the link's port down and its packet replication engine sends the
 * branch's copies round the detour from the next packet on, with no
 * controller in the loop; when the peer answers again the port comes back.
 *
 * On simple_switch_grpc (PI's P4Runtime 1.3.0) the controller leaves the
 * backups out, since the server would accept and drop them, and a reconcile
 * of the deployed network writes nothing; nothing fails over without the
 * controller (docs/architecture.md lists the difference).
 *
 * mesh8 with one tree-only session from src to c61, c71 and c81; the link
 * cut is s4-s6, the last link of c61's branch (detour s4-s2-s3-s6).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { Controller } from "../../src/controller/controller.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { fanoutPacketOut } from "../../src/controller/runtime/heartbeat.js";
import { portMac } from "../../src/controller/topology/addressing.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import type { Topology } from "../../src/controller/topology/schema.js";
import { Bmv2Network, bmv2NetworkUnavailable } from "../../src/lab/bmv2-network.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { recordClients, settle, streamFrame, type ClientLog } from "../../src/lab/stream.js";
import { formatMac } from "../../src/p4runtime/codec/values.js";
import { clientGroupOf } from "../../src/controller/plan/lasthop-delivery.js";

const INTERVAL_MS = 100;
const THRESHOLD = 3;
const RATE_MS = 5;

function topology(): Topology {
  const t = loadTopology("examples/mesh8.yaml");
  const base = t.sessions[1]!;
  return {
    ...t,
    heartbeat: { intervalMs: INTERVAL_MS, missThreshold: THRESHOLD, mode: "dataplane" },
    sessions: [{ ...base, id: 1, redundancy: "tree-only", clients: ["c61", "c71", "c81"] }],
  };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await sleep(10);
  return done();
}

const bmv2Why = bmv2NetworkUnavailable();
if (bmv2Why) console.log(`[p4cast tests] data-plane repair on BMv2 skipped: ${bmv2Why}`);
const kinds = bmv2Why ? (["embedded"] as const) : (["embedded", "bmv2"] as const);

async function network(kind: (typeof kinds)[number], t: Topology) {
  const net = kind === "embedded" ? await EmbeddedNetwork.start(t) : await Bmv2Network.start(t);
  cleanup.push(() => net.stop());
  const ctl = new Controller({
    topology: t,
    pipeline: await loadPipeline(),
    grpcAddress: net.grpcAddress,
    electionId: 10n,
    ...(net instanceof Bmv2Network ? { thriftAddress: net.thriftAddress } : {}),
  });
  cleanup.push(() => ctl.close());
  await ctl.connect();
  await ctl.deploy();
  const cut = t.links.findIndex((l) => l.ends.some((e) => e.switch === "s4") && l.ends.some((e) => e.switch === "s6"));
  const s4Port = t.links[cut]!.ends.find((e) => e.switch === "s4")!.port;
  return { net, ctl, cut, s4Port };
}

/** A stream of `count` packets every RATE_MS from src to the session; `at(i)` runs before packet i. */
async function stream(t: Topology, net: EmbeddedNetwork | Bmv2Network, count: number, at: (i: number) => Promise<void> | void) {
  const src = t.hosts.find((h) => h.name === "src")!;
  const gw = formatMac(portMac(t.switches.find((s) => s.name === src.attach.switch)!, src.attach.port));
  const host = net.hosts.get("src")!;
  let next = performance.now();
  for (let i = 0; i < count; i++) {
    await at(i);
    next = Math.max(next, performance.now() - RATE_MS);
    host.send(streamFrame(src, gw, t.sessions[0]!, i));
    next += RATE_MS;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

/** Sequence numbers in [from, to) that `log` lacks, and how many it holds twice. */
function tally(log: ClientLog, from: number, to: number): { missing: number[]; duplicated: number } {
  const seen = new Map<number, number>();
  for (const q of log.seqs) seen.set(q, (seen.get(q) ?? 0) + 1);
  const missing: number[] = [];
  for (let q = from; q < to; q++) if (!seen.has(q)) missing.push(q);
  return { missing, duplicated: [...seen.values()].filter((n) => n > 1).length };
}

describe.each(kinds)("repair in the data plane: backup replicas on tree links (%s switches)", (kind) => {
  it("the backups are installed where the server keeps them, and a second deploy writes nothing", async () => {
    const t = topology();
    const { ctl, s4Port } = await network(kind, t);
    const groups = await ctl.clients.get("s4")!.readAll({ kind: "multicastGroup" });
    const tree = groups.flatMap((g) => (g.kind === "multicastGroup" && (g.groupId & 0x3fff) === 1 ? g.replicas : []));
    const toS6 = tree.find((r) => r.port === s4Port);
    expect(toS6, "s4's tree replica towards s6").toBeDefined();
    if (kind === "embedded") {
      expect(toS6!.backups, "its backup: the detour's first port, replica id 0x200 + port").toEqual([
        { port: 1, instance: 0x200 + s4Port },
      ]);
    } else {
      // PI answers Capabilities with 1.3.0, so the controller sent none (it would have dropped them).
      expect(await ctl.clients.get("s4")!.capabilities()).toMatch(/^1\.[0-4]\./);
      expect(toS6!.backups).toBeUndefined();
    }
    expect((await ctl.deploy()).writes, "a second deploy finds every switch as the first left it").toBe(0);
  }, 120_000);

  it("a cut tree link, no controller: the branch's copies take the detour after the verdict, the link after it is back", async () => {
    const t = topology();
    const { net, ctl, cut, s4Port } = await network(kind, t);
    // The controller leaves; a client of the test sends s4's heartbeat requests (one packet-out per interval), nothing else.
    await ctl.close();
    const s4 = t.switches.find((s) => s.name === "s4")!;
    const client = await P4RuntimeClient.connect({
      address: net.grpcAddress(s4),
      deviceId: BigInt(s4.deviceId),
      electionId: 20n,
      reconnect: false,
    });
    cleanup.push(async () => client.close());
    const beat = setInterval(() => client.sendPacket(fanoutPacketOut(s4, false)), INTERVAL_MS);
    cleanup.push(async () => clearInterval(beat));
    const logs = recordClients(net.hosts, ["c61", "c71"], t.sessions[0]!.service.port);
    const embedded = net instanceof EmbeddedNetwork ? net.switches.get("s4")! : undefined;
    const packets = 600;
    const cutAt = 150;
    const restoreAt = 400;
    let downSeq: number | undefined;
    let upSeq: number | undefined;
    await sleep(5 * INTERVAL_MS);
    await stream(t, net, packets, (i) => {
      if (i === cutAt) net.link(cut).cut();
      if (i === restoreAt) net.link(cut).restore();
      if (embedded && downSeq === undefined && !embedded.isPortUp(s4Port)) downSeq = i;
      if (embedded && downSeq !== undefined && upSeq === undefined && embedded.isPortUp(s4Port)) upSeq = i;
    });
    await settle(logs, 300);
    const c61 = tally(logs.get("c61")!, 0, packets);
    const c71 = tally(logs.get("c71")!, 0, packets);
    console.log(
      `[data-plane repair ${kind}] s4 port ${s4Port} down at packet ${downSeq ?? "-"}, up at ${upSeq ?? "-"}; ` +
        `c61 missed ${c61.missing.length} (${c61.missing[0] ?? "-"}..${c61.missing.at(-1) ?? "-"}), c71 missed ${c71.missing.length}`,
    );
    expect(c71.missing, "c71's branch is not cut").toEqual([]);
    expect(c61.duplicated + c71.duplicated, "no client gets a packet twice").toBe(0);
    if (embedded) {
      // Detection: (threshold + 1) intervals at most, with room for a loaded machine.
      expect(downSeq, "s4 judged s6 down").toBeDefined();
      expect((downSeq! - cutAt) * RATE_MS).toBeLessThan((THRESHOLD + 1) * INTERVAL_MS + 3 * INTERVAL_MS);
      expect(upSeq, "s4 judged s6 up again").toBeDefined();
      expect(upSeq!).toBeGreaterThan(restoreAt);
      // c61 misses only the packets sent between the cut and the verdict.
      expect(c61.missing.length).toBeGreaterThan(0);
      expect(c61.missing[0]!).toBeGreaterThanOrEqual(cutAt);
      expect(c61.missing.at(-1)!).toBeLessThan(downSeq! + 2);
      expect(embedded.isPortUp(s4Port)).toBe(true);
    } else {
      // No backups: c61's branch stays dark until the link is restored (nobody repairs).
      expect(c61.missing.length).toBeGreaterThanOrEqual(restoreAt - cutAt - 10);
      expect(c61.missing.filter((q) => q >= restoreAt + 20)).toEqual([]);
    }
  }, 180_000);

  it("with the controller: the data plane covers until its repair, which then reconciles; nothing is delivered twice", async () => {
    const t = topology();
    const { net, ctl, cut, s4Port } = await network(kind, t);
    const embedded = net instanceof EmbeddedNetwork ? net.switches.get("s4")! : undefined;
    const hb = ctl.startHeartbeats();
    cleanup.push(async () => hb.stop());
    const logs = recordClients(net.hosts, ["c61", "c71", "c81"], t.sessions[0]!.service.port);
    const downs: string[] = [];
    const ups: string[] = [];
    hb.on("linkDown", (e) => downs.push(e.name));
    hb.on("linkUp", (e) => ups.push(e.name));
    let failovers = 0;
    ctl.on("failover", () => failovers++);
    let current = 0;
    let verdictSeq: number | undefined;
    hb.on("linkDown", () => (verdictSeq ??= current));
    let downSeq: number | undefined;
    const packets = 800;
    const cutAt = 150;
    const restoreAt = 450;
    await sleep(5 * INTERVAL_MS);
    await stream(t, net, packets, (i) => {
      current = i;
      if (i === cutAt) net.link(cut).cut();
      if (i === restoreAt) net.link(cut).restore();
      if (embedded && downSeq === undefined && !embedded.isPortUp(s4Port)) downSeq = i;
    });
    await settle(logs, 300);
    expect(await until(() => ups.length > 0, 20 * INTERVAL_MS), "the link comes back up").toBe(true);
    expect(downs.length).toBe(1);
    expect(failovers).toBeGreaterThan(0);
    const c61 = tally(logs.get("c61")!, 0, packets);
    console.log(
      `[data-plane repair ${kind}, controller] c61 missed ${c61.missing.length} packets ` +
        `(${c61.missing[0] ?? "-"}..${c61.missing.at(-1) ?? "-"})`,
    );
    for (const c of ["c61", "c71", "c81"]) expect(tally(logs.get(c)!, 0, packets).duplicated, `${c}: nothing twice`).toBe(0);
    for (const c of ["c71", "c81"]) expect(tally(logs.get(c)!, 0, packets).missing, `${c}: nothing lost`).toEqual([]);
    // Only what the detection window holds is lost, (threshold + 1) intervals, with room for a loaded machine.
    expect(c61.missing.length * RATE_MS).toBeLessThan((THRESHOLD + 1) * INTERVAL_MS + 3 * INTERVAL_MS);
    if (embedded) {
      // The switch's own verdict ended the loss, not the controller's repair: no later than the controller's verdict.
      expect(downSeq, "s4 judged s6 down").toBeDefined();
      expect(verdictSeq).toBeDefined();
      expect(downSeq!).toBeLessThanOrEqual(verdictSeq! + 1);
      expect(c61.missing.at(-1)!).toBeLessThan(downSeq! + 2);
    }
    // Once the link is back and the controller has moved the tree back, the network is what a fresh deploy writes.
    await sleep(3 * INTERVAL_MS);
    expect((await ctl.deploy()).writes, "the repair and its undoing leave what a deploy writes").toBe(0);
    const s6Group = (await ctl.clients.get("s6")!.readAll({ kind: "multicastGroup" })).filter(
      (g) => g.kind === "multicastGroup" && (g.groupId & 0x3fff) === clientGroupOf(1),
    );
    expect(s6Group.length).toBe(1);
  }, 180_000);
});

describe("repair in the data plane: a server older than P4Runtime 1.5", () => {
  it("gets its groups without backups (it would drop them), and a second deploy writes nothing", async () => {
    const t = topology();
    const net = await EmbeddedNetwork.start(t);
    cleanup.push(() => net.stop());
    const ctl = new Controller({ topology: t, pipeline: await loadPipeline(), grpcAddress: net.grpcAddress, electionId: 10n });
    cleanup.push(() => ctl.close());
    await ctl.connect();
    // s4 answers Capabilities as simple_switch_grpc's PI does.
    const s4 = ctl.clients.get("s4")!;
    vi.spyOn(s4, "capabilities").mockResolvedValue("1.3.0");
    await ctl.deploy();
    const groups = await s4.readAll({ kind: "multicastGroup" });
    const replicas = groups.flatMap((g) => (g.kind === "multicastGroup" ? g.replicas : []));
    expect(replicas.length).toBeGreaterThan(0);
    expect(
      replicas.filter((r) => r.backups),
      "no backups on s4",
    ).toEqual([]);
    // The other switches (1.5.0) keep theirs: s5's replica towards s8 has one.
    const s5 = (await ctl.clients.get("s5")!.readAll({ kind: "multicastGroup" })).flatMap((g) =>
      g.kind === "multicastGroup" ? g.replicas : [],
    );
    expect(s5.some((r) => (r.backups?.length ?? 0) > 0)).toBe(true);
    expect((await ctl.deploy()).writes).toBe(0);
  }, 120_000);
});
