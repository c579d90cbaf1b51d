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
 *    ICMPv6 echo, a UDP datagram and a TCP handshake (SYN, SYN-ACK, ACK), all
 *    crafted; this script answers on v4only's side. Every packet is checked
 *    at both ends: translated addresses and every checksum.
 * 2. Multicast 4→6: v6only and v6b join the IPv6 form of session 2's group
 *    with MLD; the source streams IPv4; both get it as IPv6 over the path the
 *    controller planned (its `translated` entries: via, translator, cost).
 */
import { join } from "node:path";
import { formatMac } from "../src/client/codec/values.js";
import { portMac } from "../src/controller/topology/addressing.js";
import { loadTopology } from "../src/controller/topology/load.js";
import type { HostSpec, Topology } from "../src/controller/topology/schema.js";
import { settle, streamFrame } from "../src/controller/lab/stream.js";
import { TopologySchema } from "../src/controller/topology/schema.js";
import { IcmpType, Icmpv6Type, TcpFlags, buildFrame, buildMldV1, checksumProblems, decodeFrame, ipv6MulticastMac, routerAlertOptions, type DecodedFrame, type PacketSpec } from "../src/packet/index.js";
import { REPO, bringUp, environment, isMain, parseOptions, printTable, progress, sleep, writeResults, type ExperimentOptions, type Lab, type Row } from "./lib.js";

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

export interface TranslationResults {
  readonly experiment: "translation";
  readonly environment: Row;
  readonly unicast: ExchangeRow[];
  readonly multicast: MulticastRow[];
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

/** Waits for the first frame at `host` that `match` accepts. */
function nextFrame(lab: Lab, host: string, match: (d: DecodedFrame) => boolean, timeoutMs = 2000): Promise<{ frame: DecodedFrame; at: number } | undefined> {
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
  const lab = await bringUp(t, opts.target);
  const unicast: ExchangeRow[] = [];
  const multicast: MulticastRow[] = [];
  try {
    /** Sends `spec` from `from` and checks what `to` receives; returns the decoded frame. */
    const hop = async (exchange: string, packet: string, from: string, to: string, spec: PacketSpec, expect: { src: string; dst: string; protocol: string }, content: (d: DecodedFrame) => boolean) => {
      const got = nextFrame(lab, to, (d) => d.ip !== undefined && d.ip.l4.kind === expect.protocol && d.ip.header.src === expect.src);
      const t0 = performance.now();
      lab.hosts.get(from)!.send(buildFrame({ ethernet: { src: host(from).mac, dst: gw(from) }, packet: spec }));
      const r = await got;
      const d = r?.frame;
      unicast.push({
        exchange,
        packet,
        from,
        to,
        src: d?.ip?.header.src ?? "",
        dst: d?.ip?.header.dst ?? "",
        protocol: d?.ip?.l4.kind ?? "",
        received: !!d,
        checksumsOk: !!d && checksumProblems(d).length === 0,
        contentOk: !!d && d.ip!.header.dst === expect.dst && content(d),
        latencyMs: r ? r.at - t0 : null,
      });
      return d;
    };
    const body = new TextEncoder().encode("p4cast translation experiment");
    const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
    const to4 = { src: V6_MAPPED, dst: V4_ADDR };
    const to6 = { src: target6, dst: v6Addr };

    // ICMPv6 echo -> ICMP echo; the reply back.
    bar.update(1, "ping");
    const rest = (0x1234 << 16) | 1;
    const req = await hop("ping", "echo request", V6_HOST, V4_HOST, { ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 }, l4: { kind: "icmpv6", icmp: { type: Icmpv6Type.ECHO_REQUEST, rest }, body } }, { ...to4, protocol: "icmp" }, (d) => d.ip!.l4.kind === "icmp" && d.ip!.l4.header.type === IcmpType.ECHO_REQUEST && d.ip!.l4.header.rest === rest && same(d.ip!.l4.body, body));
    if (req) await hop("ping", "echo reply", V4_HOST, V6_HOST, { ip: { version: 4, src: V4_ADDR, dst: V6_MAPPED, ttl: 64 }, l4: { kind: "icmp", icmp: { type: IcmpType.ECHO_REPLY, rest }, body } }, { ...to6, protocol: "icmpv6" }, (d) => d.ip!.l4.kind === "icmpv6" && d.ip!.l4.header.type === Icmpv6Type.ECHO_REPLY && d.ip!.l4.header.rest === rest && same(d.ip!.l4.body, body));

    // UDP both ways.
    bar.update(2, "udp");
    const u = await hop("udp", "request", V6_HOST, V4_HOST, { ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 }, l4: { kind: "udp", udp: { srcPort: 40001, dstPort: 7 }, payload: body } }, { ...to4, protocol: "udp" }, (d) => d.ip!.l4.kind === "udp" && d.ip!.l4.header.dstPort === 7 && same(d.ip!.l4.payload, body));
    if (u) await hop("udp", "reply", V4_HOST, V6_HOST, { ip: { version: 4, src: V4_ADDR, dst: V6_MAPPED, ttl: 64 }, l4: { kind: "udp", udp: { srcPort: 7, dstPort: 40001 }, payload: body } }, { ...to6, protocol: "udp" }, (d) => d.ip!.l4.kind === "udp" && d.ip!.l4.header.srcPort === 7 && same(d.ip!.l4.payload, body));

    // TCP three-way handshake, crafted: SYN (6->4), SYN-ACK (4->6), ACK (6->4).
    bar.update(3, "tcp handshake");
    const isn6 = 0x10000000;
    const isn4 = 0x20000000;
    const syn = await hop("tcp", "SYN", V6_HOST, V4_HOST, { ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 }, l4: { kind: "tcp", tcp: { srcPort: 40002, dstPort: 80, seq: isn6, flags: TcpFlags.SYN, window: 65535 } } }, { ...to4, protocol: "tcp" }, (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === TcpFlags.SYN && d.ip!.l4.header.seq === isn6);
    const synAck = syn && (await hop("tcp", "SYN-ACK", V4_HOST, V6_HOST, { ip: { version: 4, src: V4_ADDR, dst: V6_MAPPED, ttl: 64 }, l4: { kind: "tcp", tcp: { srcPort: 80, dstPort: 40002, seq: isn4, ack: isn6 + 1, flags: TcpFlags.SYN | TcpFlags.ACK, window: 65535 } } }, { ...to6, protocol: "tcp" }, (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === (TcpFlags.SYN | TcpFlags.ACK) && d.ip!.l4.header.ack === isn6 + 1));
    if (synAck) await hop("tcp", "ACK", V6_HOST, V4_HOST, { ip: { version: 6, src: v6Addr, dst: target6, hopLimit: 64 }, l4: { kind: "tcp", tcp: { srcPort: 40002, dstPort: 80, seq: isn6 + 1, ack: isn4 + 1, flags: TcpFlags.ACK, window: 65535 } } }, { ...to4, protocol: "tcp" }, (d) => d.ip!.l4.kind === "tcp" && d.ip!.l4.header.flags === TcpFlags.ACK && d.ip!.l4.header.ack === isn4 + 1);

    // Multicast 4 -> 6 after MLD joins.
    const s = t.sessions.find((x) => x.id === 2)!;
    const g6 = embed("ff3e::", s.group);
    const receivers = [V6_HOST, "v6b"];
    for (const r of receivers) {
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
          packet: { ip: { version: 6, src: ll, dst: g6, hopLimit: 1, hopByHopOptions: routerAlertOptions() }, l4: { kind: "raw", protocol: 58, bytes: buildMldV1({ type: 131, multicastAddress: g6 }, { version: 6, src: ll, dst: g6 }) } },
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
  const allRepliesCorrect = unicast.length === 7 && unicast.every((r) => r.received && r.checksumsOk && r.contentOk);
  const out: TranslationResults = { experiment: "translation", environment: environment(opts), unicast, multicast, allRepliesCorrect };
  const csv: Row[] = [
    ...unicast.map((u) => ({ part: "unicast", ...u }) as unknown as Row),
    ...multicast.map((m) => ({ part: "multicast", ...m }) as unknown as Row),
  ];
  await writeResults(opts, "translation", out, csv, {
    title: { text: `NAT64 and 4→6 multicast through s5 (${opts.target})` },
    hconcat: [
      {
        width: 320,
        height: 200,
        title: `${V6_HOST} (IPv6) ↔ ${V4_HOST} (IPv4): one-way latency per packet`,
        data: { values: unicast.map((u) => ({ ...u, label: `${u.exchange}: ${u.packet}`, verdict: u.received && u.checksumsOk && u.contentOk ? "translated, checksums valid" : "wrong or missing" })) },
        mark: { type: "bar" },
        encoding: {
          y: { field: "label", type: "nominal", sort: null, title: null },
          x: { field: "latencyMs", type: "quantitative", title: "ms from send to arrival" },
          color: { field: "verdict", type: "nominal", title: null, legend: { orient: "bottom", labelLimit: 300 }, scale: { domain: ["translated, checksums valid", "wrong or missing"], range: ["#2ca02c", "#d62728"] } },
        },
      },
      {
        width: 260,
        height: 120,
        title: "IPv4 session 2 → IPv6 receivers after MLD joins",
        data: { values: multicast.flatMap((m) => [{ receiver: `${m.receiver}: via ${m.via}, translator ${m.translator}, cost ${m.cost}`, what: "sent (IPv4)", n: m.sent }, { receiver: `${m.receiver}: via ${m.via}, translator ${m.translator}, cost ${m.cost}`, what: "received (IPv6, checksums valid)", n: m.distinct - m.checksumErrors }]) },
        mark: { type: "bar" },
        encoding: {
          y: { field: "receiver", type: "nominal", title: null, axis: { labelLimit: 300 } },
          yOffset: { field: "what", type: "nominal" },
          x: { field: "n", type: "quantitative", title: "packets" },
          color: { field: "what", type: "nominal", title: null, legend: { orient: "bottom", labelLimit: 300 }, scale: { range: ["#1f77b4", "#999999"] } },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  });
  printTable(opts, `translation (${opts.target}): unicast NAT64, ${V6_HOST} [${v6Addr}] → ${target6} (${V4_HOST})`, unicast.map((u) => ({ exchange: u.exchange, packet: u.packet, "from → to": `${u.from} → ${u.to}`, "src → dst as received": `${u.src} → ${u.dst}`, protocol: u.protocol, checksums: u.checksumsOk ? "ok" : "BAD", content: u.contentOk ? "ok" : "BAD", ms: u.latencyMs })));
  printTable(opts, `translation (${opts.target}): session 2 (IPv4) delivered as IPv6 after MLD joins`, multicast.map((m) => ({ receiver: m.receiver, via: m.via, translator: m.translator, "path cost": m.cost, "native cost": m.nativeCost ?? "-", sent: m.sent, received: m.received, distinct: m.distinct, "checksum errors": m.checksumErrors, "src → dst": `${m.source} → ${m.destination}` })));
  return out;
}

if (isMain(import.meta.url)) await main();
