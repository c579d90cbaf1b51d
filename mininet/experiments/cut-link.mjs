#!/usr/bin/env node
/**
 * Example experiment, run as the launcher's command:
 *
 *   python3 mininet/p4cast_net.py -t examples/mesh8.yaml -s bmv2 -- \
 *       node mininet/experiments/cut-link.mjs --session 1 --cut s1,s2 [--rate 50] [--seconds 6] [--cut-at 2]
 *
 * Deploys the topology with the controller running (`p4cast deploy --run`),
 * has every client of the session count the distinct datagrams it receives,
 * streams `rate` datagrams per second from the session's source to its
 * service address, cuts the link (two switches, or an interface) `cut-at`
 * seconds in, and prints one JSON line per client: sent, received, lost.
 * Reads the network from $P4CAST_NETWORK and the topology from
 * $P4CAST_TOPOLOGY (both set by the launcher).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "yaml";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: o } = parseArgs({
  options: {
    session: { type: "string", default: "1" },
    cut: { type: "string" },
    rate: { type: "string", default: "50" },
    seconds: { type: "string", default: "6" },
    "cut-at": { type: "string", default: "2" },
    settle: { type: "string", default: "3" },
  },
});
const network = JSON.parse(readFileSync(process.env.P4CAST_NETWORK ?? "/tmp/p4cast-mininet/network.json", "utf8"));
const topologyFile = process.env.P4CAST_TOPOLOGY;
if (!topologyFile) throw new Error("run me as the launcher's command (P4CAST_TOPOLOGY is not set)");
const topology = topologyFile.endsWith(".json") ? JSON.parse(readFileSync(topologyFile, "utf8")) : parse(readFileSync(topologyFile, "utf8"));
const session = topology.sessions.find((s) => String(s.id) === o.session);
if (!session) throw new Error(`no session ${o.session} in ${topologyFile}`);
const host = (name) => network.hosts.find((h) => h.name === name);
const family = session.service.address.includes(":") ? "udp6" : "udp4";
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const inHost = (name, script, ...args) => spawn("ip", ["netns", "exec", host(name).netns, process.execPath, "-e", script, ...args], { stdio: ["ignore", "pipe", "inherit"] });

const controller = spawn(process.execPath, [join(repo, "dist", "cli", "main.js"), "deploy", "--topology", topologyFile, "--run"], { stdio: ["ignore", "ignore", "inherit"] });
await sleep(Number(o.settle));

const seconds = Number(o.seconds);
const total = Math.round(Number(o.rate) * seconds);
const clients = session.clients.map((name) => {
  const fam = host(name).ipv4 && family === "udp4" ? "udp4" : "udp6";
  const child = inHost(name, `const s=require("node:dgram").createSocket("${fam}");const seen=new Set();s.on("message",(m)=>seen.add(m.toString()));s.bind(${session.service.port});setTimeout(()=>{process.stdout.write(String(seen.size));process.exit(0)},${(seconds + 2) * 1000});`);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  return { name, done: new Promise((r) => child.once("exit", () => r(Number(out)))) };
});
await sleep(0.5);
inHost(session.source, `const s=require("node:dgram").createSocket("${family}");let i=0;const t=setInterval(()=>{s.send("seq-"+(i++),${session.service.port},"${session.service.address}");if(i>=${total}){clearInterval(t);setTimeout(()=>process.exit(0),100)}},${1000 / Number(o.rate)});`);
if (o.cut) {
  await sleep(Number(o["cut-at"]));
  const r = spawnSync("python3", [join(repo, "mininet", "p4cast_net.py"), "--workdir", network.workdir, "--cut", ...o.cut.split(",")], { encoding: "utf8" });
  process.stderr.write(r.stdout + r.stderr);
}
for (const c of clients) {
  const received = await c.done;
  console.log(JSON.stringify({ session: session.id, client: c.name, sent: total, received, lost: total - received, cut: o.cut ?? null }));
}
controller.kill("SIGINT");
await new Promise((r) => controller.once("exit", r));
