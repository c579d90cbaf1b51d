/**
 * The README's flow, in order, on embedded switches: `deploy --embedded`
 * (kept running as a child process) → `status` → `watch --once` → `table
 * dump --grpc <a topology address>`, each exiting 0 with the expected
 * content; then SIGINT stops the deploy cleanly. The topology is a copy of
 * examples/mesh8.yaml on free ports. Also: an address that is taken is
 * refused naming the switch, and commands with no network running say which
 * switch they could not reach and what to start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { p4cast, repoRoot, startP4cast, type RunningCli } from "./cli.js";
import { topologyWithFreePorts, type TopologyCopy } from "../support/free-topology.js";

describe("the README flow on embedded switches", { timeout: 180_000 }, () => {
  let topo: TopologyCopy;
  let deploy: RunningCli;

  beforeAll(async () => {
    topo = await topologyWithFreePorts(join(repoRoot, "examples", "mesh8.yaml"));
  });

  afterAll(async () => {
    if (deploy && deploy.child.exitCode === null && deploy.child.signalCode === null) {
      deploy.child.kill("SIGKILL");
      await deploy.exited();
    }
    topo?.remove();
  });

  it("deploy --embedded prints where each switch listens and keeps running", async () => {
    deploy = startP4cast(["deploy", "-t", topo.path, "--embedded"]);
    await deploy.waitFor(/running: 8 switches, 2 sessions; Ctrl-C stops/, 90_000);
    for (const [name, address] of topo.grpc)
      expect(deploy.stdout()).toMatch(new RegExp(`${name}\\s+P4Runtime ${address.replace(/\./g, "\\.")}`));
    expect(deploy.stdout()).toMatch(/pipeline pushed to s1, s2, s3, s4, s5, s6, s7, s8/);
    expect(deploy.child.exitCode).toBeNull();
  });

  it("status shows the live network: every switch on the current pipeline, links answering heartbeats", async () => {
    const r = await p4cast(["status", "-t", topo.path, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ switches: { switch: string; reachable: boolean; pipeline: string }[]; links: { link: string; state: string }[] }>();
    expect(j.switches.map((s) => [s.switch, s.reachable, s.pipeline])).toEqual(
      [...topo.grpc.keys()].map((n) => [n, true, "p4cast (current)"]),
    );
    expect(j.links).toHaveLength(12);
    expect(j.links.filter((l) => !/^up/.test(l.state))).toEqual([]);
    const t = await p4cast(["status", "-t", topo.path]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/always-redundant/);
  });

  it("watch --once prints one refresh and exits 0", async () => {
    const r = await p4cast(["watch", "-t", topo.path, "--once"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/heartbeat responses \(total\)/);
    expect(r.stdout).toMatch(/│ 1\s+│ s6\s+│/);
    expect(r.stdout.match(/^\d{4}-\d\d-\d\dT/gm)).toHaveLength(1);
  });

  it("table dump --grpc <s1's address> lists s1's entries", async () => {
    const r = await p4cast(["table", "dump", "--grpc", topo.grpc.get("s1")!, "--device-id", "1", "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const entries = r.json<{ table: string; match: Record<string, string> }[]>();
    expect(entries.some((e) => e.table.endsWith("ipv4_local_exact") && e.match.dst_addr === "10.255.0.1")).toBe(true);
  });

  it("a second deploy --embedded on the same addresses is refused, naming the switch and address", async () => {
    const r = await p4cast(["deploy", "-t", topo.path, "--embedded"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`p4cast: error: switch s1 cannot listen on ${topo.grpc.get("s1")}: the address is in use`);
    expect(r.stderr).toMatch(/hint: stop whatever listens there/);
  });

  it("SIGINT stops the deploy cleanly (exit 0, switches closed)", async () => {
    deploy.child.kill("SIGINT");
    const { code, signal } = await deploy.exited();
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(deploy.stderr()).toMatch(/SIGINT: stopping the controller and the embedded switches\nstopped\n/);
    expect(deploy.stderr()).not.toMatch(/error/i);
    const after = await p4cast(["table", "dump", "--grpc", topo.grpc.get("s1")!, "--connect-timeout", "1000"]);
    expect(after.code).toBe(3);
  });

  it("with no network running, deploy, status and watch name an unreachable switch and suggest deploy --embedded (exit 3)", async () => {
    for (const args of [
      ["deploy", "-t", topo.path],
      ["status", "-t", topo.path],
      ["watch", "-t", topo.path, "--once"],
    ]) {
      const r = await p4cast(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`s1 (${topo.grpc.get("s1")})`);
      expect(r.stderr).toMatch(/hint: start the network first: `npx p4cast deploy -t .* --embedded`/);
      expect(r.stderr).not.toMatch(/--grpc/);
    }
  });

  it("deploy --embedded refuses an address taken by another program, naming the switch", async () => {
    const s3 = topo.grpc.get("s3")!;
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(Number(s3.split(":")[1]), "127.0.0.1", resolve));
    try {
      const r = await p4cast(["deploy", "-t", topo.path, "--embedded"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`switch s3 cannot listen on ${s3}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

describe("p4cast net up", { timeout: 120_000 }, () => {
  it("brings the switches up on the file's addresses until SIGTERM; deploy then programs them", async () => {
    const topo = await topologyWithFreePorts(join(repoRoot, "examples", "line3.yaml"));
    const up = startP4cast(["net", "up", "-t", topo.path]);
    try {
      await up.waitFor(/next: npx p4cast deploy/, 60_000);
      expect(up.stdout()).toContain(`s2  P4Runtime ${topo.grpc.get("s2")}`);
      const d = await p4cast(["deploy", "-t", topo.path]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toMatch(/pipeline pushed to s1, s2, s3/);
      // line3's last hop cannot be protected: deploy says so.
      expect(d.stdout).toMatch(/warning: protection coverage: session 1 \(always-redundant\): last hop s3 is not protected/);
      up.child.kill("SIGTERM");
      expect(await up.exited()).toEqual({ code: 0, signal: null });
      expect(up.stderr()).toMatch(/SIGTERM: stopping the switches\nstopped\n/);
    } finally {
      if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill("SIGKILL");
      topo.remove();
    }
  });
});
