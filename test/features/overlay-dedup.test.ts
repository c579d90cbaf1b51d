/**
 * overlay-dedup (p4/controls/overlay_dedup.p4): the last hop's per-session
 * dedup window, verdict by verdict against the reference model
 * (./support/overlay-dedup-model.ts): first copies delivered, duplicates
 * and too-old copies dropped, 2^32 wrap-around, copies in transit leaving
 * the window alone, out-of-window sequence numbers and the resync run.
 * Harness and targets: ./support/dataplane.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { bytesToHex, decodeFrame } from "../../src/packet/index.js";
import { DEDUP_RESYNC, DEDUP_SPAN, DedupWindow } from "./support/overlay-dedup-model.js";
import {
  ADDR,
  clientCount,
  dataplane,
  dataplaneKinds,
  DROP,
  installForwarding,
  installLastHop,
  installTrustedSessions,
  lastHopCopy,
  lastHopDelivered,
  trusted,
} from "./support/dataplane.js";

for (const kind of dataplaneKinds) {
  describe(`overlay-dedup (overlay dedup) on ${kind}`, () => {
    const h = dataplane(kind);
    const { hasPorts, exchange, counter, register, drops } = h;
    beforeAll(async () => {
      await installForwarding(h);
      await installLastHop(h);
      await installTrustedSessions(h);
    });

    const LOOPBACK = ADDR.LASTHOP;
    const copy = lastHopCopy;
    const delivered = lastHopDelivered;
    const { payload, tree, overlay, atClient } = trusted;

    it("delivers the first copy of each sequence to every client and drops the rest, like the reference window", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const model = new DedupWindow();
      const seqs = [100, 100, 102, 101, 101, 103, 170, 105, 106, 105, 171];
      for (const q of seqs) {
        const verdict = model.offer(q);
        const { out } = await exchange(1, copy(LOOPBACK, 7, q, true));
        if (verdict === "new") {
          expect([...out.keys()].sort(), `seq ${q}`).toEqual([3, 4]);
          expect(bytesToHex(out.get(3)![0]!)).toBe(delivered("10.3.0.3", 3, 7, q));
          expect(bytesToHex(out.get(4)![0]!)).toBe(delivered("10.4.0.4", 4, 7, q));
        } else {
          expect(out.size, `seq ${q} is ${verdict}`).toBe(0);
        }
      }
      expect((await counter("ingress.dedup.dedup_delivered_counter", 7)).packets).toBe(BigInt(model.counters.delivered));
      // Each client got exactly the new ones: its own counter.
      expect(await clientCount(h, 7, 201)).toBe(BigInt(model.counters.delivered));
      expect(await clientCount(h, 7, 202)).toBe(BigInt(model.counters.delivered));
      expect((await counter("ingress.dedup.dedup_duplicate_counter", 7)).packets).toBe(BigInt(model.counters.duplicate));
      expect((await counter("ingress.dedup.dedup_too_old_counter", 7)).packets).toBe(BigInt(model.counters.tooOld));
      expect(await register("ingress.dedup.dedup_gap", 7)).toBe(model.counters.gap);
      expect(await register("ingress.dedup.dedup_highest", 7)).toBe(model.registers().highest);
      expect(await register("ingress.dedup.dedup_history", 7)).toBe(model.registers().history);
    });

    it("an overlay copy passing through to another last hop of the session leaves this router's window alone", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const before = await register("ingress.dedup.dedup_highest", 7);
      const q = Number(before) + 1;
      // On its way to 10.2.0.99 (another router): routed out of port 2, not delivered here, window unchanged.
      let r = await exchange(1, copy("10.2.0.99", 7, q, true));
      expect([...r.out.keys()]).toEqual([2]);
      expect(await register("ingress.dedup.dedup_highest", 7)).toBe(before);
      // This router's own copy of that sequence number is still new here.
      r = await exchange(1, copy(LOOPBACK, 7, q, true));
      expect([...r.out.keys()].sort()).toEqual([3, 4]);
      expect(bytesToHex(r.out.get(3)![0]!)).toBe(delivered("10.3.0.3", 3, 7, q));
    });

    it("handles sequence wrap-around at 2^32 and too-old copies", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const model = new DedupWindow();
      for (const q of [0xfffffffe, 0xffffffff, 0, 1, 0xffffffff, 0xfffffffd, 0xffffff00, 2]) {
        const verdict = model.offer(q);
        const { out } = await exchange(1, copy(LOOPBACK, 9, q, true));
        expect(out.size, `seq ${q >>> 0} (${verdict})`).toBe(verdict === "new" ? 1 : 0);
        if (verdict === "new") {
          const d = decodeFrame(out.get(4)![0]!);
          expect(d.ip?.version).toBe(4);
        }
      }
      expect(await register("ingress.dedup.dedup_highest", 9)).toBe(model.registers().highest);
      expect(await register("ingress.dedup.dedup_history", 9)).toBe(model.registers().history);
    });

    const resyncTitle = `an out-of-window sequence number leaves the window; ${DEDUP_RESYNC} agreeing ones resync it, like the reference`;
    it(resyncTitle, async (ctx) => {
      if (!hasPorts()) ctx.skip();
      const model = new DedupWindow();
      // Session 13's first copy opens the window.
      expect(model.offer(1)).toBe("new");
      expect(atClient((await exchange(1, overlay(1, 1, 13))).out)).toEqual([payload(13, 1)]);
      const far = 0x40000000;
      const seqs = [
        ...Array.from({ length: 10 }, (_, i) => 1000 + i), // 1000..1009 (a gap: within the span)
        1009 + 0x80000000, // about 2^31 ahead
        1009 + DEDUP_SPAN + 1, // just beyond the span, ahead and behind
        1009 - DEDUP_SPAN - 1,
        1010,
        1009 - DEDUP_SPAN + 5, // too old, within the span
        ...Array.from({ length: DEDUP_RESYNC + 2 }, (_, i) => far + i), // a run: the N-th resyncs
        far, // a late copy of the run's first: it was dropped, so now it is new
        1011, // the old stream: out of window now
      ];
      const ow0 = await drops(DROP.OUT_OF_WINDOW);
      let outOfWindow = 0;
      for (const q of seqs) {
        const verdict = model.offer(q);
        const got = atClient((await exchange(1, overlay(1, q, 13))).out);
        expect(got, `seq ${q >>> 0}: ${verdict}`).toEqual(verdict === "new" ? [payload(13, q)] : []);
        if (verdict === "out-of-window") outOfWindow++;
      }
      expect(outOfWindow).toBe(3 + (DEDUP_RESYNC - 1) + 1);
      expect(await drops(DROP.OUT_OF_WINDOW)).toBe(ow0 + BigInt(outOfWindow));
      expect((await counter("ingress.dedup.dedup_out_of_window_counter", 13)).packets).toBe(BigInt(model.counters.outOfWindow));
      const r = model.registers();
      expect(await register("ingress.dedup.dedup_highest", 13)).toBe(r.highest);
      expect(await register("ingress.dedup.dedup_history", 13)).toBe(r.history);
      expect(await register("ingress.dedup.dedup_resync_seq", 13)).toBe(r.resyncSeq);
      expect(await register("ingress.dedup.dedup_resync_count", 13)).toBe(r.resyncCount);
      expect(await register("ingress.dedup.dedup_gap", 13)).toBe(model.counters.gap);
    });

    it("a tree copy out of the window still goes down the tree, but not to the clients (egress drop, OUT_OF_WINDOW)", async (ctx) => {
      if (!hasPorts()) ctx.skip();
      // Open the window if no earlier test did, then go far ahead of it.
      const next = (await register("ingress.dedup.dedup_highest", 12)) + 1n;
      await exchange(1, tree(1, Number(next)));
      expect(await register("ingress.dedup.dedup_highest", 12)).toBe(next);
      const before = (await counter("egress.egress_drop_counter", DROP.OUT_OF_WINDOW)).packets;
      const { out } = await exchange(1, tree(1, Number(next) + 0x10000));
      expect([...out.keys()]).toEqual([2]);
      expect((await counter("egress.egress_drop_counter", DROP.OUT_OF_WINDOW)).packets).toBe(before + 1n);
      expect(await register("ingress.dedup.dedup_highest", 12)).toBe(next);
    });
  });
}
