/**
 * The experiments (experiments/*.ts) in their short form on embedded
 * switches: each writes results.json, results.csv and plot.svg, and the
 * figures keep their invariants (always-redundant loses nothing; link
 * detection within (threshold + 1) intervals; every translated packet right;
 * meter colours close to the RFC 2698 model).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ExperimentOptions } from "../../experiments/lib.js";
import { main as failure } from "../../experiments/failure.js";
import { main as heartbeat } from "../../experiments/heartbeat.js";
import { main as translation } from "../../experiments/translation.js";
import { TrTcm, main as burst } from "../../experiments/burst.js";

const out = mkdtempSync(join(tmpdir(), "p4cast-experiments-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const opts: ExperimentOptions = { target: "embedded", short: true, out, quiet: true };

function files(experiment: string): void {
  const dir = join(out, experiment, "embedded");
  for (const f of ["results.json", "results.csv", "plot.svg"]) expect(existsSync(join(dir, f)), `${experiment}/${f}`).toBe(true);
  expect(readFileSync(join(dir, "plot.svg"), "utf8")).toMatch(/^<svg/);
  expect(readFileSync(join(dir, "results.csv"), "utf8").split("\n").length).toBeGreaterThan(2);
}

describe("experiments (--target embedded --short)", () => {
  it("failure: always-redundant loses nothing; the other modes lose only behind the cut", async () => {
    const r = await failure(opts);
    files("failure");
    const by = (m: string) => r.clients.filter((c) => c.mode === m);
    for (const c of by("always-redundant")) expect({ c: c.client, lost: c.lost, dup: c.duplicated }).toEqual({ c: c.client, lost: 0, dup: 0 });
    for (const c of r.clients) expect(c.duplicated).toBe(0);
    // Clients behind the cut link (s6) lose packets without redundancy; the others do not.
    expect(by("tree-only").filter((c) => c.client.startsWith("c6")).every((c) => c.lost > 0)).toBe(true);
    for (const m of ["tree-only", "overlay-on-failure"]) for (const c of by(m).filter((x) => !x.client.startsWith("c6"))) expect(c.lost).toBe(0);
    expect(r.detection.failover.length).toBeGreaterThan(0);
  }, 90_000);

  it("heartbeat: detection within (threshold + 1) intervals; the fast path reads once per interval", async () => {
    const r = await heartbeat(opts);
    files("heartbeat");
    for (const d of r.detection) {
      expect(d.ticks, `interval ${d.intervalMs} threshold ${d.threshold}`).toBeGreaterThan(0);
      expect(d.ticks).toBeLessThanOrEqual(d.threshold + 1);
      // Wall clock: the bound, with a margin for an interval stretched by a loaded machine (CI runs test files in parallel).
      expect(d.detectionMs).toBeLessThanOrEqual(d.boundMs + 2 * d.intervalMs);
    }
    for (const c of r.cost) {
      expect(c.linksDown).toBe(0);
      if (c.mode === "slow") expect(c.readsPerS).toBe(0);
      else expect(c.packetInsPerS).toBe(0);
    }
  }, 90_000);

  it("translation: every translated request and reply is right, checksums included; IPv6 receivers get the IPv4 stream", async () => {
    const r = await translation(opts);
    files("translation");
    expect(r.unicast.map((u) => `${u.exchange}/${u.packet}`)).toEqual(["ping/echo request", "ping/echo reply", "udp/request", "udp/reply", "tcp/SYN", "tcp/SYN-ACK", "tcp/ACK"]);
    for (const u of r.unicast) expect({ p: u.packet, received: u.received, checksums: u.checksumsOk, content: u.contentOk }).toEqual({ p: u.packet, received: true, checksums: true, content: true });
    expect(r.allRepliesCorrect).toBe(true);
    for (const m of r.multicast) {
      expect(m.translator).toBe("s5");
      expect(m.distinct).toBe(m.sent);
      expect(m.checksumErrors).toBe(0);
      expect(m.source).toBe("64:ff9b::a00:101");
    }
  }, 90_000);

  it("burst: colour counters within 5% of the RFC 2698 model; delivered = green + yellow", async () => {
    const r = await burst(opts);
    files("burst");
    for (const s of r.settings) {
      expect(s.maxFractionError, s.setting).toBeLessThanOrEqual(0.05);
      expect(s.measured.green + s.measured.yellow + s.measured.red).toBe(s.sent);
      expect(s.received).toBe(s.measured.green + s.measured.yellow);
    }
  }, 90_000);
});

describe("the RFC 2698 reference model", () => {
  it("colours a burst green, then yellow, then red, and refills at the rates", () => {
    const m = new TrTcm({ cir: 1000, cburst: 2000, pir: 2000, pburst: 3000 });
    expect([0, 0, 0, 0].map(() => m.colour(0, 1000))).toEqual(["green", "green", "yellow", "red"]);
    // 1 s later: +1,000 committed (now 1,000), +2,000 peak (capped at 3,000).
    expect(m.colour(1000, 1000)).toBe("green");
    expect(m.colour(1000, 1000)).toBe("yellow");
  });
});
