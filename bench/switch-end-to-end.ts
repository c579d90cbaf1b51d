/**
 * End-to-end forwarding: frames go in through a Linux interface and come out
 * through another, the switch being a process of its own — the embedded
 * switch (`p4cast switch --interface`) or simple_switch_grpc — with the same
 * program (test/fixtures/p4/bench_tables.p4: an exact IPv4 table) and the
 * same entry pushed over P4Runtime. The bench process sends at fixed offered
 * rates, then as fast as it can, and counts what arrives on the far side.
 *
 * What a figure includes: the kernel's veth pairs, the switch's port I/O and
 * pipeline, and this process's own raw sockets on both ends. The receiving
 * socket's kernel drops are counted separately, so a loss in the bench itself
 * is not charged to the switch.
 *
 * Needs root, the AF_PACKET addon, a built CLI (`npm run build`) and, for
 * simple_switch_grpc, the binary on PATH.
 */
import { P4RuntimeClient } from "../src/client/client.js";
import { Bmv2Network, bmv2NetworkUnavailable, type SwitchProgram } from "../src/lab/bmv2-network.js";
import { parseTopology } from "../src/controller/topology/load.js";
import type { RawSocketPort } from "../src/switch/ports/raw-socket.js";
import { buildFrame } from "../src/packet/index.js";
import { fixture } from "../test/support/fixtures.js";

export const OFFERED_RATES = [10_000, 50_000, 100_000, 200_000] as const;

export interface RateFigure {
  /** Packets per second asked for; undefined: as fast as the sender goes. */
  readonly offeredPps: number | undefined;
  /** What the sender really sent per second. */
  readonly sentPps: number;
  readonly sent: number;
  readonly delivered: number;
  /** Frames the bench's own receiving socket lost in the kernel (not the switch's doing). */
  readonly lostAtReceiver: number;
  readonly deliveredFraction: number;
}

export interface EndToEndResult {
  readonly switch: string;
  readonly figures: RateFigure[];
  /** The highest fixed offered rate delivered whole (every frame), if any. */
  readonly highestZeroDropPps: number | undefined;
}

const TOPOLOGY = `
name: bench-end-to-end
switches:
  - { name: s1, deviceId: 1, grpc: "127.0.0.1:50001", loopback: { ipv4: 10.255.0.1 } }
hosts:
  - { name: h1, mac: "00:00:00:00:00:01", ipv4: 10.0.0.1/24, attach: { switch: s1, port: 1 } }
  - { name: h2, mac: "00:00:00:00:00:02", ipv4: 10.0.0.2/24, attach: { switch: s1, port: 2 } }
links: []
sessions: []
`;

/** Why the end-to-end figure cannot be measured for `program` here, or undefined. */
export function endToEndUnavailable(program: SwitchProgram): string | undefined {
  return bmv2NetworkUnavailable(program);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `frame` at `pps` (or flat out) for `seconds`; returns the frames given to the socket and in how long. */
async function offer(
  port: RawSocketPort,
  frame: Uint8Array,
  pps: number | undefined,
  seconds: number,
): Promise<{ sent: number; ms: number }> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    // Frames due by now at the offered rate; flat out, a chunk at a time so the receiver gets turns.
    const due = pps === undefined ? sent + 512 : Math.floor(((now - t0) / 1000) * pps);
    while (sent < due) {
      port.send(frame);
      sent++;
    }
    await new Promise<void>((r) => (pps === undefined ? setImmediate(r) : setTimeout(r, 1)));
  }
  return { sent, ms: performance.now() - t0 };
}

export async function measureEndToEnd(
  program: SwitchProgram,
  opts: { seconds?: number; rates?: readonly number[] } = {},
): Promise<EndToEndResult> {
  const seconds = opts.seconds ?? 2;
  const rates = opts.rates ?? OFFERED_RATES;
  const topology = parseTopology(TOPOLOGY, "bench end-to-end topology");
  const net = await Bmv2Network.start(topology, { program });
  const prog = fixture("bench_tables");
  const s1 = topology.switches[0]!;
  const client = await P4RuntimeClient.connect({ address: net.grpcAddress(s1), deviceId: 1n, electionId: 1n, reconnect: false });
  try {
    await client.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 1n });
    await client.insert({
      kind: "tableEntry",
      table: "host_exact",
      match: { "hdr.ipv4.dst_addr": "10.0.0.2" },
      action: { name: "set_port", params: { port: 2 } },
    });
    const sender = net.hosts.get("h1")!;
    const receiver = net.hosts.get("h2")!;
    const receiverSocket = receiver.end as RawSocketPort;
    let delivered = 0;
    receiver.onFrame(() => void delivered++);
    const frame = buildFrame({
      ethernet: { src: "00:00:00:00:00:01", dst: "00:00:00:00:00:02" },
      packet: {
        ip: { version: 4, src: "10.0.0.1", dst: "10.0.0.2", ttl: 64 },
        l4: { kind: "udp", udp: { srcPort: 40000, dstPort: 5000 }, payload: new Uint8Array(18) },
      },
    });
    // One frame through first: the switch is programmed and the path works.
    sender.send(frame);
    await receiver.waitFor(1, 5000);
    if (receiver.received.length === 0) throw new Error(`${program}: the first frame did not come out of port 2`);
    const figures: RateFigure[] = [];
    for (const pps of [...rates, undefined]) {
      receiver.received.length = 0;
      delivered = 0;
      const dropsBefore = receiverSocket.stats().kernelDrops;
      const senderSocket = sender.end as RawSocketPort;
      const txBefore = senderSocket.stats().txFrames;
      const { ms } = await offer(senderSocket, frame, pps, seconds);
      // What the kernel took from the sender (a full send buffer refuses frames: not offered).
      const sent = senderSocket.stats().txFrames - txBefore;
      // Wait until nothing more arrives (queues inside the switch drain).
      let last = -1;
      while (delivered !== last) {
        last = delivered;
        await sleep(300);
      }
      const lostAtReceiver = receiverSocket.stats().kernelDrops - dropsBefore;
      figures.push({ offeredPps: pps, sentPps: (sent * 1000) / ms, sent, delivered, lostAtReceiver, deliveredFraction: delivered / sent });
      receiver.received.length = 0;
      await sleep(200);
    }
    const whole = figures.filter((f) => f.offeredPps !== undefined && f.delivered + f.lostAtReceiver >= f.sent);
    return {
      switch: program === "p4cast" ? "embedded switch" : "simple_switch_grpc",
      figures,
      highestZeroDropPps: whole.length ? Math.max(...whole.map((f) => f.offeredPps!)) : undefined,
    };
  } finally {
    client.close();
    await net.stop();
  }
}
