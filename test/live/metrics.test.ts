/**
 * The live server's endpoints on mesh8 (embedded switches in process; and
 * simple_switch_grpc processes where this machine can run them: root):
 * `/metrics` parses as Prometheus text exposition and its per-session and
 * per-client counters are the switches' own counters (read here over
 * P4Runtime by a client of our own), the fast-path heartbeat round trips
 * the switches' own hb_rtt registers (P4Runtime, or Thrift on
 * simple_switch_grpc); switch, link, repair and write metrics follow the
 * controller; `/api/state` is the controller's view; every endpoint is
 * read-only and the server answers loopback host names only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import parse, { type Family } from "parse-prometheus-text-format";
import { P4RuntimeClient } from "../../src/client/client.js";
import type { DecodedOf } from "../../src/client/entities/entity.js";
import { formatMac } from "../../src/p4runtime/codec/values.js";
import { portMac } from "../../src/controller/topology/addressing.js";
import { recordClients, sendStream, settle, streamFrame, type ClientLog } from "../../src/lab/stream.js";
import { COUNTERS } from "../../src/controller/live/counters.js";
import { parseHttpAddress } from "../../src/controller/live/address.js";
import type { LiveState } from "../../src/controller/live/state.js";
import type { DeployReport } from "../../src/controller/controller.js";
import { HB_COUNTER, HB_RTT_REGISTER } from "../../src/controller/runtime/heartbeat.js";
import { CLIENT_DELIVERED_COUNTER, T } from "../../src/controller/plan/intent.js";
import { registerAccess, type RegisterAccess } from "../../src/client/registers.js";
import { Bmv2Network, bmv2NetworkUnavailable } from "../../src/lab/bmv2-network.js";
import { mesh8, planTree, startLiveLab, until, type LabKind, type LiveLab } from "./support.js";

const bmv2Why = bmv2NetworkUnavailable();
const kinds: LabKind[] = bmv2Why ? ["embedded"] : ["embedded", "bmv2"];
if (bmv2Why) console.log(`[p4cast tests] live view endpoints on simple_switch_grpc skipped: ${bmv2Why}`);

const COUNT = 300;

async function scrape(lab: LiveLab): Promise<Family[]> {
  const r = await fetch(new URL("/metrics", lab.live.url));
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await r.text());
}

const family = (fams: Family[], name: string) => {
  const f = fams.find((x) => x.name === name);
  if (!f) throw new Error(`no metric ${name} in ${fams.map((x) => x.name).join(", ")}`);
  return f;
};
const value = (fams: Family[], name: string, labels: Record<string, string> = {}) => {
  const m = family(fams, name).metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  if (!m) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}`);
  return Number(m.value);
};

describe.each(kinds)("live server endpoints (mesh8, %s switches)", { timeout: 180_000 }, (kind) => {
  let lab: LiveLab;
  let deploy: DeployReport;
  const observers = new Map<string, P4RuntimeClient>();
  const registers = new Map<string, RegisterAccess>();

  beforeAll(async () => {
    lab = await startLiveLab(mesh8(kind), { kind });
    deploy = await lab.ctl.deploy(); // unchanged: writes nothing, reported like the first one
    // The switches' own counters, read by a client of this test (a backup: election id 1 < the controller's 10).
    for (const s of lab.topology.switches) {
      const c = await P4RuntimeClient.connect({
        address: lab.net.grpcAddress(s),
        deviceId: BigInt(s.deviceId),
        electionId: 1n,
        reconnect: false,
      });
      await c.fetchP4Info();
      observers.set(s.name, c);
      // Registers: P4Runtime on the embedded switch, Thrift on simple_switch_grpc.
      registers.set(s.name, await registerAccess(c, lab.net instanceof Bmv2Network ? lab.net.thriftAddress(s) : {}));
    }
  }, 180_000);

  afterAll(async () => {
    for (const r of registers.values()) r.close();
    for (const c of observers.values()) c.close();
    await lab?.stop();
  });

  const switchCell = async (sw: string, counter: string, index: number) => {
    const c = observers.get(sw)!;
    const cells = (await c.readAll({ kind: "counterEntry", counter, index })) as DecodedOf<"counterEntry">[];
    return Number(cells[0]?.data.packets ?? 0n);
  };
  /** The copies a last hop sent one client of one session: the direct counter of its (session, rid) entry. */
  const clientCell = async (sw: string, session: number, rid: number) => {
    const c = observers.get(sw)!;
    const cells = (await c.readAll({
      kind: "directCounterEntry",
      entry: { table: T.clientSession, match: { session_id: session, egress_rid: rid } },
    })) as DecodedOf<"directCounterEntry">[];
    return Number(cells[0]?.data.packets ?? 0n);
  };

  it("/metrics parses; switches reachable and primary, links up, writes counted", async () => {
    expect(deploy.writes).toBe(0);
    await until(async () => value(await scrape(lab), "p4cast_link_up", { link: "s1:2-s2:1" }) === 1, 20_000, "links up");
    const m = await scrape(lab);
    for (const name of [
      "p4cast_switch_reachable",
      "p4cast_switch_primary",
      "p4cast_link_heartbeat_misses",
      "p4cast_link_heartbeat_responses_total",
      "p4cast_link_heartbeat_rtt_seconds",
      "p4cast_session_delivered_total",
      "p4cast_session_accepted_total",
      "p4cast_session_meter_packets_total",
      "p4cast_repair_duration_seconds",
      "p4cast_p4runtime_updates_total",
      "p4cast_p4runtime_errors_total",
    ])
      family(m, name);
    expect(family(m, "p4cast_switch_reachable").type).toBe("GAUGE");
    expect(family(m, "p4cast_session_delivered_total").type).toBe("COUNTER");
    expect(family(m, "p4cast_repair_duration_seconds").type).toBe("HISTOGRAM");
    expect(family(m, "p4cast_switch_reachable").metrics.map((s) => [s.labels?.switch, Number(s.value)])).toEqual(
      lab.topology.switches.map((s) => [s.name, 1]),
    );
    expect(family(m, "p4cast_switch_primary").metrics.every((s) => Number(s.value) === 1)).toBe(true);
    expect(family(m, "p4cast_link_up").metrics.map((s) => Number(s.value))).toEqual(Array(12).fill(1));
    // Every update the controller wrote is counted per switch: the first deploy's (in the lab) and none since.
    const updates = family(m, "p4cast_p4runtime_updates_total").metrics.reduce((n, s) => n + Number(s.value), 0);
    expect(updates).toBeGreaterThan(100);
    expect(family(m, "p4cast_p4runtime_errors_total").metrics.every((s) => Number(s.value) === 0)).toBe(true);
  });

  it("per-session counters are the switches' own, after a stream into both sessions", async () => {
    const t = lab.topology;
    const logs = new Map<string, ClientLog>();
    const sends = t.sessions.map((s) => {
      const src = t.hosts.find((h) => h.name === s.source)!;
      const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
      for (const [c, l] of recordClients(lab.net.hosts, s.clients, s.service.port)) logs.set(`${s.id}/${c}`, l);
      return sendStream(lab.net.hosts.get(src.name)!, (q) => streamFrame(src, gw, s, q), COUNT, 4);
    });
    await Promise.all(sends);
    await settle(logs, 500, 20_000);
    const m = await scrape(lab);
    let checked = 0;
    const rows: string[] = [];
    for (const sp of lab.ctl.currentPlan!.sessions.values()) {
      const id = sp.session.id;
      for (const [lh, hosts] of sp.lastHops) {
        // The last hop's window: it accepted every sequence number once.
        const accepted = value(m, "p4cast_session_accepted_total", { session: String(id), last_hop: lh });
        expect(accepted, `session ${id} at ${lh}`).toBe(await switchCell(lh, COUNTERS.delivered, id));
        expect(accepted).toBe(COUNT);
        checked++;
        const lastHop = {
          duplicate: await switchCell(lh, COUNTERS.duplicate, id),
          tooOld: await switchCell(lh, COUNTERS.tooOld, id),
          outOfWindow: await switchCell(lh, COUNTERS.outOfWindow, id),
        };
        for (const h of hosts) {
          const labels = { session: String(id), client: h.name, last_hop: lh };
          const rid = sp.clientRids.get(lh)?.get(h.name);
          expect(rid, `${h.name}'s replica at ${lh}`).toBeDefined();
          // delivered: the client's own counter; the rest: its last hop's (dedup runs before the copies are made).
          const want = { delivered: await clientCell(lh, id, rid!), ...lastHop };
          const got = {
            delivered: value(m, "p4cast_session_delivered_total", labels),
            duplicate: value(m, "p4cast_session_duplicates_total", labels),
            tooOld: value(m, "p4cast_session_late_total", labels),
            outOfWindow: value(m, "p4cast_session_gap_total", labels),
          };
          expect(got, `session ${id}, ${h.name} at ${lh}`).toEqual(want);
          // Nothing was lost: the client got every packet once, as its own log says.
          expect(got.delivered).toBe(COUNT);
          expect(logs.get(`${id}/${h.name}`)!.seqs.length).toBe(COUNT);
          rows.push(`session ${id} ${h.name}@${lh}: delivered ${got.delivered}, duplicates ${got.duplicate}`);
          checked += 4;
        }
      }
      for (const colour of ["green", "yellow", "red"] as const) {
        const want = await switchCell(sp.ingress, COUNTERS[colour], id);
        expect(
          value(m, "p4cast_session_meter_packets_total", { session: String(id), ingress: sp.ingress, colour }),
          `session ${id} ${colour}`,
        ).toBe(want);
        checked++;
      }
      const total = (["green", "yellow", "red"] as const).reduce(
        (n, colour) => n + value(m, "p4cast_session_meter_packets_total", { session: String(id), colour }),
        0,
      );
      expect(total).toBe(COUNT);
    }
    // Heartbeat responses keep counting: the scrape's value is at most what the switch holds now, and not zero.
    for (const [sw, peers] of lab.ctl.currentPlan!.peers) {
      for (const p of peers) {
        const v = value(m, "p4cast_link_heartbeat_responses_total", { link: lab.ctl.graph.linkName(p.link), watcher: sw });
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(await switchCell(sw, HB_COUNTER, p.index));
        checked++;
      }
    }
    console.log(`[live view ${kind}] /metrics: ${checked} data-plane counter samples checked against the switches (${rows.join("; ")})`);
  });

  it("fast-path heartbeats: each link end's round trip is its switch's hb_rtt, in /metrics and /api/state like the slow path", async () => {
    const plan = lab.ctl.currentPlan!;
    const hb = lab.ctl.heartbeats!;
    const unitNs = lab.ctl.rttUnitNs;
    // Every watch gets a round trip once its first responses are back.
    await until(
      async () => family(await scrape(lab), "p4cast_link_heartbeat_rtt_seconds").metrics.length === 24,
      20_000,
      "a round trip for every link end",
    );
    for (const s of family(await scrape(lab), "p4cast_link_heartbeat_rtt_seconds").metrics) {
      expect(Number(s.value), `${s.labels?.link} from ${s.labels?.watcher}`).toBeGreaterThan(0);
      expect(Number(s.value)).toBeLessThan(5);
    }
    // Freeze one switch's round trips (its requests stop while it is paused), then compare exactly.
    const sw = "s4";
    const peers = plan.peers.get(sw)!;
    hb.pause(sw);
    try {
      await new Promise((r) => setTimeout(r, 4 * lab.topology.heartbeat.intervalMs));
      const cells = await registers.get(sw)!.readAll(HB_RTT_REGISTER);
      const m = await scrape(lab);
      const st = (await (await fetch(new URL("/api/state?fresh=1", lab.live.url))).json()) as LiveState;
      const rows: string[] = [];
      for (const p of peers) {
        const link = lab.ctl.graph.linkName(p.link);
        const ms = (Number(cells[p.index]!) * unitNs) / 1e6;
        expect(ms, `${link} from ${sw}`).toBeGreaterThan(0);
        expect(value(m, "p4cast_link_heartbeat_rtt_seconds", { link, watcher: sw })).toBeCloseTo(ms / 1000, 12);
        const watch = st.links.find((l) => l.id === p.link)!.watches.find((w) => w.switch === sw)!;
        expect(watch.rttMs).toBeCloseTo(ms, 9);
        expect(st.counters!.heartbeats.find((h) => h.switch === sw && h.link === p.link)!.rttMs).toBeCloseTo(ms, 9);
        rows.push(`${link} ${ms.toFixed(3)} ms`);
      }
      console.log(
        `[live view ${kind}] ${sw}'s data-plane round trips (hb_rtt, ${unitNs} ns units) = /metrics = /api/state: ${rows.join(", ")}`,
      );
    } finally {
      hb.resume(sw);
    }
  });

  it("per-client delivered counters follow the clients' own counts after a second stream into session 2 only", async () => {
    const t = lab.topology;
    const s = t.sessions.find((x) => x.id === 2)!;
    const src = t.hosts.find((h) => h.name === s.source)!;
    const gw = formatMac(portMac(t.switches.find((x) => x.name === src.attach.switch)!, src.attach.port));
    const before = await scrape(lab);
    const logs = recordClients(lab.net.hosts, s.clients, s.service.port);
    await sendStream(lab.net.hosts.get(src.name)!, (q) => streamFrame(src, gw, s, COUNT + q), 50, 4);
    await settle(logs, 500, 20_000);
    const m = await scrape(lab);
    const sp = lab.ctl.currentPlan!.sessions.get(1)!;
    for (const [lh, hosts] of lab.ctl.currentPlan!.sessions.get(2)!.lastHops) {
      for (const h of hosts) {
        const labels = { session: "2", client: h.name, last_hop: lh };
        expect(
          value(m, "p4cast_session_delivered_total", labels) - value(before, "p4cast_session_delivered_total", labels),
          `${h.name}`,
        ).toBe(logs.get(h.name)!.seqs.length);
        expect(logs.get(h.name)!.seqs.length).toBe(50);
      }
    }
    // Session 1's clients (some of them session 2's too, behind the same last hops) got nothing new.
    for (const [lh, hosts] of sp.lastHops) {
      for (const h of hosts) {
        const labels = { session: "1", client: h.name, last_hop: lh };
        expect(value(m, "p4cast_session_delivered_total", labels)).toBe(value(before, "p4cast_session_delivered_total", labels));
      }
    }
    expect(family(m, "p4cast_session_delivered_total").help).toMatch(/lasthop_client_delivered_counter/);
    expect(CLIENT_DELIVERED_COUNTER).toBe("egress.lasthop.lasthop_client_delivered_counter");
  });

  it("a cut link: link_up 0, one repair in the histogram with its writes; /api/state has the repaired tree", async () => {
    const link = lab.topology.links.findIndex((l) => l.ends[0].switch === "s4" && l.ends[0].port === 3);
    const name = lab.ctl.graph.linkName(link);
    lab.net.link(link).cut();
    await until(() => lab.failovers.some((f) => f.link === name && !f.up), 30_000, `repair after ${name}`);
    const f = lab.failovers.find((x) => x.link === name && !x.up)!;
    const m = await scrape(lab);
    expect(value(m, "p4cast_link_up", { link: name })).toBe(0);
    expect(value(m, "p4cast_repairs_total", { link_state: "down" })).toBe(1);
    expect(value(m, "p4cast_repair_writes_total")).toBe(f.writes);
    const h = family(m, "p4cast_repair_duration_seconds").metrics[0]!;
    expect(Number(h.count)).toBe(1);
    expect(Number(h.sum)).toBeCloseTo(f.repairMs / 1000, 6);
    const st = (await (await fetch(new URL("/api/state?fresh=1", lab.live.url))).json()) as LiveState;
    expect(st.deployed).toBe(true);
    expect(st.switches.map((s) => s.name)).toEqual(["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]);
    expect(st.links.find((l) => l.name === name)!.state).toBe("down");
    expect(st.links.find((l) => l.name === name)!.reasons.length).toBeGreaterThan(0);
    const s1 = st.sessions.find((s) => s.id === 1)!;
    expect(s1.tree.map((e) => `${e.from}→${e.to}`).sort()).toEqual(planTree(lab.ctl, 1));
    expect(s1.tree.some((e) => e.link === link)).toBe(false);
    expect(Object.keys(s1.lastHops).sort()).toEqual(["s6", "s7", "s8"]);
    expect(st.counters?.dedup.length).toBe(6);
    expect(st.counters?.clients.map((c) => `${c.session}/${c.client}@${c.lastHop}`).sort()).toEqual([
      "1/c61@s6",
      "1/c62@s6",
      "1/c71@s7",
      "1/c72@s7",
      "1/c81@s8",
      "1/c82@s8",
      "2/c61@s6",
      "2/c71@s7",
      "2/c81@s8",
    ]);
    expect(st.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(["link-down", "repair"]));
    const repair = st.timeline.find((e) => e.kind === "repair")!;
    expect(repair.writes).toBe(f.writes);
  });

  it("read-only and local: other methods are refused, foreign Host names too; non-loopback listen needs a flag", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const r = await fetch(new URL("/api/state", lab.live.url), { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.get("allow")).toBe("GET, HEAD");
    }
    const u = new URL(lab.live.url);
    const foreign = await new Promise<number>((resolve, reject) => {
      import("node:http").then(({ get }) =>
        get({ host: u.hostname, port: u.port, path: "/api/state", headers: { host: "attacker.example" } }, (res) =>
          resolve(res.statusCode!),
        ).on("error", reject),
      );
    });
    expect(foreign).toBe(403);
    expect((await fetch(new URL("/nope", lab.live.url))).status).toBe(404);
    const page = await fetch(lab.live.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script src="\/vendor\/cytoscape\.min\.js">/);
    expect((await fetch(new URL("/vendor/cytoscape.min.js", lab.live.url))).status).toBe(200);
    expect(() => parseHttpAddress("0.0.0.0:8080")).toThrow(/--http-allow-remote/);
    expect(() => parseHttpAddress("192.0.2.1:8080")).toThrow(/not a loopback address/);
    expect(parseHttpAddress("0.0.0.0:8080", true)).toEqual({ host: "0.0.0.0", port: 8080, loopback: false });
    expect(parseHttpAddress(":8080")).toEqual({ host: "127.0.0.1", port: 8080, loopback: true });
    expect(parseHttpAddress("[::1]:0")).toEqual({ host: "::1", port: 0, loopback: true });
    expect(() => parseHttpAddress("8080")).toThrow(/host:port/);
  });
});
