/**
 * Translation (npx tsx experiments/translation.ts --target embedded|bmv2 [--short]).
 *
 * examples/mesh8.yaml (s5 translates, NAT64 prefix 64:ff9b::/96) with three
 * hosts added: v4only (IPv4 only, at s6), v6b (IPv6 only, at s7), and an
 * explicit mapping fd00:5::1 <-> 10.0.5.1 for the IPv6-only host v6only at
 * s5, so that IPv4 replies have an address to go to (10.0.5.0/24 is s5's
 * through the host v4s5).
 *
 * 1. Unicast NAT64: v6only reaches v4only at 64:ff9b::10.0.6.9 with an
 *    ICMPv6 echo, a UDP datagram and a TCP handshake (SYN, SYN-ACK, ACK).
 *    Without Mininet they are crafted and this script answers on v4only's
 *    side; in Mininet (--mininet) the hosts' own stacks do it: ping, a UDP
 *    echo server and a TCP echo server in v4only, their clients in v6only
 *    (and ping the other way, v4only to v6only's mapped 10.0.5.1), while
 *    raw sockets in both hosts capture what arrives. Every packet is checked
 *    at the receiving end: translated addresses and every checksum.
 * 2. Multicast 4→6: v6only and v6b join the IPv6 form of session 2's group
 *    with MLD (crafted MLDv1 reports; in Mininet the receivers' kernels send
 *    MLDv2 reports when a socket joins the group); the source streams IPv4;
 *    both get it as IPv6 over the path the controller planned (its
 *    `translated` entries: via, translator, cost); in Mininet the receivers'
 *    UDP sockets count what their kernels accepted.
 */
import { join } from "node:path";
import { formatMac } from "../src/p4runtime/codec/values.js";
import { portMac } from "../src/controller/topology/addressing.js";
import { loadTopology } from "../src/controller/topology/load.js";
import type { HostSpec, Topology } from "../src/controller/topology/schema.js";
import { settle, streamFrame } from "../src/lab/stream.js";
import { TopologySchema } from "../src/controller/topology/schema.js";
import {
  IcmpType,
  Icmpv6Type,
  TcpFlags,
  buildFrame,
  buildMldV1,
  checksumProblems,
  decodeFrame,
  ipv6MulticastMac,
  routerAlertOptions,
  type DecodedFrame,
  type PacketSpec,
} from "../src/packet/index.js";
import { MininetNetwork } from "../src/lab/mininet-network.js";
import {
  REPO,
  bringUp,
  environment,
  isMain,
  parseOptions,
  printTable,
  progress,
  sleep,
  writeResults,
  type ExperimentOptions,
  type Lab,
  type Row,
  runName,
} from "./lib.js";

export interface ExchangeRow {
  readonly exchange: string;
  readonly packet: string;
  readonly from: string;
  readonly to: string;
  readonly src: string;
  readonly dst: string;
  readonly protocol: string;
  readonly received: boolean;
  readonly checksumsOk: boolean;
  readonly contentOk: boolean;
  readonly latencyMs: number | null;
}

export interface MulticastRow {
  readonly receiver: string;
  readonly via: string;
  readonly translator: string;
  readonly cost: number;
  readonly nativeCost: number | null;
  readonly sent: number;
  readonly received: number;
  readonly distinct: number;
  readonly checksumErrors: number;
  readonly source: string;
  readonly destination: string;
}

/** In Mininet: what the hosts' own programs saw (ping, UDP and TCP echo clients). */
export interface StackRow {
  readonly test: string;
  readonly from: string;
  readonly to: string;
  readonly sent: number;
  readonly answered: number;
  /** Round trip (ping's average, or the client's own measure), ms. */
  readonly rttMs: number | null;
  readonly detail: string;
}

export interface TranslationResults {
  readonly experiment: "translation";
  readonly environment: Row;
  readonly unicast: ExchangeRow[];
  /** The hosts' own stacks (Mininet only; empty otherwise). */
  readonly stacks: StackRow[];
  readonly multicast: MulticastRow[];
  /** Kernel-level receptions per receiver (Mininet only): datagrams its UDP socket accepted. */
  readonly socketReceived: Record<string, number>;
  readonly allRepliesCorrect: boolean;
}

export const V6_HOST = "v6only";
export const V4_HOST = "v4only";
const V4_ADDR = "10.0.6.9";
const V6_MAPPED = "10.0.5.1";
/** Canonical (RFC 5952) text of an IPv6 address. */
const canonical6 = (a: string) => new URL(`http://[${a}]/`).hostname.slice(1, -1);
/** An IPv4 address embedded in a /96 prefix (RFC 6052), e.g. 64:ff9b::10.0.6.9. */
const embed = (prefix: string, v4: string) => canonical6(`${prefix}${v4}`);
const NAT64 = (v4: string) => embed("64:ff9b::", v4);

export function translationTopology(): Topology {
  const t = loadTopology(join(REPO, "examples/mesh8.yaml"));
  const hosts: HostSpec[] = [
    ...t.hosts,
    { name: V4_HOST, mac: "00:00:00:00:06:09", ipv4: `${V4_ADDR}/24`, attach: { switch: "s6", port: 5 } },
    { name: "v6b", mac: "00:00:00:00:07:09", ipv6: "fd00:7::9/64", attach: { switch: "s7", port: 5 } },
    { name: "v4s5", mac: "00:00:00:00:05:02", ipv4: "10.0.5.2/24", attach: { switch: "s5", port: 6 } },
  ];
  return TopologySchema.parse({
    ...t,
    name: "mesh8-translation",
    hosts,
    translation: { ...t.translation!, mappings: [{ ipv6: "fd00:5::1", ipv4: V6_MAPPED }] },
  });
}

/** The row of one exchanged packet as `to` received it (d undefined: it never arrived). */
function exchangeRow(
  exchange: string,
  packet: string,
  from: string,
  to: string,
  d: DecodedFrame | undefined,
  expectDst: string,
  content: (d: DecodedFrame) => boolean,
  latencyMs: number | null,
): ExchangeRow {
  return {
    exchange,
    packet,
    from,
    to,
    src: d?.ip?.header.src ?? "",
    dst: d?.ip?.header.dst ?? "",
    protocol: d?.ip?.l4.kind ?? "",
    received: !!d,
    checksumsOk: !!d && checksumProblems(d).length === 0,
    contentOk: !!d && d.ip!.header.dst === expectDst && content(d),
    latencyMs,
  };
}

/** Waits for the first frame at `host` that `match` accepts. */
function nextFrame(
  lab: Lab,
  host: string,
  match: (d: DecodedFrame) => boolean,
  timeoutMs = 2000,
): Promise<{ frame: DecodedFrame; at: number } | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      resolve(undefined);
    }, timeoutMs);
    lab.hosts.get(host)!.onFrame((f) => {
      if (done) return;
      let d: DecodedFrame;
      try {
        d = decodeFrame(f);
      } catch {
        return;
      }
      if (!match(d)) return;
      done = true;
      clearTimeout(timer);
      resolve({ frame: d, at: performance.now() });
    });
  });
}

export async function main(opts: ExperimentOptions = parseOptions()): Promise<TranslationResults> {
  const t = translationTopology();
  const host = (n: string) => t.hosts.find((h) => h.name === n)!;
  const gw = (n: string) => formatMac(portMac(t.switches.find((s) => s.name === host(n).attach.switch)!, host(n).attach.port));
  const v6 = host(V6_HOST);
  const v6Addr = v6.ipv6!.split("/")[0]!;
  const target6 = NAT64(V4_ADDR);
  const count = opts.short ? 50 : 500;
  const bar = progress(opts, "translation", 3 + count);
  bar.update(0, "starting the network");
  const lab = await bringUp(t, opts);
  const unicast: ExchangeRow[] = [];
  const stacks: StackRow[] = [];
  const multicast: MulticastRow[] = [];
  const socketReceived: Record<string, number> = {};
  const mn = lab.net instanceof MininetNetwork ? lab.net : undefined;
  try {
    if (mn) {
      bar.update(1, "ping, UDP and TCP between the hosts' own stacks");
      await hostStacks(lab, mn, v6Addr, target6, unicast, stacks);
    }
    /** Sends `spec` from `from` and checks what `to` receives; returns the decoded frame. */
    const hop = async (
      exchange: string,
      packet: string,
      from: string,
      to: string,
      spec: PacketSpec,
      expect: { src: string; dst: string; protocol: string },
      content: (d: DecodedFrame) => boolean,
    ) => {
      const got = nextFrame(lab, to, (d) => d.ip !== undefined && d.ip.l4.kind === expect.protocol && d.ip.header.src === expect.src);
      const t0 = performance.now();
      lab.hosts.get(from)!.send(buildFrame({ ethernet: { src: host(from).mac, dst: gw(from) }, packet: spec }));
      const r = await got;
      unicast.push(exchangeRow(exchange, packet, from, to, r?.frame, expect.dst, content, r ? r.at - t0 : null));
      return r?.frame;
    };
    if (!mn) {
      const body = new TextEncoder().encode("p4cast translation experiment");
      const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
      const to4 = { src: V6_MAPPED, dst: V4_ADDR };
      const to6 = { src: target6, dst: v6Addr };

      // ICMPv6 echo -> ICMP echo; the reply back.
      bar.update(1, "ping");
      const rest = (0x1234 << 16) | 1;
      const req = await hop(
        "ping",
        "echo request",
        V6_HOST,
        V4_HOST,
        {
          ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 },
          l4: { kind: "icmpv6", icmp: { type: Icmpv6Type.ECHO_REQUEST, rest }, body },
        },
        { ...to4, protocol: "icmp" },
        (d) =>
          d.ip!.l4.kind === "icmp" &&
          d.ip!.l4.header.type === IcmpType.ECHO_REQUEST &&
          d.ip!.l4.header.rest === rest &&
          same(d.ip!.l4.body, body),
      );
      if (req)
        await hop(
          "ping",
          "echo reply",
          V4_HOST,
          V6_HOST,
          {
            ip: { version: 4, src: V4_ADDR, dst: V6_MAPPED, ttl: 64 },
            l4: { kind: "icmp", icmp: { type: IcmpType.ECHO_REPLY, rest }, body },
          },
          { ...to6, protocol: "icmpv6" },
          (d) =>
            d.ip!.l4.kind === "icmpv6" &&
            d.ip!.l4.header.type === Icmpv6Type.ECHO_REPLY &&
            d.ip!.l4.header.rest === rest &&
            same(d.ip!.l4.body, body),
        );

      // UDP both ways.
      bar.update(2, "udp");
      const u = await hop(
        "udp",
        "request",
        V6_HOST,
        V4_HOST,
        {
          ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 },
          l4: { kind: "udp", udp: { srcPort: 40001, dstPort: 7 }, payload: body },
        },
        { ...to4, protocol: "udp" },
        (d) => d.ip!.l4.kind === "udp" && d.ip!.l4.header.dstPort === 7 && same(d.ip!.l4.payload, body),
      );
      if (u)
        await hop(
          "udp",
          "reply",
          V4_HOST,
          V6_HOST,
          {
            ip: { version: 4, src: V4_ADDR, dst: V6_MAPPED, ttl: 64 },
            l4: { kind: "udp", udp: { srcPort: 7, dstPort: 40001 }, payload: body },
          },
          { ...to6, protocol: "udp" },
          (d) => d.ip!.l4.kind === "udp" && d.ip!.l4.header.srcPort === 7 && same(d.ip!.l4.payload, body),
        );

      // TCP three-way handshake, crafted: SYN (6->4), SYN-ACK (4->6), ACK (6->4).
      bar.update(3, "tcp handshake");
      const isn6 = 0x10000000;
      const isn4 = 0x20000000;
      const syn = await hop(
        "tcp",
        "SYN",
        V6_HOST,
        V4_HOST,
        {
          ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 },
          l4: { kind: "tcp", tcp: { srcPort: 40002, dstPort: 80, seq: isn6, flags: TcpFlags.SYN, window: 65535 } },
        },
        { ...to4, protocol: "tcp" },
        (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === TcpFlags.SYN && d.ip!.l4.header.seq === isn6,
      );
      const synAck =
        syn &&
        (await hop(
          "tcp",
          "SYN-ACK",
          V4_HOST,
          V6_HOST,
          {
            ip: { version: 4, src: V4_ADDR, dst: V6_MAPPED, ttl: 64 },
            l4: {
              kind: "tcp",
              tcp: { srcPort: 80, dstPort: 40002, seq: isn4, ack: isn6 + 1, flags: TcpFlags.SYN | TcpFlags.ACK, window: 65535 },
            },
          },
          { ...to6, protocol: "tcp" },
          (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === (TcpFlags.SYN | TcpFlags.ACK) && d.ip!.l4.header.ack === isn6 + 1,
        ));
      if (synAck)
        await hop(
          "tcp",
          "ACK",
          V6_HOST,
          V4_HOST,
          {
            ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 },
            l4: { kind: "tcp", tcp: { srcPort: 40002, dstPort: 80, seq: isn6 + 1, ack: isn4 + 1, flags: TcpFlags.ACK, window: 65535 } },
          },
          { ...to4, protocol: "tcp" },
          (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === TcpFlags.ACK && d.ip!.l4.header.ack === isn4 + 1,
        );
    }

    // Multicast 4 -> 6 after MLD joins.
    const s = t.sessions.find((x) => x.id === 2)!;
    const g6 = embed("ff3e::", s.group);
    const receivers = [V6_HOST, "v6b"];
    // In Mininet: a UDP socket in each receiver joins the group; its kernel sends the MLD report and counts what it accepts.
    const sockets = new Map<string, { count(): Promise<number> }>();
    for (const r of receivers) {
      if (!mn) continue;
      bar.update(3, `${r} joins ${g6} (its kernel's MLD report)`);
      const joined = membershipOf(lab, r);
      sockets.set(r, groupReceiver(mn, r, g6, s.service.port));
      await Promise.race([joined, sleep(5000)]);
    }
    for (const r of mn ? [] : receivers) {
      bar.update(3, `MLD join from ${r}`);
      const h = host(r);
      const ll = `fe80::${h.attach.switch.slice(1)}:${h.attach.port}`;
      const joined = new Promise<void>((resolve) => {
        const on = (c: { host: string }) => {
          if (c.host !== r) return;
          lab.ctl.off("membership", on);
          resolve();
        };
        lab.ctl.on("membership", on);
      });
      lab.hosts.get(r)!.send(
        buildFrame({
          ethernet: { src: h.mac, dst: ipv6MulticastMac(g6) },
          packet: {
            ip: { version: 6, src: ll, dst: g6, hopLimit: 1, hopByHopOptions: routerAlertOptions() },
            l4: { kind: "raw", protocol: 58, bytes: buildMldV1({ type: 131, multicastAddress: g6 }, { version: 6, src: ll, dst: g6 }) },
          },
        }),
      );
      await Promise.race([joined, sleep(5000)]);
    }
    await sleep(300);
    const plan = lab.ctl.currentPlan!.sessions.get(s.id)!.translated;
    const logs = new Map(receivers.map((r) => [r, { seqs: [] as number[], bad: 0, src: "", dst: "" }]));
    for (const r of receivers) {
      lab.hosts.get(r)!.onFrame((f) => {
        const d = decodeFrame(f);
        if (d.ip?.version !== 6 || d.ip.l4.kind !== "udp" || d.ip.l4.header.dstPort !== s.service.port) return;
        const log = logs.get(r)!;
        log.seqs.push(new DataView(d.ip.l4.payload.buffer, d.ip.l4.payload.byteOffset).getUint32(0));
        if (checksumProblems(d).length > 0) log.bad++;
        log.src = d.ip.header.src;
        log.dst = d.ip.header.dst;
      });
    }
    const src = host(s.source);
    let next = performance.now();
    for (let i = 0; i < count; i++) {
      lab.hosts.get(src.name)!.send(streamFrame(src, gw(src.name), s, i));
      if (i % 25 === 0) bar.update(3 + i, "IPv4 stream to IPv6 receivers");
      next += 4;
      const w = next - performance.now();
      if (w > 0) await sleep(w);
    }
    await settle(logs, 400);
    for (const [r, sock] of sockets) socketReceived[r] = await sock.count();
    bar.update(3 + count, "done");
    for (const r of receivers) {
      const d = plan.find((x) => x.host === r);
      const log = logs.get(r)!;
      multicast.push({
        receiver: r,
        via: d?.via ?? "",
        translator: d?.translator ?? "",
        cost: d?.cost ?? -1,
        nativeCost: d?.nativeCost ?? null,
        sent: count,
        received: log.seqs.length,
        distinct: new Set(log.seqs).size,
        checksumErrors: log.bad,
        source: log.src,
        destination: log.dst,
      });
    }
  } finally {
    bar.stop();
    await lab.stop();
  }
  const allRepliesCorrect =
    unicast.length === (mn ? 9 : 7) &&
    unicast.every((r) => r.received && r.checksumsOk && r.contentOk) &&
    stacks.every((x) => x.answered === x.sent);
  const out: TranslationResults = {
    experiment: "translation",
    environment: environment("translation", opts),
    unicast,
    stacks,
    multicast,
    socketReceived,
    allRepliesCorrect,
  };
  const csv: Row[] = [
    ...unicast.map((u) => ({ part: "unicast", ...u }) as unknown as Row),
    ...multicast.map((m) => ({ part: "multicast", ...m }) as unknown as Row),
  ];
  await writeResults(opts, "translation", out, csv, {
    title: { text: `NAT64 and 4→6 multicast through s5 (${runName(opts)})` },
    hconcat: [
      {
        width: 320,
        height: 200,
        title: mn
          ? `${V6_HOST} (IPv6) ↔ ${V4_HOST} (IPv4), hosts' own stacks: reply arrival − request arrival`
          : `${V6_HOST} (IPv6) ↔ ${V4_HOST} (IPv4): one-way latency per packet`,
        data: {
          values: unicast.map((u) => ({
            ...u,
            label: `${u.exchange}: ${u.packet}`,
            verdict: u.received && u.checksumsOk && u.contentOk ? "translated, checksums valid" : "wrong or missing",
          })),
        },
        mark: { type: "bar" },
        encoding: {
          y: { field: "label", type: "nominal", sort: null, title: null },
          x: { field: "latencyMs", type: "quantitative", title: "ms from send to arrival" },
          color: {
            field: "verdict",
            type: "nominal",
            title: null,
            legend: { orient: "bottom", labelLimit: 300 },
            scale: { domain: ["translated, checksums valid", "wrong or missing"], range: ["#2ca02c", "#d62728"] },
          },
        },
      },
      {
        width: 260,
        height: 120,
        title: "IPv4 session 2 → IPv6 receivers after MLD joins",
        data: {
          values: multicast.flatMap((m) => [
            { receiver: `${m.receiver}: via ${m.via}, translator ${m.translator}, cost ${m.cost}`, what: "sent (IPv4)", n: m.sent },
            {
              receiver: `${m.receiver}: via ${m.via}, translator ${m.translator}, cost ${m.cost}`,
              what: "received (IPv6, checksums valid)",
              n: m.distinct - m.checksumErrors,
            },
          ]),
        },
        mark: { type: "bar" },
        encoding: {
          y: { field: "receiver", type: "nominal", title: null, axis: { labelLimit: 300 } },
          yOffset: { field: "what", type: "nominal" },
          x: { field: "n", type: "quantitative", title: "packets" },
          color: {
            field: "what",
            type: "nominal",
            title: null,
            legend: { orient: "bottom", labelLimit: 300 },
            scale: { range: ["#1f77b4", "#999999"] },
          },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  });
  printTable(
    opts,
    `translation (${runName(opts)}): unicast NAT64, ${V6_HOST} [${v6Addr}] → ${target6} (${V4_HOST})`,
    unicast.map((u) => ({
      exchange: u.exchange,
      packet: u.packet,
      "from → to": `${u.from} → ${u.to}`,
      "src → dst as received": `${u.src} → ${u.dst}`,
      protocol: u.protocol,
      checksums: u.checksumsOk ? "ok" : "BAD",
      content: u.contentOk ? "ok" : "BAD",
      ms: u.latencyMs,
    })),
  );
  if (stacks.length > 0)
    printTable(
      opts,
      `translation (${runName(opts)}): the hosts' own programs`,
      stacks.map((x) => ({
        test: x.test,
        "from → to": `${x.from} → ${x.to}`,
        sent: x.sent,
        answered: x.answered,
        "rtt ms": x.rttMs,
        detail: x.detail,
      })),
    );
  printTable(
    opts,
    `translation (${runName(opts)}): session 2 (IPv4) delivered as IPv6 after MLD joins`,
    multicast.map((m) => ({
      receiver: m.receiver,
      via: m.via,
      translator: m.translator,
      "path cost": m.cost,
      "native cost": m.nativeCost ?? "-",
      sent: m.sent,
      received: m.received,
      distinct: m.distinct,
      "checksum errors": m.checksumErrors,
      ...(mn ? { "socket got": socketReceived[m.receiver] ?? 0 } : {}),
      "src → dst": `${m.source} → ${m.destination}`,
    })),
  );
  return out;
}

/** Resolves when the controller reports a membership change of `host`. */
function membershipOf(lab: Lab, host: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (c: { host: string }) => {
      if (c.host !== host) return;
      lab.ctl.off("membership", on);
      resolve();
    };
    lab.ctl.on("membership", on);
  });
}

/** Runs a program in a Mininet host; resolves with its exit code and output (kills it after timeoutMs). */
function runIn(
  mn: MininetNetwork,
  host: string,
  command: string,
  args: readonly string[],
  timeoutMs = 15_000,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = mn.exec(host, command, args);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    }),
  );
}

/** Starts a server (node -e) in a host and waits for its "ready" line. */
async function serverIn(mn: MininetNetwork, host: string, script: string): Promise<{ stop(): void }> {
  const child = mn.exec(host, process.execPath, ["-e", script]);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server in ${host} exited (${code}): ${err}`)));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) resolve();
    });
  });
  return { stop: () => void child.kill("SIGKILL") };
}

/** A UDP socket in `host` that joins `group` and counts the datagrams on `port`; count() stops it and says how many. */
function groupReceiver(mn: MininetNetwork, host: string, group: string, port: number): { count(): Promise<number> } {
  const script = `
    const s = require("node:dgram").createSocket({ type: "udp6", reuseAddr: true });
    let n = 0;
    s.on("message", () => n++);
    s.bind(${port}, () => s.addMembership(${JSON.stringify(group)}));
    process.stdin.on("end", () => { process.stdout.write("count " + n + "\\n"); process.exit(0); });
    process.stdin.resume();
  `;
  const child = mn.exec(host, process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<number>((resolve) => child.once("exit", () => resolve(Number(/count (\d+)/.exec(out)?.[1] ?? -1))));
  return {
    count: () => {
      child.stdin!.end();
      return done;
    },
  };
}

/**
 * Mininet: NAT64 between the hosts' own stacks. ping (ICMPv6 echo to the
 * mapped address, and ICMP echo the other way), a UDP echo and a TCP echo
 * (64 KiB) between v6only's clients and v4only's servers; raw sockets in
 * both hosts capture the first packet of each kind to check its translated
 * addresses and checksums.
 */
async function hostStacks(
  lab: Lab,
  mn: MininetNetwork,
  v6Addr: string,
  target6: string,
  unicast: ExchangeRow[],
  stacks: StackRow[],
): Promise<void> {
  const capture = (
    exchange: string,
    packet: string,
    from: string,
    to: string,
    expect: { src: string; dst: string; protocol: string },
    match: (d: DecodedFrame) => boolean,
  ) => {
    const p = nextFrame(
      lab,
      to,
      (d) => d.ip !== undefined && d.ip.l4.kind === expect.protocol && d.ip.header.src === expect.src && match(d),
      10_000,
    );
    return async (since?: Promise<{ at: number } | undefined>) => {
      const r = await p;
      const before = since ? await since : undefined;
      unicast.push(exchangeRow(exchange, packet, from, to, r?.frame, expect.dst, () => true, r && before ? r.at - before.at : null));
      return r;
    };
  };
  const to4 = { src: V6_MAPPED, dst: V4_ADDR };
  const to6 = { src: target6, dst: v6Addr };
  const pings = (out: string) => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(out);
    return { sent: Number(m?.[1] ?? 0), answered: Number(m?.[2] ?? 0), rttMs: rtt ? Number(rtt[1]) : null };
  };

  // ping 6 -> 4, and 4 -> 6 (v4only pings v6only's mapped address).
  for (const [from, to, dst, req, rep] of [
    [V6_HOST, V4_HOST, target6, { ...to4, protocol: "icmp" }, { ...to6, protocol: "icmpv6" }],
    [V4_HOST, V6_HOST, V6_MAPPED, { src: target6, dst: v6Addr, protocol: "icmpv6" }, { src: V6_MAPPED, dst: V4_ADDR, protocol: "icmp" }],
  ] as const) {
    const six = from === V6_HOST;
    const request = capture("ping", six ? "echo request" : "echo request (4→6)", from, to, req, (d) =>
      six
        ? d.ip!.l4.kind === "icmp" && d.ip!.l4.header.type === IcmpType.ECHO_REQUEST
        : d.ip!.l4.kind === "icmpv6" && d.ip!.l4.header.type === Icmpv6Type.ECHO_REQUEST,
    );
    const reply = capture("ping", six ? "echo reply" : "echo reply (4→6)", to, from, rep, (d) =>
      six
        ? d.ip!.l4.kind === "icmpv6" && d.ip!.l4.header.type === Icmpv6Type.ECHO_REPLY
        : d.ip!.l4.kind === "icmp" && d.ip!.l4.header.type === IcmpType.ECHO_REPLY,
    );
    const r = await runIn(mn, from, "ping", [six ? "-6" : "-4", "-c", "5", "-i", "0.2", "-W", "2", dst]);
    const q = request();
    await reply(q);
    stacks.push({
      test: "ping",
      from,
      to: `${to} (${dst})`,
      ...pings(r.out),
      detail: (r.out.split("\n").find((l) => l.includes("packets transmitted")) ?? r.err.trim()).trim(),
    });
  }

  // UDP echo: server in v4only, five datagrams from v6only.
  const udp = await serverIn(
    mn,
    V4_HOST,
    `const s=require("node:dgram").createSocket("udp4");
      s.on("message",(m,r)=>s.send(m,r.port,r.address));
      s.bind(7007,()=>console.log("ready"));`,
  );
  try {
    const request = capture(
      "udp",
      "request",
      V6_HOST,
      V4_HOST,
      { ...to4, protocol: "udp" },
      (d) => d.ip!.l4.kind === "udp" && d.ip!.l4.header.dstPort === 7007,
    );
    const reply = capture(
      "udp",
      "reply",
      V4_HOST,
      V6_HOST,
      { ...to6, protocol: "udp" },
      (d) => d.ip!.l4.kind === "udp" && d.ip!.l4.header.srcPort === 7007,
    );
    const client = `
      const s = require("node:dgram").createSocket("udp6");
      const N = 5; let sent = 0, answered = 0; const rtts = [];
      function one() {
        if (sent >= N) {
          console.log(JSON.stringify({ sent, answered, rtt: rtts.length ? rtts.reduce((a, b) => a + b) / rtts.length : null }));
          process.exit(0);
        }
        const body = Buffer.from("p4cast udp " + sent); const t0 = performance.now(); sent++;
        const timer = setTimeout(() => { s.removeAllListeners("message"); one(); }, 1000);
        s.once("message", (m) => { clearTimeout(timer); if (m.equals(body)) { answered++; rtts.push(performance.now() - t0); } one(); });
        s.send(body, 7007, ${JSON.stringify(target6)});
      }
      s.bind(0, one);`;
    const r = await runIn(mn, V6_HOST, process.execPath, ["-e", client]);
    await reply(request());
    const j = safeJson(r.out) as { sent?: number; answered?: number; rtt?: number | null } | undefined;
    stacks.push({
      test: "udp echo",
      from: V6_HOST,
      to: `${V4_HOST} ([${target6}]:7007)`,
      sent: j?.sent ?? 5,
      answered: j?.answered ?? 0,
      rttMs: j?.rtt ?? null,
      detail: j ? "datagrams echoed byte for byte" : `client failed: ${r.err.trim()}`,
    });
  } finally {
    udp.stop();
  }

  // TCP: handshake, 64 KiB echoed, close.
  const tcp = await serverIn(
    mn,
    V4_HOST,
    `require("node:net").createServer((c)=>c.pipe(c)).listen(8080,"0.0.0.0",()=>console.log("ready"));`,
  );
  try {
    const syn = capture(
      "tcp",
      "SYN",
      V6_HOST,
      V4_HOST,
      { ...to4, protocol: "tcp" },
      (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === TcpFlags.SYN,
    );
    const synAck = capture(
      "tcp",
      "SYN-ACK",
      V4_HOST,
      V6_HOST,
      { ...to6, protocol: "tcp" },
      (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === (TcpFlags.SYN | TcpFlags.ACK),
    );
    const ack = capture(
      "tcp",
      "ACK",
      V6_HOST,
      V4_HOST,
      { ...to4, protocol: "tcp" },
      (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === TcpFlags.ACK && d.ip!.l4.payload.length === 0,
    );
    const client = `
      const data = require("node:crypto").randomBytes(65536); const got = [];
      const t0 = performance.now(); let connectMs = null;
      const c = require("node:net").connect({ host: ${JSON.stringify(target6)}, port: 8080 }, () => {
        connectMs = performance.now() - t0;
        c.write(data);
      });
      c.on("data", (d) => { got.push(d); if (Buffer.concat(got).length >= data.length) c.end(); });
      c.on("close", () => {
        const b = Buffer.concat(got);
        console.log(JSON.stringify({ connectMs, bytes: b.length, same: b.equals(data) }));
        process.exit(0);
      });
      c.on("error", (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
      setTimeout(() => { console.log(JSON.stringify({ error: "timeout", bytes: Buffer.concat(got).length })); process.exit(1); }, 10000);`;
    const r = await runIn(mn, V6_HOST, process.execPath, ["-e", client]);
    const first = syn();
    await synAck(first);
    await ack();
    const j = safeJson(r.out) as { connectMs?: number; bytes?: number; same?: boolean; error?: string } | undefined;
    stacks.push({
      test: "tcp echo (64 KiB)",
      from: V6_HOST,
      to: `${V4_HOST} ([${target6}]:8080)`,
      sent: 65536,
      answered: j?.same ? (j.bytes ?? 0) : 0,
      rttMs: j?.connectMs ?? null,
      detail: j?.error
        ? `failed: ${j.error}`
        : j?.same
          ? "connected; 65536 bytes echoed intact; rtt = connect time"
          : `echoed ${j?.bytes ?? 0} bytes, not the same`,
    });
  } finally {
    tcp.stop();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text.trim().split("\n").pop() ?? "");
  } catch {
    return undefined;
  }
}

if (isMain(import.meta.url)) await main();
