/**
 * `p4cast status` shows what is installed, not what the file plans: after a
 * failover the installed tree avoids the broken link and differs from the
 * file's, and the link shows as down. The network (embedded switches on a
 * free-port copy of mesh8) and a controller with heartbeats run in this
 * process; status runs as a child process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { Controller, type FailoverReport } from "../../src/controller/controller.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import { p4cast, repoRoot } from "./cli.js";
import { topologyWithFreePorts, type TopologyCopy } from "../support/free-topology.js";

interface StatusJson {
  source: string;
  sessions: {
    session: number;
    ingress: string;
    tree: string;
    overlaysActive: string[];
    installed: boolean;
    asInFile: boolean;
    lastHops: string;
  }[];
  links: { link: string; state: string; detail: string }[];
}

describe("status after a failover", { timeout: 180_000 }, () => {
  let topo: TopologyCopy;
  let net: EmbeddedNetwork;
  let ctl: Controller;
  const failovers: FailoverReport[] = [];

  beforeAll(async () => {
    topo = await topologyWithFreePorts(join(repoRoot, "examples", "mesh8.yaml"));
    const t = loadTopology(topo.path);
    net = await EmbeddedNetwork.start(t, { addresses: "topology" });
    ctl = new Controller({ topology: t, pipeline: await loadPipeline(), electionId: 10n });
    ctl.on("failover", (f) => failovers.push(f));
    await ctl.connect();
    await ctl.deploy();
    ctl.startHeartbeats();
  });

  afterAll(async () => {
    await ctl?.close();
    await net?.stop();
    topo?.remove();
  });

  it("before: the installed trees are the planned ones and every link is up", async () => {
    const r = await p4cast(["status", "-t", topo.path, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<StatusJson>();
    expect(j.source).toMatch(/^switches/);
    expect(j.sessions.map((s) => [s.session, s.ingress, s.installed, s.asInFile, s.lastHops])).toEqual([
      [1, "s1", true, true, "s6 s7 s8"],
      [2, "s1", true, true, "s6 s7 s8"],
    ]);
    expect(j.sessions[0]!.tree.split(" ").sort()).toEqual(["s1→s2", "s1→s3", "s2→s4", "s3→s5", "s4→s6", "s4→s7", "s5→s8"]);
    expect(j.sessions[0]!.overlaysActive).toEqual(["s6", "s7", "s8"]);
    expect(j.sessions[1]!.overlaysActive).toEqual([]);
    expect(j.links.map((l) => l.state)).toEqual(Array(12).fill("up"));
  });

  it("after cutting s4:3-s6:3: the installed tree avoids it, differs from the file's, and the link is down", async () => {
    const cut = loadTopology(topo.path).links.findIndex((l) => l.ends[0].switch === "s4" && l.ends[0].port === 3);
    net.link(cut).cut();
    const deadline = Date.now() + 20_000;
    while (!failovers.some((f) => f.link === "s4:3-s6:3" && !f.up) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(failovers.map((f) => [f.link, f.up])).toContainEqual(["s4:3-s6:3", false]);
    const r = await p4cast(["status", "-t", topo.path, "--output", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<StatusJson>();
    const s1 = j.sessions.find((s) => s.session === 1)!;
    expect(s1.installed).toBe(true);
    expect(s1.asInFile).toBe(false);
    expect(s1.tree.split(" ")).not.toContain("s4→s6");
    expect(s1.lastHops).toBe("s6 s7 s8");
    expect(j.links.filter((l) => l.state !== "up").map((l) => [l.link, l.state])).toEqual([["s4:3-s6:3", "down"]]);
    const table = await p4cast(["status", "-t", topo.path]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/installed state, read from switches/);
    expect(table.stdout).toMatch(/differs \(failover\?\)/);
    expect(table.stdout).toMatch(/links down: s4:3-s6:3\n/);
  });
});
