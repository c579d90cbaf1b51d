/**
 * A repair never opens a window in which a packet has no way: a link
 * declared down while it still carries traffic (a heartbeat verdict on an
 * overloaded machine) moves the trees of every session through it, and every
 * client -- tree-only ones included -- still gets every packet once, even
 * when the switches other than the ingress router take long to write (as on
 * a busy machine). examples/mesh8 with a tree-only and an
 * overlay-on-failure session (whose ingress router the repair writes first),
 * on embedded switches and on simple_switch_grpc when it is on PATH.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Controller, type FailoverReport } from "../../src/controller/controller.js";
import { dropsBetween, formatDrops, readDropCounters } from "../../src/controller/drop-reasons.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { portMac } from "../../src/controller/topology/addressing.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import type { Topology } from "../../src/controller/topology/schema.js";
import { Bmv2Network, bmv2NetworkUnavailable } from "../../src/lab/bmv2-network.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { analyse, recordClients, sendStream, settle, streamFrame } from "../../src/lab/stream.js";
import { formatMac } from "../../src/p4runtime/codec/values.js";

const RATE_MS = 4;
const COUNT = 300;
/** The extra time each write to a switch other than the ingress router takes. */
const SLOW_WRITE_MS = 40;
/** How long every inter-switch link holds a frame in the in-flight case. */
const IN_FLIGHT_MS = 120;

function topology(): Topology {
  const t = loadTopology("examples/mesh8.yaml");
  const base = t.sessions[0]!;
  return {
    ...t,
    sessions: (["tree-only", "overlay-on-failure"] as const).map((redundancy, i) => ({
      ...base,
      id: i + 1,
      service: { address: `10.0.100.${i + 1}`, port: 5000 + i },
      group: `232.1.1.${i + 1}`,
      redundancy,
      meter: undefined,
    })),
  };
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

const bmv2Why = bmv2NetworkUnavailable();
if (bmv2Why) console.log(`[p4cast tests] repair without a window on BMv2 skipped: ${bmv2Why}`);
const kinds = bmv2Why ? (["embedded"] as const) : (["embedded", "bmv2"] as const);

describe.each(kinds)("repair without a window (%s switches)", (kind) => {
  it("a live tree link declared down mid-stream: every client of every mode gets every packet once, with slow writes", async () => {
    const t = topology();
    const net = kind === "embedded" ? await EmbeddedNetwork.start(t) : await Bmv2Network.start(t);
    const ctl = new Controller({
      topology: t,
      pipeline: await loadPipeline(),
      grpcAddress: net.grpcAddress,
      ...(net instanceof Bmv2Network ? { thriftAddress: net.thriftAddress } : {}),
    });
    stop = async () => {
      await ctl.close();
      await net.stop();
    };
    await ctl.connect();
    await ctl.deploy();
    const plan = ctl.currentPlan!;
    const ingress = plan.sessions.get(1)!.ingress;
    // The first tree link out of the ingress router: the branches of several last hops go through it.
    const first = plan.sessions.get(1)!.tree.branch.get("s6")![0]!.link;
    const movedLastHops = [...plan.sessions.get(1)!.tree.branch].filter(([, b]) => b.some((a) => a.link === first)).map(([lh]) => lh);
    expect(movedLastHops.length).toBeGreaterThan(0);
    // Every switch but the ingress router writes slowly from now on.
    for (const [name, client] of ctl.clients) {
      if (name === ingress) continue;
      const write = client.write.bind(client);
      client.write = (async (...args: Parameters<typeof write>) => {
        await new Promise((r) => setTimeout(r, SLOW_WRITE_MS));
        return write(...args);
      }) as typeof client.write;
    }
    const src = t.hosts.find((h) => h.name === t.sessions[0]!.source)!;
    const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
    const logs = t.sessions.map((s) => ({ s, logs: recordClients(net.hosts, s.clients, s.service.port) }));
    // What the pipelines drop during the stream, for the message of a loss: which switch dropped it and why.
    const dropsBefore = await readDropCounters(ctl.clients);
    let repaired: Promise<unknown> = Promise.resolve();
    await sendStream(
      net.hosts.get(src.name)!,
      (seq) => streamFrame(src, gw, t.sessions[0]!, seq),
      COUNT,
      RATE_MS,
      (i) => {
        // The second session's packet goes with the first's.
        net.hosts.get(src.name)!.send(streamFrame(src, gw, t.sessions[1]!, i));
        if (i === COUNT / 4) repaired = ctl.setLink(first, false);
      },
    );
    const report = await repaired;
    expect(report).toBeDefined();
    // The trees moved off the link.
    for (const lh of movedLastHops)
      expect(
        ctl
          .currentPlan!.sessions.get(1)!
          .tree.branch.get(lh)!
          .some((a) => a.link === first),
      ).toBe(false);
    for (const { logs: l } of logs) await settle(l);
    const drops = formatDrops(dropsBetween(dropsBefore, await readDropCounters(ctl.clients)));
    for (const { s, logs: l } of logs) {
      for (const [c, log] of l) {
        const st = analyse(log, COUNT);
        const got = new Set(log.seqs);
        const missing = [...Array(COUNT).keys()].filter((q) => !got.has(q));
        const seen = { client: c, mode: s.redundancy, lost: st.lost, missing: missing.slice(0, 10), duplicated: st.duplicated };
        expect(seen, `${c}: missing ${missing.join(" ") || "none"}; pipeline drops: ${drops}`).toEqual({
          client: c,
          mode: s.redundancy,
          lost: 0,
          missing: [],
          duplicated: 0,
        });
      }
    }
  }, 60_000);
});

/**
 * Embedded switches programmed from topology(), every link holding frames IN_FLIGHT_MS; `stream` sends both
 * sessions' packets, calling `each(i)` per packet, and `expectEveryPacketOnce` checks every client afterwards.
 */
async function inFlightLab() {
  const t = topology();
  const net = await EmbeddedNetwork.start(t);
  const ctl = new Controller({ topology: t, pipeline: await loadPipeline(), grpcAddress: net.grpcAddress });
  stop = async () => {
    await ctl.close();
    await net.stop();
  };
  await ctl.connect();
  await ctl.deploy();
  const first = ctl.currentPlan!.sessions.get(1)!.tree.branch.get("s6")![0]!.link;
  // Slower than the repair's writes: when the switches move to the new trees, copies sent the old way are still in flight.
  for (const l of net.links) l.delayMs = IN_FLIGHT_MS;
  const src = t.hosts.find((h) => h.name === t.sessions[0]!.source)!;
  const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
  const logs = t.sessions.map((s) => ({ s, logs: recordClients(net.hosts, s.clients, s.service.port) }));
  const host = net.hosts.get(src.name)!;
  return {
    t,
    ctl,
    first,
    stream: (each: (i: number) => void) =>
      sendStream(
        host,
        (seq) => streamFrame(src, gw, t.sessions[0]!, seq),
        COUNT,
        RATE_MS,
        (i) => {
          host.send(streamFrame(src, gw, t.sessions[1]!, i));
          each(i);
        },
      ),
    async expectEveryPacketOnce(): Promise<void> {
      for (const { s, logs: l } of logs) {
        await settle(l, 2 * IN_FLIGHT_MS);
        for (const [c, log] of l) {
          const got = new Set(log.seqs);
          const missing = [...Array(COUNT).keys()].filter((q) => !got.has(q));
          expect({ client: c, mode: s.redundancy, missing: missing.slice(0, 10), duplicated: analyse(log, COUNT).duplicated }).toEqual({
            client: c,
            mode: s.redundancy,
            missing: [],
            duplicated: 0,
          });
        }
      }
    },
  };
}

describe("repair without a window: packets in flight (embedded switches)", () => {
  it("every link holds frames 120 ms: a live tree link declared down mid-stream loses nothing still on its old way", async () => {
    const { t, ctl, first, stream, expectEveryPacketOnce } = await inFlightLab();
    let repaired: Promise<FailoverReport | undefined> = Promise.resolve(undefined);
    await stream((i) => {
      if (i === COUNT / 4) repaired = ctl.setLink(first, false);
    });
    const report = (await repaired)!;
    // The new ways carried packets once written (readyMs); the old ones went only after both drains.
    expect(report.repairMs - report.readyMs, "the repair waited for what was in flight, twice").toBeGreaterThanOrEqual(
      2 * t.repair.drainMs,
    );
    await expectEveryPacketOnce();
  }, 60_000);

  it("a second verdict during the first repair's drain: the newer repair takes over, both settle, nothing is lost", async () => {
    const { ctl, first, stream, expectEveryPacketOnce } = await inFlightLab();
    const reports: Promise<FailoverReport | undefined>[] = [];
    const settled: string[] = [];
    const track = (name: string, r: Promise<FailoverReport | undefined>) =>
      r.then((report) => {
        settled.push(name);
        return report;
      });
    await stream((i) => {
      if (i === COUNT / 4) reports.push(track("first", ctl.setLink(first, false)));
      // Inside the first repair's drain: the last link of the branch the first repair moved s6 to.
      if (i === COUNT / 4 + 25) {
        const second = ctl.currentPlan!.sessions.get(1)!.tree.branch.get("s6")!.at(-1)!.link;
        expect(second).not.toBe(first);
        reports.push(track("second", ctl.setLink(second, false)));
      }
    });
    const [a, b] = await Promise.all(reports);
    expect(a!.writes).toBeGreaterThan(0);
    expect(b!.writes).toBeGreaterThan(0);
    expect(settled, "the superseded repair settles with the one that took over").toEqual(["second", "first"]);
    await expectEveryPacketOnce();
  }, 60_000);

  it("closing the controller ends a repair's drain: its report settles without the rest of the repair", async () => {
    const t = { ...topology(), repair: { drainMs: 600_000 } };
    const net = await EmbeddedNetwork.start(t);
    const ctl = new Controller({ topology: t, pipeline: await loadPipeline(), grpcAddress: net.grpcAddress });
    stop = () => net.stop();
    await ctl.connect();
    await ctl.deploy();
    const first = ctl.currentPlan!.sessions.get(1)!.tree.branch.get("s6")![0]!.link;
    const report = ctl.setLink(first, false);
    // The repair is under way (its union written, or being written); then it would wait out a ten-minute drain.
    await new Promise((r) => setTimeout(r, 300));
    await ctl.close();
    expect((await report)?.link).toBe(ctl.graph.linkName(first));
    await ctl.repairsSettled();
  });
});
