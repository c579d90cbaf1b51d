/** Entry point of the lab child process (see lab-process.ts). */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { EmbeddedNetwork } from "./embedded-network.js";
import type { Topology } from "../controller/topology/schema.js";

const topology = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Topology;
const net = await EmbeddedNetwork.start(topology);
process.stdout.write(`${JSON.stringify(Object.fromEntries(net.addresses))}\n`);
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const [cmd, link] = line.trim().split(/\s+/);
  try {
    if (cmd === "cut") net.link(link!).cut();
    else if (cmd === "restore") net.link(link!).restore();
  } catch (e) {
    process.stderr.write(`lab: ${e instanceof Error ? e.message : String(e)}\n`);
  }
});
rl.on("close", () => {
  void net.stop().then(() => process.exit(0));
});
