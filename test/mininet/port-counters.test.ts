/**
 * The embedded switch's per-port counters, as `p4cast switch` prints them
 * (SIGUSR2, the same block as --stats), account for every frame when a port
 * is flooded past its capacity: the switch process is stopped (SIGSTOP)
 * while the test sends more frames than its receive ring holds, then let go.
 * Port 1's kernel count = frames the sender's kernel took = frames read +
 * frames the kernel dropped; everything read is forwarded to port 2, and
 * every frame port 2's socket sent reached the receiver's socket. Needs
 * root, the AF_PACKET addon and the built CLI; skips with the reason
 * otherwise.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bmv2NetworkUnavailable, CLI_MAIN } from "../../src/lab/bmv2-network.js";
import { buildFrame } from "../../src/packet/index.js";
import { parsePortStats, type PortStats } from "../../src/switch/ports/port.js";
import { RawSocketPort } from "../../src/switch/ports/raw-socket.js";
import { fixtureBuildDir, programBenchTables } from "../support/fixtures.js";
import { describeUnless } from "../support/skips.js";
import { join } from "node:path";

const skipReason = bmv2NetworkUnavailable("p4cast");
if (skipReason) console.log(`[p4cast tests] port counters: skipped: ${skipReason}`);

const tag = `${process.pid % 100000}`;
/** Switch ends and host ends of the two veth pairs. */
const SW = [`p4pcs1${tag}`, `p4pcs2${tag}`];
const HOST = [`p4pch1${tag}`, `p4pch2${tag}`];
/** More than the ring's 8192 slots: the kernel must drop some while the switch is stopped. */
const FLOOD = 20_000;

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await sleep(20);
}

describeUnless(skipReason, "per-port counters of p4cast switch under a flood", () => {
  let sw: ChildProcess;
  let stderr = "";
  let h1: RawSocketPort;
  let h2: RawSocketPort;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      spawnSync("ip", ["link", "del", SW[i]!], { stdio: "ignore" }); // a leftover of a killed run
      ip("link", "add", SW[i]!, "type", "veth", "peer", "name", HOST[i]!);
      for (const end of [SW[i]!, HOST[i]!]) {
        spawnSync("sysctl", ["-qw", `net.ipv6.conf.${end}.disable_ipv6=1`]);
        ip("link", "set", end, "up");
      }
    }
    const prog = join(fixtureBuildDir, "bench_tables");
    sw = spawn(
      process.execPath,
      [
        CLI_MAIN,
        "switch",
        "--grpc",
        "127.0.0.1:0",
        "--name",
        "pc",
        "--json",
        `${prog}.json`,
        "--p4info",
        `${prog}.p4info.json`,
        "--interface",
        `1@${SW[0]}`,
        "--interface",
        `2@${SW[1]}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    sw.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await until(() => /P4Runtime on [\d.]+:\d+/.test(stderr) || sw.exitCode !== null, 20_000);
    const address = /P4Runtime on ([\d.]+:\d+)/.exec(stderr)?.[1];
    if (!address) throw new Error(`p4cast switch did not start: ${stderr}`);
    await programBenchTables(address);
    h1 = new RawSocketPort(HOST[0]!);
    h2 = new RawSocketPort(HOST[1]!);
  }, 60_000);

  afterAll(async () => {
    h1?.close();
    h2?.close();
    if (sw && sw.exitCode === null) {
      sw.kill("SIGKILL");
      await new Promise((r) => sw.once("exit", r));
    }
    for (const v of SW) spawnSync("ip", ["link", "del", v], { stdio: "ignore" });
  });

  /** Asks the switch for its counters (SIGUSR2) and reads the block it prints. */
  async function switchStats(): Promise<Map<number, PortStats>> {
    const before = stderr.length;
    sw.kill("SIGUSR2");
    await until(() => /stats #\d+ end ports=\d+/.test(stderr.slice(before)), 10_000);
    const block = stderr.slice(before);
    const ports = new Map<number, PortStats>();
    for (const m of block.matchAll(/stats #\d+ port=(\d+) name=\S+ (.*)/g)) ports.set(Number(m[1]), parsePortStats(m[2]!));
    return ports;
  }

  it("accounts for every frame: sent = received + dropped at the flooded port, and everything forwarded arrives", async () => {
    let arrived = 0;
    h2.onReceive(() => void arrived++);
    const frame = buildFrame({
      ethernet: { src: "00:00:00:00:00:01", dst: "00:00:00:00:00:02" },
      packet: {
        ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2", ttl: 64 },
        l4: { kind: "udp", udp: { srcPort: 40000, dstPort: 5000 }, payload: new Uint8Array(18) },
      },
    });
    // The path works: one frame through.
    h1.send(frame);
    await until(() => arrived === 1, 5000);
    expect(arrived, "the first frame through the switch").toBe(1);
    const at = await switchStats();

    sw.kill("SIGSTOP");
    try {
      for (let i = 0; i < FLOOD; i++) h1.send(frame);
      h1.stats(); // sends what is queued
      await sleep(200);
    } finally {
      sw.kill("SIGCONT");
    }
    const tx = h1.stats();
    // What the sender's kernel took (a full backlog on a busy machine refuses some: counted, not sent).
    const sent = tx.txFrames - 1;
    // The switch drains its ring and forwards; wait until port 2's count stops moving.
    let last = -1;
    while (arrived !== last) {
      last = arrived;
      await sleep(300);
    }
    const now = await switchStats();
    const d = (port: number, k: keyof PortStats) => now.get(port)![k] - at.get(port)![k];
    const json = JSON.stringify;
    const report = `sent ${sent}; port 1 ${json(now.get(1))}; port 2 ${json(now.get(2))}; h2 ${json(h2.stats())}`;
    console.log(
      `[p4cast tests] port counters: ${sent} frames sent into port 1 while the switch was stopped; ` +
        `read ${d(1, "rxFrames")}, dropped by the kernel ${d(1, "kernelDrops")}; ` +
        `sent out of port 2 ${d(2, "txFrames")}; arrived ${arrived - 1}`,
    );
    expect(tx.txFrames + tx.txNoBuffer + tx.txLinkDown + tx.txErrors, report).toBe(FLOOD + 1);
    expect(d(1, "kernelDrops"), `the ring overflowed: ${report}`).toBeGreaterThan(0);
    // Port 1: every frame the kernel offered was read or dropped, and the kernel offered every frame sent.
    expect(d(1, "kernelPackets"), report).toBe(sent);
    expect(d(1, "rxFrames") + d(1, "kernelDrops"), report).toBe(sent);
    // Port 2: every frame read was forwarded and taken by the kernel (or counted as not).
    expect(d(2, "txFrames") + d(2, "txNoBuffer") + d(2, "txLinkDown") + d(2, "txErrors"), report).toBe(d(1, "rxFrames"));
    // The receiver: what port 2 sent arrived, or its own ring dropped it.
    const h2s = h2.stats();
    expect(arrived - 1 + h2s.kernelDrops, report).toBe(d(2, "txFrames"));
  }, 60_000);
});
