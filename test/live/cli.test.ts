/**
 * status and watch with a running controller's live view: `--controller
 * URL`, or the URL the controller publishes in its run-state file for the
 * topology file; a controller that does not answer falls back to the
 * switches. deploy's --http checks its address before anything starts.
 * The network (embedded switches on a free-port copy of mesh8), the
 * controller and its live server run in this process; the CLI runs as a
 * child process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Controller } from "../../src/controller/controller.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { LiveServer } from "../../src/controller/live/server.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import { publishRunState } from "../../src/cli/run-state.js";
import { cliEntry, p4cast, repoRoot } from "../cli/cli.js";
import { topologyWithFreePorts, type TopologyCopy } from "../support/free-topology.js";
import { until } from "./support.js";

interface StatusJson {
  source: string;
  sessions: { session: number; tree: string; installed: boolean; asInFile: boolean; lastHops: string; overlaysActive: string[] }[];
  links: { link: string; state: string }[];
}

interface WatchJson {
  links: { link: string; from: string; total: number; rttMs?: number }[];
  sessions: { session: number; lastHop: string }[];
  clients: { session: number; client: string; lastHop: string; delivered: number }[];
}

const CLIENTS = ["1/c61@s6", "1/c62@s6", "1/c71@s7", "1/c72@s7", "1/c81@s8", "1/c82@s8", "2/c61@s6", "2/c71@s7", "2/c81@s8"];

describe("status and watch ask a running controller", { timeout: 180_000 }, () => {
  let topo: TopologyCopy;
  let net: EmbeddedNetwork;
  let ctl: Controller;
  let live: LiveServer;
  let runDir: string;
  const savedRunDir = process.env.P4CAST_RUN_DIR;

  beforeAll(async () => {
    runDir = mkdtempSync(join(tmpdir(), "p4cast-live-run-"));
    process.env.P4CAST_RUN_DIR = runDir;
    topo = await topologyWithFreePorts(join(repoRoot, "examples", "mesh8.yaml"));
    const t = loadTopology(topo.path);
    net = await EmbeddedNetwork.start(t, { addresses: "topology" });
    ctl = new Controller({ topology: t, pipeline: await loadPipeline(), electionId: 10n });
    live = await LiveServer.start(ctl, { address: "127.0.0.1:0" });
    await ctl.connect();
    await ctl.deploy();
    ctl.startHeartbeats();
    await until(() => live.state().links.every((l) => l.state === "up"), 30_000, "every link up");
  }, 120_000);

  afterAll(async () => {
    await live?.close();
    await ctl?.close();
    await net?.stop();
    topo?.remove();
    rmSync(runDir, { recursive: true, force: true });
    if (savedRunDir === undefined) delete process.env.P4CAST_RUN_DIR;
    else process.env.P4CAST_RUN_DIR = savedRunDir;
  });

  it("status --controller URL shows the controller's trees and link states", async () => {
    const r = await p4cast(["status", "-t", topo.path, "--controller", live.url, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<StatusJson>();
    expect(j.source).toMatch(/^the controller at http:\/\/127\.0\.0\.1:\d+\//);
    expect(j.sessions.map((s) => [s.session, s.installed, s.asInFile, s.lastHops])).toEqual([
      [1, true, true, "s6 s7 s8"],
      [2, true, true, "s6 s7 s8"],
    ]);
    expect(j.sessions[0]!.tree.split(" ").sort()).toEqual(["s1→s2", "s1→s3", "s2→s4", "s3→s5", "s4→s6", "s4→s7", "s5→s8"]);
    expect(j.sessions[0]!.overlaysActive).toEqual(["s6", "s7", "s8"]);
    expect(j.sessions[1]!.overlaysActive).toEqual([]);
    expect(j.links.map((l) => l.state)).toEqual(Array(12).fill("up"));
  });

  it("watch --controller URL --once prints the controller's counters", async () => {
    const r = await p4cast(["watch", "-t", topo.path, "--controller", live.url, "--once", "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<WatchJson>();
    expect(j.links.length).toBe(24); // every link from both ends
    expect(j.links.every((l) => l.total > 0)).toBe(true);
    // Fast-path heartbeats: every link end's round trip, as its switch measured it (the controller read it).
    expect(j.links.every((l) => typeof l.rttMs === "number" && l.rttMs > 0)).toBe(true);
    expect(j.sessions.map((s) => `${s.session}/${s.lastHop}`)).toEqual(["1/s6", "1/s7", "1/s8", "2/s6", "2/s7", "2/s8"]);
    expect(j.clients.map((c) => `${c.session}/${c.client}@${c.lastHop}`)).toEqual(CLIENTS);
    const table = await p4cast(["watch", "-t", topo.path, "--controller", live.url, "--once"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(`(from the controller at ${live.url})`);
    expect(table.stdout).toMatch(/round trip \(ms\)/);
    expect(table.stdout).toMatch(/duplicate \(last hop\)/);
    expect(table.stdout).toContain("c62");
  });

  it("without --controller, status finds the controller through its run-state file", async () => {
    const published = publishRunState(topo.path, () => ctl.state(), live.url);
    try {
      const r = await p4cast(["status", "-t", topo.path, "--output", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json<StatusJson>().source).toBe(`the controller at ${live.url} (its view: trees and overlays it wrote, link verdicts)`);
    } finally {
      published.stop();
    }
  });

  it("a controller that does not answer: status and watch read the switches", async () => {
    const r = await p4cast(["status", "-t", topo.path, "--controller", "http://127.0.0.1:1/", "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<StatusJson>().source).toMatch(/^switches/);
    expect(r.stderr).toMatch(/note: the controller at http:\/\/127\.0\.0\.1:1\/ does not answer .*; reading the switches/);
    const w = await p4cast(["watch", "-t", topo.path, "--controller", "http://127.0.0.1:1/", "--once", "--output", "json"]);
    expect(w.code, w.stderr).toBe(0);
    const j = w.json<WatchJson>();
    expect(j.sessions.length).toBe(6);
    // From the switches: the per-client counters, and each switch's hb_rtt (registers over P4Runtime here).
    expect(j.clients.map((c) => `${c.session}/${c.client}@${c.lastHop}`)).toEqual(CLIENTS);
    expect(j.links.every((l) => typeof l.rttMs === "number" && l.rttMs > 0)).toBe(true);
  });

  it("deploy --http: a non-loopback address needs --http-allow-remote, and --http needs --run (exit 2, nothing written)", async () => {
    const remote = await p4cast(["deploy", "-t", topo.path, "--run", "--http", "0.0.0.0:0"]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/--http-allow-remote/);
    const once = await p4cast(["deploy", "-t", topo.path, "--http", "127.0.0.1:0"]);
    expect(once.code).toBe(2);
    expect(once.stderr).toMatch(/add --run/);
  });
});

describe("deploy --embedded --http serves the view while it runs", { timeout: 180_000 }, () => {
  it("prints the URL, serves the page, /api/state and /metrics, publishes the URL for status, and stops on SIGINT", async () => {
    const { spawn } = await import("node:child_process");
    const topo = await topologyWithFreePorts(join(repoRoot, "examples", "mesh8.yaml"));
    const runDir = mkdtempSync(join(tmpdir(), "p4cast-live-run-"));
    const child = spawn(process.execPath, [...cliEntry, "deploy", "-t", topo.path, "--embedded", "--http", "127.0.0.1:0"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1", P4CAST_RUN_DIR: runDir },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await until(() => /running: /.test(stderr), 90_000, `deploy --embedded runs; stderr so far:\n${stderr}`, 100);
      const url = /live view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1];
      expect(url, stderr).toBeDefined();
      const page = await fetch(url!);
      expect(page.status).toBe(200);
      const st = (await (await fetch(new URL("api/state", url))).json()) as { deployed: boolean; switches: unknown[] };
      expect(st.deployed).toBe(true);
      expect(st.switches.length).toBe(8);
      const metrics = await (await fetch(new URL("metrics", url))).text();
      expect(metrics).toMatch(/^p4cast_switch_reachable\{switch="s1"\} 1$/m);
      const found = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const s = spawn(process.execPath, [...cliEntry, "status", "-t", topo.path, "--output", "json"], {
          cwd: repoRoot,
          stdio: ["ignore", "pipe", "ignore"],
          env: { ...process.env, NODE_NO_WARNINGS: "1", P4CAST_RUN_DIR: runDir },
        });
        let out = "";
        s.stdout.on("data", (d: Buffer) => (out += d.toString()));
        s.once("exit", (code) => resolve({ code, out }));
      });
      expect(found.code).toBe(0);
      expect((JSON.parse(found.out) as StatusJson).source).toMatch(new RegExp(`^the controller at ${url!.replace(/[.]/g, "\\.")}`));
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/stopped\n$/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      topo.remove();
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
