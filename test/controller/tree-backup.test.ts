/**
 * Repair in the data plane (src/controller/plan/tree-backup.ts,
 * src/switch/port-verdicts.ts): the controller gives every tree link a
 * backup replica along a detour (relayed on down the tree below a transit
 * router); when the link's upper end
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
 * mesh8 with one tree-only session from src to c61, c71 and c81 (tree
 * s1-s2-s4-{s6,s7}, s1-s3-s5-s8). The links cut: s4-s6, the last link of
 * c61's branch (detour s4-s2-s3-s6), and s2-s4, into the transit router s4
 * (its detour ends at s4, which relays the copies to s6 and s7).
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

/** A tree link to cut: its upper end (which judges the lower one down), the clients below it and one that is not. */
interface CutLink {
  readonly upper: string;
  readonly lower: string;
  readonly below: readonly string[];
  readonly elsewhere: string;
}
const INTO_LAST_HOP: CutLink = { upper: "s4", lower: "s6", below: ["c61"], elsewhere: "c71" };
const INTO_TRANSIT: CutLink = { upper: "s2", lower: "s4", below: ["c61", "c71"], elsewhere: "c81" };
const CUTS: [string, CutLink][] = [
  ["into a last hop", INTO_LAST_HOP],
  ["into a transit router", INTO_TRANSIT],
];

async function network(kind: (typeof kinds)[number], t: Topology, link: CutLink = INTO_LAST_HOP) {
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
  const cut = t.links.findIndex((l) => l.ends.some((e) => e.switch === link.upper) && l.ends.some((e) => e.switch === link.lower));
  const upperPort = t.links[cut]!.ends.find((e) => e.switch === link.upper)!.port;
  return { net, ctl, cut, upperPort };
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
    const { ctl, upperPort: s4Port } = await network(kind, t);
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
    // s4, a relay: its client group (no clients of its own) sends a detour copy on to each tree child, s6 and s7.
    const relay = groups.flatMap((g) => (g.kind === "multicastGroup" && g.groupId === clientGroupOf(1) ? g.replicas : []));
    expect(relay.map((r) => [r.port, r.instance]).sort()).toEqual([
      [3, 0x403],
      [4, 0x404],
    ]);
    expect((await ctl.deploy()).writes, "a second deploy finds every switch as the first left it").toBe(0);
  }, 120_000);

  it.each(CUTS)(
    "a cut tree link %s, no controller: its copies take the detour after the verdict, the link after it is back",
    async (_, link) => {
      const t = topology();
      const { net, ctl, cut, upperPort } = await network(kind, t, link);
      // The controller leaves; a client of the test sends the upper end's heartbeat requests (one packet-out per interval).
      await ctl.close();
      const upper = t.switches.find((s) => s.name === link.upper)!;
      const client = await P4RuntimeClient.connect({
        address: net.grpcAddress(upper),
        deviceId: BigInt(upper.deviceId),
        electionId: 20n,
        reconnect: false,
      });
      cleanup.push(async () => client.close());
      const beat = setInterval(() => client.sendPacket(fanoutPacketOut(upper, false)), INTERVAL_MS);
      cleanup.push(async () => clearInterval(beat));
      const logs = recordClients(net.hosts, [...link.below, link.elsewhere], t.sessions[0]!.service.port);
      const embedded = net instanceof EmbeddedNetwork ? net.switches.get(link.upper)! : undefined;
      const packets = 600;
      const cutAt = 150;
      const restoreAt = 400;
      let downSeq: number | undefined;
      let upSeq: number | undefined;
      // Per client below: the newest packet it had when the link was cut (those after it were still on their way).
      const hadAtCut = new Map<string, number>();
      await sleep(5 * INTERVAL_MS);
      await stream(t, net, packets, (i) => {
        if (i === cutAt) {
          for (const c of link.below) hadAtCut.set(c, Math.max(-1, ...logs.get(c)!.seqs));
          net.link(cut).cut();
        }
        if (i === restoreAt) net.link(cut).restore();
        if (embedded && downSeq === undefined && !embedded.isPortUp(upperPort)) downSeq = i;
        if (embedded && downSeq !== undefined && upSeq === undefined && embedded.isPortUp(upperPort)) upSeq = i;
      });
      await settle(logs, 300);
      const below = link.below.map((c) => ({ c, ...tally(logs.get(c)!, 0, packets) }));
      const elsewhere = tally(logs.get(link.elsewhere)!, 0, packets);
      console.log(
        `[data-plane repair ${kind}] ${link.upper} port ${upperPort} down at packet ${downSeq ?? "-"}, up at ${upSeq ?? "-"}; ` +
          below.map((b) => `${b.c} missed ${b.missing.length} (${b.missing[0] ?? "-"}..${b.missing.at(-1) ?? "-"})`).join(", ") +
          `, ${link.elsewhere} missed ${elsewhere.missing.length}`,
      );
      expect(elsewhere.missing, `${link.elsewhere}'s branch is not cut`).toEqual([]);
      for (const b of [...below, elsewhere]) expect(b.duplicated, "no client gets a packet twice").toBe(0);
      if (embedded) {
        // Detection: (threshold + 1) intervals at most, with room for a loaded machine.
        expect(downSeq, `${link.upper} judged ${link.lower} down`).toBeDefined();
        expect((downSeq! - cutAt) * RATE_MS).toBeLessThan((THRESHOLD + 1) * INTERVAL_MS + 3 * INTERVAL_MS);
        expect(upSeq, `${link.upper} judged ${link.lower} up again`).toBeDefined();
        expect(upSeq!).toBeGreaterThan(restoreAt);
        // Each client below misses only the packets on their way at the cut or sent between the cut and the verdict
        // (on a loaded machine a packet sent just before the cut may not have crossed the link yet).
        for (const b of below) {
          expect(b.missing.length, b.c).toBeGreaterThan(0);
          expect(b.missing[0]!, `${b.c}: nothing it had before the cut, nor a gap before it`).toBeGreaterThan(hadAtCut.get(b.c)!);
          expect(b.missing.at(-1)!, b.c).toBeLessThan(downSeq! + 2);
        }
        expect(embedded.isPortUp(upperPort)).toBe(true);
      } else {
        // No backups: the branch stays dark until the link is restored (nobody repairs).
        for (const b of below) {
          expect(b.missing.length, b.c).toBeGreaterThanOrEqual(restoreAt - cutAt - 10);
          expect(
            b.missing.filter((q) => q >= restoreAt + 20),
            b.c,
          ).toEqual([]);
        }
      }
    },
    180_000,
  );

  it.each(CUTS)(
    "a cut tree link %s, with the controller: the data plane covers until its repair, which then reconciles; nothing is delivered twice",
    async (_, link) => {
      const t = topology();
      const { net, ctl, cut, upperPort } = await network(kind, t, link);
      const embedded = net instanceof EmbeddedNetwork ? net.switches.get(link.upper)! : undefined;
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
        if (embedded && downSeq === undefined && !embedded.isPortUp(upperPort)) downSeq = i;
      });
      await settle(logs, 300);
      expect(await until(() => ups.length > 0, 20 * INTERVAL_MS), "the link comes back up").toBe(true);
      expect(downs.length).toBe(1);
      // The repairs write their last step after their drains (topology repair.drainMs).
      await ctl.repairsSettled();
      expect(failovers).toBeGreaterThan(0);
      const below = link.below.map((c) => ({ c, ...tally(logs.get(c)!, 0, packets) }));
      console.log(
        `[data-plane repair ${kind}, controller, ${link.upper}-${link.lower} cut] ` +
          below.map((b) => `${b.c} missed ${b.missing.length} (${b.missing[0] ?? "-"}..${b.missing.at(-1) ?? "-"})`).join(", "),
      );
      for (const c of ["c61", "c71", "c81"]) expect(tally(logs.get(c)!, 0, packets).duplicated, `${c}: nothing twice`).toBe(0);
      for (const c of ["c61", "c71", "c81"].filter((x) => !link.below.includes(x))) {
        expect(tally(logs.get(c)!, 0, packets).missing, `${c}: nothing lost`).toEqual([]);
      }
      for (const b of below) {
        // Only what the detection window holds is lost, (threshold + 1) intervals, with room for a loaded machine.
        expect(b.missing.length * RATE_MS, b.c).toBeLessThan((THRESHOLD + 1) * INTERVAL_MS + 3 * INTERVAL_MS);
        if (embedded) {
          // The switch's own verdict ended the loss, not the controller's repair: no later than the controller's verdict.
          expect(downSeq, `${link.upper} judged ${link.lower} down`).toBeDefined();
          expect(verdictSeq).toBeDefined();
          expect(downSeq!).toBeLessThanOrEqual(verdictSeq! + 1);
          expect(b.missing.at(-1)!, b.c).toBeLessThan(downSeq! + 2);
        }
      }
      // Once the link is back and the controller has moved the tree back, the network is what a fresh deploy writes.
      await sleep(3 * INTERVAL_MS);
      await ctl.repairsSettled();
      expect((await ctl.deploy()).writes, "the repair and its undoing leave what a deploy writes").toBe(0);
      const s6Group = (await ctl.clients.get("s6")!.readAll({ kind: "multicastGroup" })).filter(
        (g) => g.kind === "multicastGroup" && (g.groupId & 0x3fff) === clientGroupOf(1),
      );
      expect(s6Group.length).toBe(1);
    },
    180_000,
  );
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
