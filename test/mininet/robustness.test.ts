/**
 * The launcher when things go wrong: a gRPC address already in use is
 * refused before anything is built; after the launcher is killed with
 * SIGKILL its switch processes die with it and `--cleanup` removes what is
 * left (netns names, switch-to-switch veths). Needs root, Mininet and the
 * AF_PACKET addon; skips with the reason otherwise.
 */
import { describeUnless } from "../support/skips.js";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { expect, it } from "vitest";
import { embeddedCommand, launcher, mininetSkipReason, PY, repo, sh, startNetwork } from "./support/network.js";

const topology = join(repo, "examples", "line3.yaml");
const workdir = "/tmp/p4cast-mininet-test-robustness";
const skipReason = mininetSkipReason("embedded");
if (skipReason) console.log(`[p4cast tests] mininet robustness: skipped: ${skipReason}`);

const intfs = ["s1-eth1", "s1-eth2", "s2-eth1", "s2-eth2", "s3-eth1", "s3-eth2", "s3-eth3"];
const present = () => intfs.filter((i) => existsSync(`/sys/class/net/${i}`));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return cond();
}

describeUnless(skipReason, "Mininet launcher robustness (line3, embedded)", () => {
  it("refuses a gRPC address in use, naming it, and builds nothing", async () => {
    const custom = embeddedCommand(() => undefined);
    const args = [
      launcher,
      "--topology",
      topology,
      "--switch",
      "embedded",
      "--workdir",
      workdir,
      ...(custom ? ["--embedded-command", JSON.stringify(custom)] : []),
      "--",
      "true",
    ];
    // Another test file's network may hold the machine (and port 20002): wait for it.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const server: Server = createServer();
      const listening = await new Promise<boolean>((r) => {
        server.once("error", () => r(false));
        server.listen(20002, "127.0.0.1", () => r(true));
      });
      if (listening) {
        const r = spawnSync(PY, args, { cwd: repo, encoding: "utf8", timeout: 60_000 });
        await new Promise((done) => server.close(done));
        if (!r.stderr.includes("another p4cast network is running") || Date.now() > deadline) {
          expect(r.status, r.stdout + r.stderr).toBe(1);
          expect(r.stderr).toMatch(/s2: grpc address 127\.0\.0\.1:20002 is already in use/);
          expect(present()).toEqual([]);
          return;
        }
      }
      if (Date.now() > deadline) throw new Error("port 20002 stayed busy");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }, 150_000);

  it("a SIGKILLed launcher leaves netns names and veths that --cleanup removes", async () => {
    const run = await startNetwork({ kind: "embedded", topology, workdir, extraArgs: ["--no-pcap"] });
    const switchPids = run.net.switches.map((s) => s.pid);
    run.process.kill("SIGKILL");
    await new Promise((r) => run.process.once("close", r));
    expect(await until(() => switchPids.every((p) => !alive(p)), 5000), "switches die with the launcher").toBe(true);
    expect(sh(["ip", "netns", "list"]).stdout).toMatch(/p4cast-h1/);
    expect(present().length).toBeGreaterThan(0);
    const c = spawnSync(PY, [launcher, "--cleanup", "--workdir", workdir], { encoding: "utf8" });
    expect(c.status, c.stdout + c.stderr).toBe(0);
    expect(present()).toEqual([]);
    expect(sh(["ip", "netns", "list"]).stdout).not.toMatch(/p4cast-h\d/);
    expect(existsSync(join(workdir, "state.json"))).toBe(false);
    await run.stop(); // already gone: only its own --cleanup, which finds nothing
  }, 120_000);
});
