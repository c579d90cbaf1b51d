/**
 * heartbeat, data-plane verdicts (p4/controls/heartbeat.p4): the
 * controller's one request per interval (PACKET_OUT_FLAG_HB_FANOUT) leaves
 * as one numbered request per peer, and the data plane tells the controller
 * with one digest per change when a peer stops answering and when it
 * answers again. Harness and targets: ./support/dataplane.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DecodedDigestList } from "../../src/client/index.js";
import { HeartbeatFlags, HeartbeatType, buildFrame, bytesToHex, checksumProblems, decodeFrame } from "../../src/packet/index.js";
import {
  ADDR,
  dataplane,
  dataplaneKinds,
  entry,
  hostMac,
  installForwarding,
  installHeartbeat,
  isMarker,
  swMac,
} from "./support/dataplane.js";

const HB_GROUP = 0x3fff;
const FANOUT = 0x02;
const DIGEST = "hb_verdict_digest_t";
const THRESHOLD = 3;
const UP = 0n;
const DOWN = 1n;

/** Peers of the switch under test: index, port, address (installHeartbeat knows 10.2.0.77 as peer 5). */
const PEERS = [
  { index: 5, port: 2, addr: "10.2.0.77" },
  { index: 4, port: 1, addr: "10.1.0.1" },
] as const;

for (const kind of dataplaneKinds) {
  describe(`heartbeat data-plane verdicts on ${kind}`, () => {
    const h = dataplane(kind);
    const ME = ADDR.HEARTBEAT;
    const digests: { peer: bigint; state: bigint; seq: bigint }[] = [];
    const onDigest = (d: DecodedDigestList) => {
      if (d.digest !== DIGEST) return;
      for (const v of d.data) {
        const s = v as Record<string, bigint>;
        digests.push({ peer: s.peer_index!, state: s.state!, seq: s.seq! });
      }
      h.c.ackDigest(DIGEST, d.listId);
    };

    /** Each peer's request (heartbeat_tick_exact), judging only requests at least `minGap` us after the previous one. */
    const tickEntries = (minGap: number) =>
      PEERS.map((p) =>
        entry("ingress.heartbeat.heartbeat_tick_exact", { peer_index: p.index }, "ingress.heartbeat.heartbeat_request", {
          port: h.P(p.port),
          src_mac: swMac(p.port),
          dst_mac: hostMac(p.port),
          peer_addr: p.addr,
          miss_threshold: THRESHOLD,
          min_gap: minGap,
        }),
      );

    beforeAll(async () => {
      await installForwarding(h);
      await installHeartbeat(h);
      await h.insert(
        entry("ingress.heartbeat.heartbeat_peer_exact", { peer_addr: "10.1.0.1" }, "ingress.heartbeat.set_peer", { peer_index: 4 }),
        ...tickEntries(0),
        h.mcastGroup(
          HB_GROUP,
          PEERS.map((p) => [h.P(p.port), p.index]),
        ),
        { kind: "digestEntry", digest: DIGEST, config: { maxListSize: 1, maxTimeoutNs: 0n, ackTimeoutNs: 1_000_000_000n } },
      );
      h.c.on("digest", onDigest);
    });
    afterAll(() => {
      h.c.off("digest", onDigest);
    });

    /** The controller's request for every peer, as it sends it: its own address, nothing else filled in. */
    const template = (report = false) =>
      buildFrame({
        ethernet: { dst: "00:00:00:00:00:00", src: "00:00:00:00:00:00" },
        packet: {
          ip: { version: 4, src: ME, dst: "0.0.0.0", ttl: 64 },
          l4: {
            kind: "heartbeat",
            heartbeat: {
              type: HeartbeatType.REQUEST,
              flags: HeartbeatFlags.LINK | HeartbeatFlags.STAMP | (report ? HeartbeatFlags.REPORT : 0),
              originId: 9,
              sequence: 0,
            },
            udp: { checksum: 0 },
          },
        },
      });

    /** Sends the interval's request; returns the frames that left, by switch port. */
    async function fanout(report = false): Promise<Map<number, Uint8Array[]>> {
      const out = new Map<number, Uint8Array[]>();
      const add = (port: number, f: Uint8Array) => out.set(port, [...(out.get(port) ?? []), f]);
      if (h.loopback) {
        const before = h.packetIns.length;
        h.c.sendPacket({ payload: template(report), metadata: { egress_port: 0, flags: FANOUT } });
        await h.barrier();
        for (const p of h.packetIns.slice(before)) {
          if (isMarker(p)) continue;
          const src = decodeFrame(p.payload).ethernet.src;
          add(PEERS.find((x) => swMac(x.port) === src)?.port ?? 0, p.payload);
        }
        return out;
      }
      const hosts = h.target.hosts!;
      const before = new Map(PEERS.map((p) => [p.port, hosts.get(p.port)!.received.length]));
      h.c.sendPacket({ payload: template(report), metadata: { egress_port: 0, flags: FANOUT } });
      await h.barrier();
      await h.settle(20);
      for (const p of PEERS) for (const f of hosts.get(p.port)!.received.slice(before.get(p.port))) add(p.port, f);
      return out;
    }

    const response = (peer: (typeof PEERS)[number], seq: number) =>
      buildFrame({
        ethernet: { dst: swMac(peer.port), src: hostMac(peer.port) },
        packet: {
          ip: { version: 4, src: peer.addr, dst: ME, ttl: 64 },
          l4: { kind: "heartbeat", heartbeat: { type: HeartbeatType.RESPONSE, flags: HeartbeatFlags.LINK, originId: 9, sequence: seq } },
        },
      });

    /** Digests that arrive within the barrier's quiet time after `act`. */
    async function digestsAfter(act: () => Promise<unknown>) {
      const before = digests.length;
      await act();
      await h.barrier();
      await h.settle(100);
      return digests.slice(before);
    }

    let seq = 0;
    it("one packet-out leaves as one numbered, stamped request per peer, byte for byte", async () => {
      const out = await fanout();
      seq++;
      expect([...out.keys()].sort()).toEqual(PEERS.map((p) => p.port).sort());
      for (const p of PEERS) {
        const frames = out.get(p.port)!;
        expect(frames.length).toBe(1);
        const d = decodeFrame(frames[0]!);
        expect(checksumProblems(d)).toEqual([]);
        const hb = d.ip?.l4.kind === "udp" ? d.ip.l4.heartbeat : undefined;
        expect(hb).toMatchObject({ type: HeartbeatType.REQUEST, sequence: seq, originId: 9, flags: 3, reflectTimestamp: 0n });
        // The switch's own timestamp as the copy went out (the round trip is measured in its clock).
        expect(hb!.originTimestamp).toBeGreaterThan(0n);
        const expected = buildFrame({
          ethernet: { dst: hostMac(p.port), src: swMac(p.port) },
          packet: {
            ip: { version: 4, src: ME, dst: p.addr, ttl: 64 },
            l4: {
              kind: "heartbeat",
              heartbeat: { type: HeartbeatType.REQUEST, flags: 3, originId: 9, sequence: seq, originTimestamp: hb!.originTimestamp },
              udp: { checksum: 0 },
            },
          },
        });
        expect(bytesToHex(frames[0]!), `request to ${p.addr}`).toBe(bytesToHex(expected));
      }
    });

    it("a peer that answers stays up: no digest", async () => {
      for (let i = 0; i < THRESHOLD + 2; i++) {
        const got = await digestsAfter(async () => {
          await fanout();
          seq++;
          for (const p of PEERS) await h.exchange(p.port, response(p, seq));
        });
        expect(got).toEqual([]);
      }
    });

    it("silence for miss_threshold requests: one digest per peer saying down, then nothing more", async () => {
      // Requests seq+1 .. seq+THRESHOLD go unanswered; the copies of the next one find both peers silent.
      for (let i = 0; i < THRESHOLD; i++) {
        expect(
          await digestsAfter(async () => {
            await fanout();
            seq++;
          }),
        ).toEqual([]);
      }
      const down = await digestsAfter(async () => {
        await fanout();
        seq++;
      });
      expect(down.sort((a, b) => Number(a.peer - b.peer))).toEqual(
        [...PEERS].sort((a, b) => a.index - b.index).map((p) => ({ peer: BigInt(p.index), state: DOWN, seq: BigInt(seq) })),
      );
      expect(await h.register("ingress.heartbeat.hb_state", 5)).toBe(DOWN);
      for (let i = 0; i < 2; i++)
        expect(
          await digestsAfter(async () => {
            await fanout();
            seq++;
          }),
        ).toEqual([]);
    });

    it("REPORT (a controller that connected since asks): each peer already down is reported again; the flag does not leave", async () => {
      let out = new Map<number, Uint8Array[]>();
      const reported = await digestsAfter(async () => {
        out = await fanout(true);
        seq++;
      });
      expect(reported.sort((a, b) => Number(a.peer - b.peer))).toEqual([
        { peer: 4n, state: DOWN, seq: BigInt(seq) },
        { peer: 5n, state: DOWN, seq: BigInt(seq) },
      ]);
      for (const p of PEERS) {
        const d = decodeFrame(out.get(p.port)![0]!);
        expect(d.ip?.l4.kind === "udp" ? d.ip.l4.heartbeat?.flags : undefined).toBe(HeartbeatFlags.LINK | HeartbeatFlags.STAMP);
      }
    });

    it("an answer to one of the last two requests says up (one digest); a late answer to an older one does not", async () => {
      const [p5, p4] = PEERS;
      expect(await digestsAfter(() => h.exchange(p4.port, response(p4, seq - 3)))).toEqual([]);
      expect(await digestsAfter(() => h.exchange(p5.port, response(p5, seq)))).toEqual([{ peer: 5n, state: UP, seq: BigInt(seq) }]);
      expect(await digestsAfter(() => h.exchange(p5.port, response(p5, seq)))).toEqual([]);
      expect(await digestsAfter(() => h.exchange(p4.port, response(p4, seq - 1)))).toEqual([{ peer: 4n, state: UP, seq: BigInt(seq - 1) }]);
      expect(await h.register("ingress.heartbeat.hb_state", 5)).toBe(UP);
      expect(await h.register("ingress.heartbeat.hb_tx_seq", 0)).toBe(BigInt(seq));
    });

    it("a burst of requests (queued while the switch was busy) judges nothing; the next one, spaced, does", async () => {
      // Both peers answer request `seq`; then requests come closer than min_gap: no verdict however many.
      for (const p of PEERS) await h.exchange(p.port, response(p, seq));
      const spaced = async (minGap: number) => h.c.modify(...tickEntries(minGap));
      await spaced(10_000_000); // 10 s: every request of this test is "too close"
      const burst = await digestsAfter(async () => {
        for (let i = 0; i < THRESHOLD + 3; i++) {
          h.c.sendPacket({ payload: template(), metadata: { egress_port: 0, flags: FANOUT } });
          seq++;
        }
      });
      expect(burst, "a burst judges nothing").toEqual([]);
      await spaced(0);
      const down = await digestsAfter(async () => {
        await fanout();
        seq++;
      });
      expect(down.map((d) => d.state)).toEqual([DOWN, DOWN]);
      // Both come back for the tests after this one.
      for (const p of PEERS) await h.exchange(p.port, response(p, seq));
    });

    it("a copy for a peer without a request entry is dropped and counted", async () => {
      const unknown = await h.drops(12);
      await h.c.modify(h.mcastGroup(HB_GROUP, [...PEERS.map((p): [number, number] => [h.P(p.port), p.index]), [h.P(3), 9]]));
      const out = await fanout();
      seq++;
      expect([...out.keys()].sort()).toEqual(PEERS.map((p) => p.port).sort());
      expect(await h.drops(12)).toBe(unknown + 1n);
    });
  });
}
