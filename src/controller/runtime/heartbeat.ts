/**
 * Link liveness from heartbeats. Every interval the controller sends, on
 * every inter-switch link and from both of its ends, a heartbeat request as
 * a packet-out leaving the link's port directly; the neighbour reflects it
 * in its data plane, and the response is consumed by the sender's data
 * plane, which counts it per peer (fast path). The controller reads those
 * counters in one batch per switch per interval. Fast-path requests carry
 * the STAMP flag: the sending switch's data plane stamps them as they leave
 * and keeps the round trip of each response in hb_rtt, in its own clock
 * (read on demand by the live view and `p4cast watch`, live/counters.ts,
 * not here). In slow-path mode the responses are punted to the controller
 * as packet-ins instead, and the controller times them itself. A watch
 * whose responses stop for `missThreshold` intervals (in which requests
 * went out) trips; the first response after that resets it. A link is
 * declared down when a watch of it trips and its other end agrees: that end
 * missed its recent responses too (all but the last threshold interval), or
 * is not being judged (out of reach, hung, paused) -- unless every watch of
 * the tripped end's switch (two or more) tripped at once: then that switch
 * is the likelier fault and only a judged other end that misses too agrees.
 * A round trip crosses the link both ways, so any failure of the link shows
 * at both ends; silence at one end alone while the other still hears its
 * replies means that end's requests did not leave (its switch or its stream
 * stalled on a busy machine), not that the link broke. A dead or hung switch
 * is seen by every neighbour. A backup controller only reads: the primary sends.
 *
 * Data-plane verdicts (mode "dataplane", p4/controls/heartbeat.p4): the
 * controller sends one request per switch per interval, which the switch
 * copies to every peer; the switch judges each peer itself and sends a
 * digest (acknowledged) only when one goes down or comes back. Nothing is
 * read in steady state. The same agreement rule holds: a link is declared
 * down when both ends judged it down, or one did and the other end is out
 * of reach, or a probe of the other end (a read of its response counter for
 * the tripped end, one interval apart, only while the trip stands) finds it
 * hung or deaf too. When the other end still hears, the tripped end is the
 * likelier fault (starved) and no verdict is given. On connecting, taking
 * over, or after a switch was re-programmed, the first request asks every
 * copy to report a peer already judged down (HB_FLAG_REPORT), so a verdict
 * taken before is not missed.
 */
import { EventEmitter } from "node:events";
import type { P4RuntimeClient } from "../../client/client.js";
import type { Entity, PacketOut } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { DecodedPacketIn, PacketOutInput } from "../../client/entities/packet-io.js";
import type { DecodedDigestList } from "../../client/entities/digest.js";
import { formatIPv4, formatMac } from "../../p4runtime/codec/values.js";
import { Code, isP4RuntimeError } from "../../p4runtime/errors.js";
import { buildFrame } from "../../packet/frame.js";
import { HeartbeatFlags, HeartbeatType } from "../../packet/heartbeat.js";
import { portMac } from "../topology/addressing.js";
import type { NetworkGraph } from "../topology/graph.js";
import type { HeartbeatSpec, SwitchSpec } from "../topology/schema.js";
import type { HeartbeatPeer } from "../plan/heartbeat.js";

export const HB_COUNTER = "ingress.heartbeat.hb_peer_counter";
/** The data plane's digest of a peer's new state (data-plane verdicts). */
export const HB_DIGEST = "hb_verdict_digest_t";
const HB_PEER_DOWN = 1n;
/** Packet-out flag: a request for every heartbeat peer (PACKET_OUT_FLAG_HB_FANOUT). */
const PACKET_OUT_HB_FANOUT = 2;

/**
 * The interval's request of switch `me` for every peer (mode `dataplane`):
 * the switch numbers, stamps and addresses each peer's copy
 * (heartbeat_tick_exact). `report`: every peer already judged down is
 * reported again.
 */
export function fanoutPacketOut(me: SwitchSpec, report: boolean): PacketOutInput {
  const flags = HeartbeatFlags.LINK | HeartbeatFlags.STAMP | (report ? HeartbeatFlags.REPORT : 0);
  return {
    payload: buildFrame({
      ethernet: { src: "00:00:00:00:00:00", dst: "00:00:00:00:00:00" },
      packet: {
        ip: { version: 4, src: me.loopback.ipv4, dst: "0.0.0.0", ttl: 64 },
        l4: {
          kind: "heartbeat",
          heartbeat: { type: HeartbeatType.REQUEST, flags, originId: me.deviceId & 0xffff, sequence: 0 },
          udp: { checksum: 0 },
        },
      },
    }),
    metadata: { egress_port: 0, flags: PACKET_OUT_HB_FANOUT },
  };
}
/** Round trip of each peer's last STAMP response, in the switch's clock (target.rttUnitNs per unit). */
export const HB_RTT_REGISTER = "ingress.heartbeat.hb_rtt";
const PACKET_IN_HEARTBEAT = 3n;
const PACKET_OUT_DIRECT = 1;

export interface HeartbeatEvents {
  linkDown: [{ link: number; name: string; detectedBy: string; atMs: number }];
  linkUp: [{ link: number; name: string; detectedBy: string; atMs: number }];
  /** One interval done: messages sent and read. */
  tick: [{ sent: number; reads: number; durationMs: number }];
  /** One switch's interval judged (its counters read and its watches updated). */
  judged: [{ switch: string; atMs: number }];
  error: [Error];
}

interface PeerState {
  readonly sw: string;
  readonly peer: HeartbeatPeer;
  /** The request, encoded once; sequence and timestamp are patched in place. */
  request: PacketOut | undefined;
  lastCount: bigint | undefined;
  misses: number;
  /** Responses seen via packet-in since the last interval (slow path). */
  punted: number;
  down: boolean;
  /** Round trip of the last response seen as a packet-in (slow path), in ms. */
  rttMs: number | undefined;
  /** This controller sent a request on the watch since its last judgment. */
  sent: boolean;
  /** A response came back since the watch was (re)started: it has heard its peer. */
  heard: boolean;
}

/** One end's watch of a link, as the monitor sees it now (read-only view). */
export interface WatchView {
  readonly switch: string;
  readonly link: number;
  readonly peer: string;
  /** Intervals without a response since the last one. */
  readonly misses: number;
  readonly down: boolean;
  /** The switch's response counter for this peer at the last read (fast path). */
  readonly responses: bigint | undefined;
  /**
   * Round trip of the last response seen as a packet-in (slow path). Fast-path
   * responses never reach the controller: their round trip is the data plane's
   * hb_rtt, read on demand (live/counters.ts).
   */
  readonly rttMs: number | undefined;
}

export interface HeartbeatStats {
  packetOuts: number;
  reads: number;
  packetIns: number;
  /** Digests received (data-plane verdicts). */
  digests: number;
  intervals: number;
}

/** What probing a link's other end found (data-plane verdicts), while its first end's trip stands. */
type ProbeResult = "hung" | "deaf" | "hears";

export class HeartbeatMonitor extends EventEmitter<HeartbeatEvents> {
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly states = new Map<string, PeerState[]>();
  private running = false;
  private readonly paused = new Set<string>();
  /** Switches whose interval is under way. */
  private readonly busy = new Set<string>();
  /** Bumped when a switch is paused, so a read that was under way then is not used. */
  private readonly generation = new Map<string, number>();
  readonly stats: HeartbeatStats = { packetOuts: 0, reads: 0, packetIns: 0, digests: 0, intervals: 0 };
  private readonly onDigest = new Map<string, (d: DecodedDigestList) => void>();
  /** Data-plane verdicts: switches whose digest config is written and whose verdicts were reported since (re)connecting. */
  private readonly synced = new Set<string>();
  /** Data-plane verdicts: per switch, its request for every peer (index 1: asking for a report of peers judged down). */
  private readonly fanouts = new Map<string, [PacketOut, PacketOut]>();
  /** Data-plane verdicts: requests sent to each switch so far (a probe's measure of time). */
  private readonly fanoutsSent = new Map<string, number>();
  /** Data-plane verdicts: probes of the other end of a tripped watch, by that other end's watch. */
  private readonly probes = new Map<PeerState, { result: ProbeResult | undefined }>();
  private readonly onPacketIn = new Map<string, (p: DecodedPacketIn) => void>();
  /** Per switch, the counter cells of its peers as one pre-encoded read. */
  private readonly queries = new Map<string, Entity[]>();
  /** The watches of each link (one per end that watches it). */
  private readonly ends = new Map<number, PeerState[]>();
  /** Links declared down, with the end whose watch tripped the verdict. */
  private readonly verdicts = new Map<number, string>();
  /** When each switch's watches were last judged (performance.now()). */
  private readonly lastJudged = new Map<string, number>();

  constructor(
    private readonly graph: NetworkGraph,
    private readonly clients: ReadonlyMap<string, P4RuntimeClient>,
    peers: ReadonlyMap<string, readonly HeartbeatPeer[]>,
    readonly settings: HeartbeatSpec,
    /** "pktgen": the switches' packet generators send the requests (Tofino); only read. */
    private readonly requests: "packet-out" | "pktgen" = "packet-out",
  ) {
    super();
    for (const [sw, list] of peers)
      this.states.set(
        sw,
        list.map((peer) => ({
          sw,
          peer,
          lastCount: undefined,
          misses: 0,
          punted: 0,
          down: false,
          rttMs: undefined,
          sent: false,
          heard: false,
          request: undefined,
        })),
      );
    for (const st of [...this.states.values()].flat()) this.ends.set(st.peer.link, [...(this.ends.get(st.peer.link) ?? []), st]);
    if (settings.mode === "dataplane") {
      if (requests === "pktgen") throw new Error("heartbeat mode dataplane: the data-plane verdicts need v1model (docs/tofino.md)");
      for (const [sw, client] of clients) {
        const handler = (d: DecodedDigestList) => this.onVerdicts(sw, client, d);
        this.onDigest.set(sw, handler);
        client.on("digest", handler);
      }
    }
    if (settings.mode === "slow") {
      for (const [sw, client] of clients) {
        const handler = (p: DecodedPacketIn) => {
          if (p.metadata.reason !== PACKET_IN_HEARTBEAT) return;
          this.stats.packetIns++;
          const st = this.states.get(sw)?.find((s) => BigInt(s.peer.index) === p.metadata.aux);
          if (!st) return;
          st.punted++;
          // The request's origin timestamp (µs since the epoch, set when it was sent) comes back in the response.
          if (p.payload.length >= HB_OFFSET + 16) {
            const sent = new DataView(p.payload.buffer, p.payload.byteOffset, p.payload.length).getBigUint64(HB_OFFSET + 8);
            const rtt = Number(BigInt(Date.now()) * 1000n - sent) / 1000;
            if (rtt >= 0 && rtt < 60_000) st.rttMs = rtt;
          }
        };
        this.onPacketIn.set(sw, handler);
        client.on("packetIn", handler);
      }
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      const t0 = performance.now();
      try {
        await this.tick();
      } catch (e) {
        this.emit("error", e instanceof Error ? e : new Error(String(e)));
      }
      const spent = performance.now() - t0;
      if (this.running) this.timer = setTimeout(() => void loop(), Math.max(0, this.settings.intervalMs - spent));
    };
    this.timer = setTimeout(() => void loop(), 0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    for (const [sw, h] of this.onPacketIn) this.clients.get(sw)?.off("packetIn", h);
    for (const [sw, h] of this.onDigest) this.clients.get(sw)?.off("digest", h);
    this.probes.clear();
  }

  /**
   * Forgets what `sw` saw (its counters restart when the switch does) and
   * stops judging from it until `resume`: its verdicts are void while it is
   * out of reach or being re-programmed.
   */
  pause(sw: string): void {
    this.paused.add(sw);
    this.generation.set(sw, (this.generation.get(sw) ?? 0) + 1);
    for (const st of this.states.get(sw) ?? []) {
      st.lastCount = undefined;
      st.misses = 0;
      st.punted = 0;
      st.down = false;
      st.sent = false;
      st.heard = false;
      st.request = undefined;
    }
    this.queries.delete(sw);
    this.synced.delete(sw);
    for (const st of this.probes.keys()) if (st.sw === sw) this.probes.delete(st);
  }

  resume(sw: string): void {
    this.paused.delete(sw);
  }

  /** Every watch (one per link end) with its misses, verdict, counter and round trip. */
  watches(): WatchView[] {
    return [...this.states.values()].flatMap((list) =>
      list.map((s) => ({
        switch: s.sw,
        link: s.peer.link,
        peer: s.peer.peer,
        misses: s.misses,
        down: s.down,
        responses: s.lastCount,
        rttMs: s.rttMs,
      })),
    );
  }

  /** Link ids currently declared down. */
  downLinks(): number[] {
    return [...this.verdicts.keys()];
  }

  /**
   * A link's verdict from its ends: down when a watch tripped and no other
   * end vouches for the link (judged, heard its peer, and missed fewer than
   * missThreshold − 1 intervals in a row); up again as soon as one does.
   */
  private judgeLink(link: number, now: number): void {
    if (this.settings.mode === "dataplane") return this.judgeFromVerdicts(link, now);
    const ends = this.ends.get(link) ?? [];
    const judged = (st: PeerState) =>
      !this.paused.has(st.sw) && now - (this.lastJudged.get(st.sw) ?? -Infinity) <= STALE_INTERVALS * this.settings.intervalMs;
    // An end vouches for the link while it is judged, has heard its peer, and missed fewer intervals in a row
    // than one short of tripping: a real failure shows at both ends in the same intervals (the other end is at
    // most one behind), while one late reply at a busy end says nothing.
    const agreeAt = Math.max(1, this.settings.missThreshold - 1);
    const hears = (st: PeerState) => judged(st) && st.heard && st.misses < agreeAt;
    const confirms = (st: PeerState) => judged(st) && st.misses >= agreeAt;
    // A switch with two or more links all of whose watches tripped at once is itself the likelier fault (starved,
    // its requests or counters stalled): one link fault silences one watch. Its trips count only where the other
    // end, judged, misses too; where that end is not judged (its reads late on a busy machine), a dead or hung
    // neighbour is still seen by that neighbour's other neighbours.
    const selfSilenced = (st: PeerState) => {
      const watches = this.states.get(st.sw) ?? [];
      return watches.length >= 2 && watches.every((w) => w.down);
    };
    const tripped = ends.find((st) => st.down && (!selfSilenced(st) || ends.some((o) => o !== st && confirms(o))));
    const by = this.verdicts.get(link);
    // A verdict stands until no end has tripped or one vouches.
    const down = by === undefined ? tripped !== undefined && !ends.some(hears) : ends.some((st) => st.down) && !ends.some(hears);
    if (down && by === undefined && tripped) {
      this.verdicts.set(link, tripped.sw);
      this.emit("linkDown", { link, name: this.graph.linkName(link), detectedBy: tripped.sw, atMs: now });
    } else if (!down && by !== undefined) {
      this.verdicts.delete(link);
      this.emit("linkUp", { link, name: this.graph.linkName(link), detectedBy: by, atMs: now });
    }
  }

  private judgeLinks(links: Iterable<number>): void {
    const now = performance.now();
    for (const l of links) this.judgeLink(l, now);
  }

  /** One interval: read what came back since the last one, then send new requests. */
  async tick(): Promise<void> {
    const t0 = performance.now();
    this.stats.intervals++;
    const seq = ++this.seq;
    const tasks: Promise<boolean>[] = [];
    for (const [sw, list] of this.states) {
      // A switch whose last interval is still under way (hung, or very slow) is skipped:
      // its neighbours judge its links, and one hung switch never holds up the others.
      if (this.busy.has(sw)) continue;
      this.busy.add(sw);
      tasks.push(this.tickSwitch(sw, list, seq).finally(() => this.busy.delete(sw)));
    }
    // Wait for the switches that answer within the interval; a slow one finishes on its own.
    let timer: NodeJS.Timeout | undefined;
    const reads = await Promise.race([
      Promise.all(tasks).then((r) => r.filter(Boolean).length),
      new Promise<number>((r) => (timer = setTimeout(() => r(0), this.settings.intervalMs))),
    ]);
    clearTimeout(timer);
    // An end that stopped being judged (hung, paused) leaves the verdict to the other.
    this.judgeLinks(this.ends.keys());
    const sent = this.settings.mode === "dataplane" ? this.states.size : [...this.states.values()].reduce((n, l) => n + l.length, 0);
    this.emit("tick", { sent, reads, durationMs: performance.now() - t0 });
  }

  /** One switch's interval: read its counters, judge its watches, send its requests. True when it read. */
  private async tickSwitch(sw: string, list: PeerState[], seq: number): Promise<boolean> {
    const client = this.clients.get(sw);
    // A switch out of reach is judged by its neighbours (they watch the same links).
    if (!client?.connected || !client.hasP4Info || this.paused.has(sw)) return false;
    if (this.settings.mode === "dataplane") {
      await this.sendFanout(sw, client, list);
      return false;
    }
    const generation = this.generation.get(sw) ?? 0;
    let counts: Map<number, bigint> | undefined;
    if (this.settings.mode === "fast" && list.length > 0) {
      try {
        let q = this.queries.get(sw);
        if (!q) {
          q = client.encodeQueries(list.map((st) => ({ kind: "counterEntry", counter: HB_COUNTER, index: st.peer.index })));
          this.queries.set(sw, q);
        }
        counts = new Map();
        for await (const e of client.readRaw(q, { timeoutMs: READ_DEADLINE_MS })) {
          if (e.entity.case === "counterEntry")
            counts.set(Number(e.entity.value.index?.index ?? 0n), e.entity.value.data?.packetCount ?? 0n);
        }
        this.stats.reads++;
      } catch {
        return false; // unreachable or hung: its neighbours judge its links; its reconnect logic takes over
      }
    }
    // Paused (lost, restarted) while the read was under way: what it read is void.
    if (this.paused.has(sw) || generation !== (this.generation.get(sw) ?? 0)) return false;
    // Requests leave a switch only from its primary. Where this controller is primary, it sent them;
    // a controller that is primary nowhere (a standby) watches what the primary's requests bring back.
    // Backup on this switch alone (another client took it), nobody may be sending: no verdict from here.
    const pktgen = this.requests === "pktgen";
    const primaryHere = client.isPrimary;
    const judge = pktgen || primaryHere || ![...this.clients.values()].some((c) => c.isPrimary);
    if (!judge) {
      for (const st of list) {
        if (counts) st.lastCount = counts.get(st.peer.index) ?? st.lastCount;
        st.misses = 0;
        st.punted = 0;
        st.sent = false;
      }
      return counts !== undefined;
    }
    const seenOf = (st: PeerState) =>
      counts ? st.lastCount !== undefined && (counts.get(st.peer.index) ?? 0n) > st.lastCount : st.punted > 0;
    // Silence is a miss only where a request went out. A primary knows what it sent (nothing in the
    // interval it became primary in). A standby cannot see the primary's requests, only what they bring
    // back: when none of this switch's watches heard anything, the primary is most likely gone (it is
    // killed, the take-over is under way) rather than every link at once, so the interval says nothing.
    const standbyHeard = list.some(seenOf);
    for (const st of list) {
      const seen = seenOf(st);
      const first = counts ? st.lastCount === undefined : false;
      const informative = pktgen || seen || (primaryHere ? st.sent : standbyHeard);
      if (counts) st.lastCount = counts.get(st.peer.index) ?? 0n;
      st.punted = 0;
      st.sent = false;
      if (first || !informative) continue;
      if (seen) {
        st.misses = 0;
        st.down = false;
        st.heard = true;
      } else if (++st.misses >= this.settings.missThreshold) {
        st.down = true;
      }
    }
    this.lastJudged.set(sw, performance.now());
    this.judgeLinks(list.map((st) => st.peer.link));
    this.emit("judged", { switch: sw, atMs: performance.now() });
    // Only the primary sends; a backup controller reads the same counters and keeps its own verdicts.
    if (this.requests === "packet-out" && client.isPrimary) for (const st of list) this.sendRequest(sw, client, st, seq);
    return counts !== undefined;
  }

  /** Data-plane verdicts: a digest list from `sw` (acknowledged), one peer's new state per digest. */
  private onVerdicts(sw: string, client: P4RuntimeClient, d: DecodedDigestList): void {
    if (d.digest !== HB_DIGEST) return;
    try {
      client.ackDigest(HB_DIGEST, d.listId);
    } catch {
      // Stream down: the switch re-sends nothing; it reports again when it is synced after reconnecting.
    }
    this.stats.digests += d.data.length;
    if (this.paused.has(sw)) return;
    const links = new Set<number>();
    for (const v of d.data) {
      const { peer_index, state } = v as Record<string, bigint>;
      const st = this.states.get(sw)?.find((s) => BigInt(s.peer.index) === peer_index);
      if (!st) continue;
      st.down = state === HB_PEER_DOWN;
      if (!st.down) st.heard = true;
      links.add(st.peer.link);
    }
    this.lastJudged.set(sw, performance.now());
    this.judgeLinks(links);
    this.emit("judged", { switch: sw, atMs: performance.now() });
  }

  /**
   * Data-plane verdicts: a link is down when an end judged it down and every other end agrees: judged it down too,
   * is out of reach (not connected, paused, or not this controller's to hear), or a probe found it hung or deaf (its
   * responses from the tripped end stopped too). An end that still hears is a vouch: the tripped end is the likelier
   * fault. A verdict stands until no end judges the link down.
   */
  private judgeFromVerdicts(link: number, now: number): void {
    const ends = this.ends.get(link) ?? [];
    const tripped = ends.find((st) => st.down);
    const by = this.verdicts.get(link);
    if (!tripped) {
      for (const st of ends) this.probes.delete(st);
      if (by !== undefined) {
        this.verdicts.delete(link);
        this.emit("linkUp", { link, name: this.graph.linkName(link), detectedBy: by, atMs: now });
      }
      return;
    }
    if (by !== undefined) return;
    const outOfReach = (st: PeerState) => {
      const c = this.clients.get(st.sw);
      return this.paused.has(st.sw) || !c?.connected || !c.isPrimary;
    };
    const others = ends.filter((st) => !st.down);
    const agrees = (st: PeerState) => outOfReach(st) || ["hung", "deaf"].includes(this.probes.get(st)?.result ?? "");
    if (others.every(agrees)) {
      for (const st of others) this.probes.delete(st);
      this.verdicts.set(link, tripped.sw);
      this.emit("linkDown", { link, name: this.graph.linkName(link), detectedBy: tripped.sw, atMs: now });
      return;
    }
    for (const st of others) if (!outOfReach(st)) this.probe(st);
  }

  /**
   * Reads the response counter of `st` (the other end of a tripped watch: its responses from the tripped end's
   * switch) every interval while the trip stands: a read past the interval says hung; a count that moved says it
   * hears; a count that stayed while `missThreshold` requests went out to that switch (counted as sent, not by
   * the clock: a busy machine stretches intervals) says deaf.
   */
  private probe(st: PeerState): void {
    if (this.probes.has(st)) return;
    const probe: { result: ProbeResult | undefined } = { result: undefined };
    this.probes.set(st, probe);
    const current = () => this.running && this.probes.get(st) === probe;
    void (async () => {
      let base: { count: bigint; sent: number } | undefined;
      while (current()) {
        const client = this.clients.get(st.sw);
        let count: bigint | undefined;
        try {
          if (!client?.connected) throw new Error("not connected");
          const [entity] = client.encodeQueries([{ kind: "counterEntry", counter: HB_COUNTER, index: st.peer.index }]);
          for await (const e of client.readRaw([entity!], { timeoutMs: this.settings.intervalMs }))
            if (e.entity.case === "counterEntry") count = e.entity.value.data?.packetCount ?? 0n;
          this.stats.reads++;
        } catch {
          count = undefined;
        }
        if (!current()) return;
        const sent = this.fanoutsSent.get(st.sw) ?? 0;
        if (count === undefined) probe.result = "hung";
        else if (base === undefined || count !== base.count) {
          if (base !== undefined) probe.result = "hears";
          else if (probe.result === "hung") probe.result = undefined;
          base = { count, sent };
        } else if (sent - base.sent >= this.settings.missThreshold) probe.result = "deaf";
        this.judgeLinks([st.peer.link]);
        if (count !== undefined || probe.result === "hung") await new Promise((r) => setTimeout(r, this.settings.intervalMs));
      }
    })();
  }

  /**
   * Data-plane verdicts: the interval's one request from `sw` (its primary only: digests go to the primary). The
   * first after connecting, taking over or a re-programming writes the digest config and asks for a report of the
   * peers already judged down.
   */
  private async sendFanout(sw: string, client: P4RuntimeClient, list: readonly PeerState[]): Promise<void> {
    if (!client.isPrimary || list.length === 0) {
      this.synced.delete(sw);
      return;
    }
    let report = false;
    if (!this.synced.has(sw)) {
      try {
        await writeDigestConfig(client);
      } catch (e) {
        this.emit("error", new Error(`${sw}: heartbeat digest config: ${e instanceof Error ? e.message : String(e)}`));
        return;
      }
      this.synced.add(sw);
      report = true;
    }
    try {
      let pair = this.fanouts.get(sw);
      if (!pair) {
        const me = this.graph.switches.get(sw)!;
        const encode = (report: boolean) => client.encodePacketOut(fanoutPacketOut(me, report));
        pair = [encode(false), encode(true)];
        this.fanouts.set(sw, pair);
      }
      client.sendPacketRaw(pair[report ? 1 : 0]);
      this.stats.packetOuts++;
      this.fanoutsSent.set(sw, (this.fanoutsSent.get(sw) ?? 0) + 1);
      this.lastJudged.set(sw, performance.now());
    } catch {
      // Stream down: this switch's heartbeats resume once it reconnects (and report again).
      this.synced.delete(sw);
    }
  }

  private sendRequest(sw: string, client: P4RuntimeClient, st: PeerState, seq: number): void {
    try {
      if (!st.request) {
        const me = this.graph.switches.get(sw)!;
        const them = this.graph.switches.get(st.peer.peer)!;
        const adj = this.graph.allAdjacencies(sw).find((a) => a.port === st.peer.port)!;
        const frame = buildFrame({
          ethernet: { src: formatMac(portMac(me, st.peer.port)), dst: formatMac(portMac(them, adj.peerPort)) },
          packet: {
            ip: { version: 4, src: me.loopback.ipv4, dst: formatIPv4(st.peer.peerAddress), ttl: 64 },
            // UDP checksum 0 (none, allowed over IPv4) lets sequence and timestamp change without recomputing it.
            // Fast path: STAMP, the switch times the round trip (its origin timestamp replaces ours).
            l4: {
              kind: "heartbeat",
              heartbeat: {
                type: HeartbeatType.REQUEST,
                flags: requestFlags(this.settings.mode),
                originId: me.deviceId & 0xffff,
                sequence: 0,
              },
              udp: { checksum: 0 },
            },
          },
        });
        st.request = client.encodePacketOut({ payload: frame, metadata: { egress_port: st.peer.port, flags: PACKET_OUT_DIRECT } });
      }
      // Heartbeat header after Ethernet (14), IPv4 (20) and UDP (8): sequence at +4, origin timestamp at +8.
      const view = new DataView(st.request.payload.buffer, st.request.payload.byteOffset);
      view.setUint32(HB_OFFSET + 4, seq >>> 0);
      view.setBigUint64(HB_OFFSET + 8, BigInt(Date.now()) * 1000n);
      client.sendPacketRaw(st.request);
      st.sent = true;
      this.stats.packetOuts++;
    } catch {
      // Stream down: this switch's heartbeats resume once it reconnects.
    }
  }
}

const HB_OFFSET = 14 + 20 + 8;

/** A request's flags: LINK always; STAMP in the fast path (the data plane measures the round trip, hb_rtt). */
export function requestFlags(mode: HeartbeatSpec["mode"]): number {
  return HeartbeatFlags.LINK | (mode === "fast" ? HeartbeatFlags.STAMP : 0);
}
/** Data-plane verdicts: each peer's new state as soon as it is known, one digest per list, acknowledged. */
async function writeDigestConfig(client: P4RuntimeClient): Promise<void> {
  const entity = {
    kind: "digestEntry" as const,
    digest: HB_DIGEST,
    config: { maxListSize: 1, maxTimeoutNs: 0n, ackTimeoutNs: 1_000_000_000n },
  };
  try {
    await client.insert(entity);
  } catch (e) {
    if (!(isP4RuntimeError(e) && (e.code === Code.ALREADY_EXISTS || e.onlyFailedWith(Code.ALREADY_EXISTS)))) throw e;
    await client.modify(entity);
  }
}

/** An end not judged for this many intervals (hung, skipped, paused) no longer has a say in its links' verdicts. */
const STALE_INTERVALS = 2.5;
/** A counter read that takes longer than this is given up (a hung switch). */
const READ_DEADLINE_MS = 3_000;
