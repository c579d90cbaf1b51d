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
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import type { EntityInput } from "../../src/client/entities/entity.js";
import { loadP4Info } from "../../src/client/p4info/load.js";
import { mininetSkipReason, repo, sh, startNetwork, type NetworkFile, type RunningNetwork, type SwitchKind } from "./support/network.js";

const topology = join(repo, "examples", "line3.yaml");
const kinds: SwitchKind[] = ["embedded", "bmv2"];

/** Per switch: the port towards every other switch along a shortest path (BFS over the file's links). */
function nextHops(net: NetworkFile): Map<string, Map<string, { port: number; peerMac: string }>> {
  const out = new Map<string, Map<string, { port: number; peerMac: string }>>();
  const byName = new Map(net.switches.map((s) => [s.name, s]));
  for (const src of net.switches) {
    const first = new Map<string, { port: number; peerMac: string }>();
    const queue: string[] = [];
    for (const p of src.ports) {
      const peer = byName.get(p.peer);
      if (!peer || first.has(peer.name)) continue;
      const back = peer.ports.find((q) => q.peer === src.name)!;
      first.set(peer.name, { port: p.port, peerMac: back.mac });
      queue.push(peer.name);
    }
    while (queue.length) {
      const cur = byName.get(queue.shift()!)!;
      for (const p of cur.ports) {
        if (!byName.has(p.peer) || p.peer === src.name || first.has(p.peer)) continue;
        first.set(p.peer, first.get(cur.name)!);
        queue.push(p.peer);
      }
    }
    out.set(src.name, first);
  }
  return out;
}

/** ipv4_lpm / ipv6_lpm host routes and nexthop_exact neighbours for every host, on every switch. */
function routes(net: NetworkFile): Map<string, EntityInput[]> {
  const hops = nextHops(net);
  const out = new Map<string, EntityInput[]>();
  for (const sw of net.switches) {
    const entities: EntityInput[] = [];
    const nexthops = new Map<string, number>();
    const nexthop = (port: number, dst: string): number => {
      const key = `${port}/${dst}`;
      let id = nexthops.get(key);
      if (id === undefined) {
        id = nexthops.size + 1;
        nexthops.set(key, id);
        const src = sw.ports.find((p) => p.port === port)!.mac;
        entities.push({ kind: "tableEntry", table: "ingress.l3.nexthop_exact", match: { nexthop_id: id }, action: { name: "ingress.l3.forward_to_neighbor", params: { port, src_mac: src, dst_mac: dst } } });
      }
      return id;
    };
    for (const h of net.hosts) {
      const id = h.switch === sw.name ? nexthop(h.port, h.mac) : (() => {
        const hop = hops.get(sw.name)!.get(h.switch)!;
        return nexthop(hop.port, hop.peerMac);
      })();
      if (h.ipv4) entities.push({ kind: "tableEntry", table: "ingress.l3.ipv4_lpm", match: { dst_addr: `${h.ipv4.split("/")[0]}/32` }, action: { name: "ingress.l3.route_to_nexthop", params: { nexthop_id: id } } });
      if (h.ipv6) entities.push({ kind: "tableEntry", table: "ingress.l3.ipv6_lpm", match: { dst_addr: `${h.ipv6.split("/")[0]}/128` }, action: { name: "ingress.l3.route_to_nexthop", params: { nexthop_id: id } } });
    }
    out.set(sw.name, entities);
  }
  return out;
}

/** A UDP echo server in one host and one request from another; resolves with the reply text. */
async function udpExchange(net: NetworkFile, from: string, to: string, family: 4 | 6): Promise<string> {
  const dst = net.hosts.find((h) => h.name === to)!;
  const src = net.hosts.find((h) => h.name === from)!;
  const addr = (family === 4 ? dst.ipv4 : dst.ipv6)!.split("/")[0]!;
  const type = family === 4 ? "udp4" : "udp6";
  const server = spawn("ip", ["netns", "exec", dst.netns, process.execPath, "-e",
    `const s=require("node:dgram").createSocket("${type}");s.on("message",(m,r)=>s.send(Buffer.concat([Buffer.from("echo:"),m]),r.port,r.address,()=>process.exit(0)));s.bind(7777,()=>process.stdout.write("up\\n"));setTimeout(()=>process.exit(2),8000);`]);
  await new Promise<void>((resolve, reject) => {
    server.stdout.once("data", () => resolve());
    server.once("exit", (c) => reject(new Error(`echo server in ${to} exited with ${c}`)));
  });
  const client = spawn("ip", ["netns", "exec", src.netns, process.execPath, "-e",
    `const s=require("node:dgram").createSocket("${type}");s.on("message",(m)=>{process.stdout.write(m.toString());process.exit(0)});` +
    `const send=()=>s.send("hello from ${from}",7777,"${addr}");send();setInterval(send,500);setTimeout(()=>process.exit(3),4000);`]);
  let reply = "";
  client.stdout.on("data", (d: Buffer) => (reply += d.toString()));
  const code = await new Promise<number | null>((r) => client.once("exit", r));
  server.kill();
  if (code !== 0) throw new Error(`no reply from ${to} (${addr}) to ${from} over IPv${family} (client exit ${code})`);
  return reply;
}

for (const kind of kinds) {
  const skipReason = mininetSkipReason(kind);
  if (skipReason) console.log(`[p4cast tests] mininet forwarding on ${kind}: skipped: ${skipReason}`);

  describe.skipIf(skipReason !== undefined)(`Mininet forwarding on ${kind} (line3, p4cast data plane)`, () => {
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
      sh(["ip", "link", "set", "s2-eth2", "down"]);
      await expect(udpExchange(run.net, "h1", "h2", 4)).rejects.toThrow(/no reply/);
      sh(["ip", "link", "set", "s2-eth2", "up"]);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !sh(["ip", "-o", "link", "show", "s3-eth3"]).stdout.includes("LOWER_UP")) await new Promise((r) => setTimeout(r, 50));
      expect(await udpExchange(run.net, "h1", "h2", 4)).toBe("echo:hello from h1");
      expect(await udpExchange(run.net, "h3", "h1", 6)).toBe("echo:hello from h3");
    }, 30_000);

    it("tears down cleanly", async () => {
      expect(await run.stop(), run.output()).toBe(0);
    }, 30_000);
  });
}
