/**
 * RawSocketPort on a real Linux interface: a veth pair whose one end stays
 * here (the switch side) and whose other end lives in a network namespace
 * made for the test, where a helper process holds a second AF_PACKET socket.
 * Frames go both ways and must arrive byte for byte, in order. Needs root
 * and the built addon (native/afpacket/build.sh); skips with the reason
 * otherwise.
 */
import { describeUnless } from "../support/skips.js";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { networkNamespacesUnavailable } from "../../src/lab/mininet-network.js";
import {
  AFPACKET_BUILD_COMMAND,
  afpacketAddonPath,
  afpacketAvailable,
  parseInterfaceSpec,
  RawSocketPort,
} from "../../src/switch/ports/raw-socket.js";

const isRoot = process.getuid?.() === 0;
const haveIp = spawnSync("ip", ["-V"], { stdio: "ignore" }).status === 0;
const skipReason =
  process.platform !== "linux"
    ? "not Linux"
    : !isRoot
      ? "not root (raw sockets and network namespaces need root)"
      : !haveIp
        ? "iproute2's ip is not installed"
        : !afpacketAvailable()
          ? `the AF_PACKET addon is not built (${afpacketAddonPath()}); run ${AFPACKET_BUILD_COMMAND}`
          : networkNamespacesUnavailable();
if (skipReason) console.log(`[p4cast tests] raw-socket: skipped: ${skipReason}`);

const tag = `${process.pid % 100000}`;
const NS = `p4ct-rs${tag}`;
const HERE = `p4rsa${tag}`; // switch side, in our namespace
const THERE = `p4rsb${tag}`; // peer side, in NS

/** Frames from the test carry these source MACs; anything else (kernel chatter) is ignored. */
const MAC_HERE = Buffer.from("020000aa0001", "hex");
const MAC_THERE = Buffer.from("020000aa0002", "hex");
/** Source MAC of the flood test's frames. */
const MAC_FLOOD = Buffer.from("020000aa0003", "hex");

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

function frame(src: Buffer, payloadLen: number, etherType = 0x88b5, vlan?: number): Buffer {
  const dst = Buffer.from("020000bb0001", "hex");
  const head =
    vlan === undefined
      ? Buffer.from([etherType >> 8, etherType & 0xff])
      : Buffer.from([0x81, 0x00, vlan >> 8, vlan & 0xff, etherType >> 8, etherType & 0xff]);
  return Buffer.concat([dst, src, head, randomBytes(payloadLen)]);
}

/** The peer: `node` in NS with its own AF_PACKET socket, driven over stdin/stdout lines. */
class Peer {
  readonly received: Buffer[] = [];
  private waiters: (() => void)[] = [];
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  static async start(): Promise<Peer> {
    const script = `
      const { createRequire } = require("node:module");
      const { AfPacketSocket } = require(${JSON.stringify(afpacketAddonPath())});
      const s = new AfPacketSocket(${JSON.stringify(THERE)}, (data, ends) => {
        const from = Buffer.from(${JSON.stringify(MAC_HERE.toString("hex"))}, "hex");
        let start = 0;
        for (const end of ends) {
          const f = data.subarray(start, end);
          start = end;
          if (f.subarray(6, 12).equals(from)) process.stdout.write("recv " + f.toString("hex") + "\\n");
        }
      }, (e) => process.stdout.write("error " + e.message + "\\n"));
      require("node:readline").createInterface({ input: process.stdin }).on("line", (l) => {
        const [cmd, hex] = l.split(" ");
        if (cmd === "send") process.stdout.write("sent " + s.send(Buffer.from(hex, "hex")) + "\\n");
        if (cmd === "exit") { s.close(); process.exit(0); }
      });
      process.stdout.write("ready\\n");
    `;
    const child = spawn("ip", ["netns", "exec", NS, process.execPath, "-e", script], { stdio: ["pipe", "pipe", "pipe"] });
    const peer = new Peer(child);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`peer exited (${code}): ${stderr}`)));
      lines.on("line", (l) => {
        if (l === "ready") resolve();
        else if (l.startsWith("recv ")) {
          peer.received.push(Buffer.from(l.slice(5), "hex"));
          for (const w of peer.waiters.splice(0)) w();
        } else if (l.startsWith("error ")) reject(new Error(l));
      });
    });
    return peer;
  }

  send(f: Buffer): void {
    this.child.stdin.write(`send ${f.toString("hex")}\n`);
  }

  async waitFor(n: number, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const done = new Promise((r) => this.child.once("exit", r));
    this.child.stdin.write("exit\n");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 2000);
    await done;
    clearTimeout(t);
  }
}

const hrUs = (): number => Number(process.hrtime.bigint()) / 1000;

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describeUnless(skipReason, "RawSocketPort on a veth pair", () => {
  let port: RawSocketPort;
  let peer: Peer;
  const got: Buffer[] = [];
  /** Per frame in `got`: its arrival stamp and when the handler ran (µs, process.hrtime's clock). */
  const gotAt: { arrivedUs: number | undefined; readUs: number }[] = [];
  let floodSeen = 0;

  beforeAll(async () => {
    spawnSync("ip", ["netns", "del", NS], { stdio: "ignore" }); // a leftover of a killed run
    spawnSync("ip", ["link", "del", HERE], { stdio: "ignore" });
    ip("netns", "add", NS);
    ip("link", "add", HERE, "type", "veth", "peer", "name", THERE, "netns", NS);
    // No IPv6 on either end: the kernel would send its own frames (DAD, MLD).
    spawnSync("sysctl", ["-qw", `net.ipv6.conf.${HERE}.disable_ipv6=1`]);
    spawnSync("ip", ["netns", "exec", NS, "sysctl", "-qw", `net.ipv6.conf.${THERE}.disable_ipv6=1`]);
    ip("link", "set", HERE, "up");
    ip("-n", NS, "link", "set", THERE, "up");
    port = new RawSocketPort(HERE);
    port.onReceive((f, arrivedUs) => {
      const src = Buffer.from(f.subarray(6, 12));
      if (src.equals(MAC_THERE)) {
        got.push(Buffer.from(f));
        gotAt.push({ arrivedUs, readUs: hrUs() });
      } else if (src.equals(MAC_FLOOD)) floodSeen++;
    });
    peer = await Peer.start();
  });

  afterAll(async () => {
    port?.close();
    await peer?.stop();
    spawnSync("ip", ["netns", "del", NS]);
    // Deleting the namespace deletes THERE, and with it HERE, asynchronously.
    await until(() => spawnSync("ip", ["link", "show", HERE], { stdio: "ignore" }).status !== 0);
    spawnSync("ip", ["link", "del", HERE], { stdio: "ignore" });
    expect(spawnSync("ip", ["link", "show", HERE], { stdio: "ignore" }).status).not.toBe(0);
    expect(spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout).not.toContain(NS);
  });

  it("sends frames out of the interface byte for byte, in order", async () => {
    const frames = [frame(MAC_HERE, 0), frame(MAC_HERE, 46), frame(MAC_HERE, 1500), frame(MAC_HERE, 100, 0x0800), frame(MAC_HERE, 7)];
    for (const f of frames) port.send(f);
    await peer.waitFor(frames.length);
    expect(peer.received.map((b) => b.toString("hex"))).toEqual(frames.map((b) => b.toString("hex")));
    expect(port.stats().txFrames).toBeGreaterThanOrEqual(frames.length);
  });

  it("receives frames from the interface byte for byte, in order, and not its own", async () => {
    got.length = 0;
    const frames = Array.from({ length: 50 }, (_, i) => frame(MAC_THERE, 46 + ((i * 37) % 1400)));
    for (const f of frames) peer.send(f);
    port.send(frame(MAC_THERE, 20)); // our own transmission, even with the peer's MAC, must not come back
    await until(() => got.length >= frames.length);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.map((b) => b.toString("hex"))).toEqual(frames.map((b) => b.toString("hex")));
  });

  it("stamps each frame with when it arrived, not when it was read", async () => {
    got.length = 0;
    gotAt.length = 0;
    const before = port.stats().kernelPackets;
    const sentUs = hrUs();
    peer.send(frame(MAC_THERE, 46));
    // This process stays busy until the kernel has the frame in the ring, and 30 ms longer.
    const deadline = Date.now() + 10_000;
    while (port.stats().kernelPackets === before && Date.now() < deadline);
    const inRingUs = hrUs();
    while (hrUs() < inRingUs + 30_000);
    await until(() => got.length >= 1);
    const { arrivedUs, readUs } = gotAt[0]!;
    expect(arrivedUs).toBeDefined();
    expect(arrivedUs!).toBeGreaterThanOrEqual(sentUs);
    expect(arrivedUs!).toBeLessThanOrEqual(inRingUs);
    expect(readUs - arrivedUs!).toBeGreaterThanOrEqual(30_000);
  });

  it("keeps 802.1Q tags in both directions", async () => {
    got.length = 0;
    peer.received.length = 0;
    const out = frame(MAC_HERE, 60, 0x0800, 0x2064);
    port.send(out);
    await peer.waitFor(1);
    expect(peer.received[0]?.toString("hex")).toBe(out.toString("hex"));
    const inn = frame(MAC_THERE, 60, 0x86dd, 0x0005);
    peer.send(inn);
    await until(() => got.length >= 1);
    expect(got[0]?.toString("hex")).toBe(inn.toString("hex"));
  });

  it("survives its link going down and up", async () => {
    ip("link", "set", HERE, "down");
    expect(() => port.send(frame(MAC_HERE, 60))).not.toThrow();
    ip("link", "set", HERE, "up");
    await until(() => spawnSync("ip", ["-o", "link", "show", HERE], { encoding: "utf8" }).stdout.includes("LOWER_UP"));
    got.length = 0;
    const f = frame(MAC_THERE, 80);
    peer.send(f);
    await until(() => got.length >= 1);
    expect(got[0]?.toString("hex")).toBe(f.toString("hex"));
  });

  it("reports a deleted interface once and then drops what it is given", async () => {
    const a = `p4rsc${tag}`;
    ip("link", "add", a, "type", "veth", "peer", "name", `p4rsd${tag}`);
    try {
      ip("link", "set", a, "up");
      const errors: Error[] = [];
      const p = new RawSocketPort(a, { onError: (e) => errors.push(e) });
      ip("link", "del", a);
      await until(() => errors.length > 0);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toContain(a);
      p.send(frame(MAC_HERE, 10));
      expect(p.stats().droppedClosed).toBe(1);
      p.close();
    } finally {
      spawnSync("ip", ["link", "del", a], { stdio: "ignore" });
    }
  });

  it("names a missing interface", () => {
    expect(() => new RawSocketPort("p4nosuch0")).toThrow(/p4nosuch0.*no interface named/);
  });

  it("opens an interface inside another network namespace, and the process stays in its own", async () => {
    // THERE lives in NS only: opened with the namespace's path, it talks to HERE.
    const inNs = new RawSocketPort(THERE, { netns: `/run/netns/${NS}` });
    const there: Buffer[] = [];
    inNs.onReceive((f) => {
      if (Buffer.from(f.subarray(6, 12)).equals(MAC_HERE)) there.push(Buffer.from(f));
    });
    try {
      got.length = 0;
      const toHere = frame(MAC_THERE, 64);
      inNs.send(toHere);
      await until(() => got.length >= 1);
      expect(got[0]?.toString("hex")).toBe(toHere.toString("hex"));
      const toThere = frame(MAC_HERE, 90);
      port.send(toThere);
      await until(() => there.length >= 1);
      expect(there[0]?.toString("hex")).toBe(toThere.toString("hex"));
      // Back in our namespace: THERE is not visible here, HERE still is.
      expect(() => new RawSocketPort(THERE)).toThrow(/no interface named/);
      new RawSocketPort(HERE).close();
    } finally {
      inNs.close();
    }
  });

  it("names a missing namespace, and an interface missing in the namespace", () => {
    expect(() => new RawSocketPort(THERE, { netns: "/run/netns/p4cast-no-such-ns" })).toThrow(/p4cast-no-such-ns/);
    expect(() => new RawSocketPort(HERE, { netns: `/run/netns/${NS}` })).toThrow(
      new RegExp(`no interface named "${HERE}" in /run/netns/${NS}`),
    );
  });

  it("accounts for every frame when flooded past its capacity: sent = received + dropped", async () => {
    // The sender lives in this process (its socket in NS on THERE): while the loop below sends,
    // this event loop cannot read HERE, so its receive queue fills and the kernel drops the rest.
    const sender = new RawSocketPort(THERE, { netns: `/run/netns/${NS}` });
    try {
      const before = port.stats();
      expect(before.ringSlots, "receive ring slots").toBeGreaterThanOrEqual(4096);
      expect(before.ringSlotBytes, "receive ring slot: a 1500-byte MTU frame fits").toBeGreaterThanOrEqual(2048);
      floodSeen = 0;
      const f = frame(MAC_FLOOD, 46);
      let attempts = 0;
      // Until the kernel has dropped plenty (the ring holds 8192 frames), at most 10^6 frames.
      while (attempts < 1_000_000 && port.stats().kernelDrops - before.kernelDrops < 2000) {
        for (let i = 0; i < 5000; i++, attempts++) sender.send(f);
      }
      // Now let the port drain its queue: the kernel's count of frames offered = read + dropped.
      const drained = () => {
        const s = port.stats();
        return s.kernelPackets - before.kernelPackets === s.rxFrames - before.rxFrames + (s.kernelDrops - before.kernelDrops);
      };
      await until(drained, 20_000);
      const rx = port.stats();
      const tx = sender.stats();
      const dropped = rx.kernelDrops - before.kernelDrops;
      const report = `attempts ${attempts}; sender ${JSON.stringify(tx)}; receiver ${JSON.stringify(rx)}; flood frames seen ${floodSeen}`;
      console.log(
        `[p4cast tests] raw-socket flood: ${attempts} sends, ${tx.txFrames} taken by the kernel, ` +
          `${tx.txNoBuffer} refused for want of room; ` +
          `received ${floodSeen}, kernel drops ${dropped} (receive ring of ${rx.ringSlots} slots)`,
      );
      expect(dropped, `the kernel dropped frames at the receiver: ${report}`).toBeGreaterThan(0);
      // Sending: every call counted once.
      expect(tx.txFrames + tx.txNoBuffer + tx.txLinkDown + tx.txErrors + tx.droppedClosed, report).toBe(attempts);
      // Receiving: every frame the sender's kernel took was handed to the switch or counted as dropped.
      expect(floodSeen + dropped, report).toBe(tx.txFrames);
      expect(rx.kernelPackets - before.kernelPackets, report).toBe(rx.rxFrames - before.rxFrames + dropped);
      expect(rx.kernelStatsErrno).toBe(0);
      // The counters stay after close.
      sender.close();
      expect(sender.stats().txFrames).toBe(tx.txFrames);
    } finally {
      sender.close();
    }
  }, 60_000);

  it("drops what it is given after close", () => {
    const p = new RawSocketPort(HERE);
    p.close();
    p.send(frame(MAC_HERE, 10));
    expect(p.stats().droppedClosed).toBe(1);
  });
});

describe("parseInterfaceSpec", () => {
  it("parses <port>@<interface>", () => {
    expect(parseInterfaceSpec("1@s1-eth1")).toEqual({ port: 1, ifname: "s1-eth1" });
    expect(parseInterfaceSpec(" 510@veth0 ")).toEqual({ port: 510, ifname: "veth0" });
  });
  it("rejects malformed specs", () => {
    for (const bad of ["s1-eth1", "1@", "@x", "600@x", "1@a/b", "1@sixteen-chars-xx", "x@y"])
      expect(() => parseInterfaceSpec(bad), bad).toThrow(/<port>@<interface>/);
  });
});
