/**
 * Traffic helpers for Mininet tests: host routes along shortest paths for
 * the p4cast data plane's L3 tables, and a UDP request/response between two
 * hosts' namespaces.
 */
import { spawn } from "node:child_process";
import type { EntityInput } from "../../../src/client/entities/entity.js";
import type { NetworkFile } from "./network.js";

/** Per switch: the port towards every other switch along a shortest path (BFS over the file's links). */
export function nextHops(net: NetworkFile): Map<string, Map<string, { port: number; peerMac: string }>> {
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
export function routes(net: NetworkFile): Map<string, EntityInput[]> {
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
        entities.push({
          kind: "tableEntry",
          table: "ingress.l3.nexthop_exact",
          match: { nexthop_id: id },
          action: { name: "ingress.l3.forward_to_neighbor", params: { port, src_mac: src, dst_mac: dst } },
        });
      }
      return id;
    };
    for (const h of net.hosts) {
      const id =
        h.switch === sw.name
          ? nexthop(h.port, h.mac)
          : (() => {
              const hop = hops.get(sw.name)!.get(h.switch)!;
              return nexthop(hop.port, hop.peerMac);
            })();
      if (h.ipv4)
        entities.push({
          kind: "tableEntry",
          table: "ingress.l3.ipv4_lpm",
          match: { dst_addr: `${h.ipv4.split("/")[0]}/32` },
          action: { name: "ingress.l3.route_to_nexthop", params: { nexthop_id: id } },
        });
      if (h.ipv6)
        entities.push({
          kind: "tableEntry",
          table: "ingress.l3.ipv6_lpm",
          match: { dst_addr: `${h.ipv6.split("/")[0]}/128` },
          action: { name: "ingress.l3.route_to_nexthop", params: { nexthop_id: id } },
        });
    }
    out.set(sw.name, entities);
  }
  return out;
}

/** A UDP echo server in one host and one request from another; resolves with the reply text. */
export async function udpExchange(net: NetworkFile, from: string, to: string, family: 4 | 6): Promise<string> {
  const dst = net.hosts.find((h) => h.name === to)!;
  const src = net.hosts.find((h) => h.name === from)!;
  const addr = (family === 4 ? dst.ipv4 : dst.ipv6)!.split("/")[0]!;
  const type = family === 4 ? "udp4" : "udp6";
  const server = spawn("ip", [
    "netns",
    "exec",
    dst.netns,
    process.execPath,
    "-e",
    `const s=require("node:dgram").createSocket("${type}");
    s.on("message",(m,r)=>s.send(Buffer.concat([Buffer.from("echo:"),m]),r.port,r.address,()=>process.exit(0)));
    s.bind(7777,()=>process.stdout.write("up\\n"));
    setTimeout(()=>process.exit(2),12000);`,
  ]);
  await new Promise<void>((resolve, reject) => {
    server.stdout.once("data", () => resolve());
    server.once("exit", (c) => reject(new Error(`echo server in ${to} exited with ${c}`)));
  });
  const client = spawn("ip", [
    "netns",
    "exec",
    src.netns,
    process.execPath,
    "-e",
    `const s=require("node:dgram").createSocket("${type}");s.on("message",(m)=>{process.stdout.write(m.toString());process.exit(0)});` +
      `const send=()=>s.send("hello from ${from}",7777,"${addr}");send();setInterval(send,500);setTimeout(()=>process.exit(3),8000);`,
  ]);
  let reply = "";
  client.stdout.on("data", (d: Buffer) => (reply += d.toString()));
  const code = await new Promise<number | null>((r) => client.once("exit", r));
  server.kill();
  if (code !== 0) throw new Error(`no reply from ${to} (${addr}) to ${from} over IPv${family} (client exit ${code})`);
  return reply;
}
