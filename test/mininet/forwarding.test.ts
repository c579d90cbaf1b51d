/**
 * End to end in Mininet: examples/line3.yaml on each switch kind available
 * (the embedded switch on raw interfaces; simple_switch_grpc when on PATH),
 * the project's compiled data plane (p4/build) pushed over P4Runtime, host
 * routes on every switch along shortest paths, then UDP request/response
 * between hosts of different switches over IPv4 and IPv6, through the Linux
 * kernels of the hosts and the veths. This checks the launcher's addressing
 * conventions (gateway MACs, neighbor entries, interface numbering) against
 * a real forwarding data plane. Skips with the reason when Mininet, root or
 * the switch kind is missing.
 */
import { describeUnless } from "../support/skips.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { loadP4Info } from "../../src/p4runtime/p4info/load.js";
import { launcher, mininetSkipReason, PY, repo, sh, startNetwork, type RunningNetwork, type SwitchKind } from "./support/network.js";
import { routes, udpExchange } from "./support/traffic.js";

const topology = join(repo, "examples", "line3.yaml");
const kinds: SwitchKind[] = ["embedded", "bmv2"];

for (const kind of kinds) {
  const skipReason = mininetSkipReason(kind);
  if (skipReason) console.log(`[p4cast tests] mininet forwarding on ${kind}: skipped: ${skipReason}`);

  describeUnless(skipReason, `Mininet forwarding on ${kind} (line3, p4cast data plane)`, () => {
    let run: RunningNetwork;
    const clients: P4RuntimeClient[] = [];

    beforeAll(async () => {
      run = await startNetwork({ kind, topology, workdir: `/tmp/p4cast-mininet-test-${kind}`, extraArgs: ["--no-pcap"] });
      const p4info = await loadP4Info(join(repo, "p4", "build", "p4cast.p4info.txtpb"));
      const deviceConfig = readFileSync(join(repo, "p4", "build", "p4cast.json"));
      const table = routes(run.net);
      for (const s of run.net.switches) {
        const c = await P4RuntimeClient.connect({ address: s.grpc, deviceId: s.deviceId, electionId: 1n, reconnect: false });
        clients.push(c);
        await c.setPipeline({ p4info, deviceConfig, cookie: 1n });
        await c.insert(...table.get(s.name)!);
      }
    }, 120_000);

    afterAll(async () => {
      for (const c of clients) c.close();
      await run?.stop();
    }, 30_000);

    it("carries IPv4 UDP both ways across three switches", async () => {
      expect(await udpExchange(run.net, "h1", "h2", 4)).toBe("echo:hello from h1");
      expect(await udpExchange(run.net, "h3", "h1", 4)).toBe("echo:hello from h3");
    });

    it("carries IPv6 UDP both ways across three switches", async () => {
      expect(await udpExchange(run.net, "h1", "h3", 6)).toBe("echo:hello from h1");
      expect(await udpExchange(run.net, "h2", "h1", 6)).toBe("echo:hello from h2");
    });

    it("stops at a cut link and carries traffic again once it is restored", async () => {
      const workdir = `/tmp/p4cast-mininet-test-${kind}`;
      const cut = sh([PY, launcher, "--workdir", workdir, "--cut", "s2", "s3"]);
      expect(cut.status, cut.stderr).toBe(0);
      expect(cut.stdout).toContain("s2-eth2 <-> s3-eth3 cut");
      await expect(udpExchange(run.net, "h1", "h2", 4)).rejects.toThrow(/no reply/);
      const restore = sh([PY, launcher, "--workdir", workdir, "--restore", "s3-eth3"]);
      expect(restore.status, restore.stderr).toBe(0);
      expect(await udpExchange(run.net, "h1", "h2", 4)).toBe("echo:hello from h1");
      expect(await udpExchange(run.net, "h3", "h1", 6)).toBe("echo:hello from h3");
    }, 30_000);

    it("tears down cleanly", async () => {
      expect(await run.stop(), run.output()).toBe(0);
    }, 30_000);
  });
}
