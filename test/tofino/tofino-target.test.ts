/**
 * The controller's Tofino target against a real P4Runtime server: the
 * embedded switch running the p4cast program (its BMv2 JSON; the embedded
 * switch does not accept the packed Tofino config, whose packing is checked
 * byte for byte in device-config.test.ts). Registers are reached over
 * P4Runtime RegisterEntry only: the data plane's own writes are read back,
 * cells are written and read, and a server without RegisterEntry
 * (simple_switch_grpc, when on PATH) is an error rather than a silent
 * switch to Thrift, which the BMv2 target does instead.
 */
import { describeUnless } from "../support/skips.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { isP4RuntimeError } from "../../src/p4runtime/errors.js";
import type { RegisterAccess } from "../../src/client/registers.js";
import { Bmv2Target, TNA_DEDUP, TofinoRegisters, TofinoTarget } from "../../src/controller/targets/index.js";
import { buildFrame } from "../../src/packet/frame.js";
import { bmv2Available, bmv2SkipReason, startTarget, type TestTarget } from "../support/targets.js";

const tofino = new TofinoTarget({ p4info: "unused", tofinoBin: "unused", contextJson: "unused" });

function sessionPacket(seqNo: number): Uint8Array {
  return buildFrame({
    ethernet: { dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01" },
    packet: {
      ip: { version: 4, src: "10.0.1.10", dst: "10.0.9.9", ttl: 64 },
      l4: { kind: "udp", udp: { srcPort: 4000 + seqNo, dstPort: 5000 }, payload: new Uint8Array(8) },
    },
  });
}

describe("Tofino target: registers over P4Runtime (embedded switch)", () => {
  let target: TestTarget;
  let c: P4RuntimeClient;
  let regs: RegisterAccess;

  beforeAll(async () => {
    target = await startTarget("embedded");
    c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 7n, reconnect: false });
    const p = await new Bmv2Target().pipeline();
    await c.setPipeline({ p4info: p.p4info, deviceConfig: p.deviceConfig, cookie: p.cookie });
    regs = await tofino.registers(c);
  });

  afterAll(async () => {
    regs?.close();
    c?.close();
    await target?.stop();
  });

  it("is P4Runtime access (no Thrift)", () => {
    expect(regs).toBeInstanceOf(TofinoRegisters);
    expect(regs.via).toBe("p4runtime");
  });

  it("reads what the data plane wrote: session_seq advances once per encapsulated packet", async () => {
    await c.insert({
      kind: "tableEntry",
      table: "ingress.session.session_v4_exact",
      match: { dst_addr: "10.0.9.9", l4_dst_port: 5000n },
      action: {
        name: "ingress.session.encap_session",
        params: { session_id: 3n, group_addr: "239.1.1.1", src_addr: "10.0.0.1", mcast_grp: 7n, yellow_dscp: 10n },
      },
    });
    await regs.write("ingress.encap.session_seq", 3, 100n);
    const host = target.hosts!.get(1)!;
    for (let i = 0; i < 5; i++) host.send(sessionPacket(i));
    const deadline = Date.now() + 5000;
    let seq = await regs.read("ingress.encap.session_seq", 3);
    while (seq !== 105n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      seq = await regs.read("ingress.encap.session_seq", 3);
    }
    expect(seq).toBe(105n);
  });

  it("writes, reads and reads every cell", async () => {
    await regs.write("ingress.heartbeat.hb_last_seq", 9, 0xfeedbeefn);
    expect(await regs.read("ingress.heartbeat.hb_last_seq", 9)).toBe(0xfeedbeefn);
    const all = await regs.readAll("ingress.heartbeat.hb_count");
    expect(all).toHaveLength(256);
    expect(all.every((v) => v === 0n)).toBe(true);
  });

  it("passes dedup_history through when the pipeline is not the TNA layout", async () => {
    expect((regs as TofinoRegisters).tnaLayout).toBe(false);
    await regs.write(TNA_DEDUP.history, 4, 0n);
    expect(await regs.read(TNA_DEDUP.history, 4)).toBe(0n);
  });

  it("an unknown register is an error naming it", async () => {
    await expect(regs.read("ingress.dedup.dedup_slots", 0)).rejects.toThrow(/dedup_slots/);
  });
});

describe("Tofino target: the v1model register contract on the TNA layout", () => {
  /** A client whose P4Info has the TNA dedup registers, and a recording register access. */
  function fixture() {
    const writes: [string, number, bigint][] = [];
    const inner: RegisterAccess = {
      via: "p4runtime",
      read: async () => 0n,
      readAll: async () => [],
      write: async (r, i, v) => void writes.push([r, i, v]),
      close: () => undefined,
    };
    const client = {
      index: { registers: { find: (n: string) => (n === TNA_DEDUP.slots ? { name: n } : undefined) } },
    } as unknown as P4RuntimeClient;
    return { regs: new TofinoRegisters(client, inner), writes };
  }

  it("a reset of dedup_history[s] empties dedup_valid[s] and the session's 64 slots", async () => {
    const { regs, writes } = fixture();
    expect(regs.tnaLayout).toBe(true);
    await regs.write("ingress.dedup.dedup_history", 2, 0n);
    expect(writes[0]).toEqual([TNA_DEDUP.valid, 2, 0n]);
    expect(writes.slice(1).map(([r, i]) => `${r}[${i}]`)).toEqual(Array.from({ length: 64 }, (_, k) => `${TNA_DEDUP.slots}[${128 + k}]`));
  });

  it("other registers pass through; a history other than 0 cannot be written", async () => {
    const { regs, writes } = fixture();
    await regs.write("ingress.dedup.dedup_highest", 2, 0n);
    expect(writes).toEqual([["ingress.dedup.dedup_highest", 2, 0n]]);
    await expect(regs.write("ingress.dedup.dedup_history", 2, 1n)).rejects.toThrow(/only a reset/);
    await expect(regs.read("ingress.dedup.dedup_history", 2)).rejects.toThrow(/no history bitmap/);
  });
});

describeUnless(bmv2Available ? undefined : bmv2SkipReason, "Tofino target vs BMv2 target on simple_switch_grpc (no RegisterEntry)", () => {
  let target: TestTarget;
  let c: P4RuntimeClient;

  beforeAll(async () => {
    target = await startTarget("bmv2");
    c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 7n, reconnect: false });
    const p = await new Bmv2Target().pipeline();
    await c.setPipeline({ p4info: p.p4info, deviceConfig: p.deviceConfig, cookie: p.cookie });
  }, 60_000);

  afterAll(async () => {
    c?.close();
    await target?.stop();
  });

  it("the Tofino target reports the server's UNIMPLEMENTED instead of falling back to Thrift", async () => {
    const regs = await tofino.registers(c);
    const err = await regs.read("ingress.encap.session_seq", 0).catch((e: unknown) => e);
    expect(isP4RuntimeError(err)).toBe(true);
    regs.close();
  });

  it("the BMv2 target falls back to Thrift", async () => {
    const regs = await new Bmv2Target({ thrift: { port: target.thriftPort ?? 9090 } }).registers(c);
    expect(regs.via).toBe("thrift");
    await regs.write("ingress.encap.session_seq", 1, 77n);
    expect(await regs.read("ingress.encap.session_seq", 1)).toBe(77n);
    regs.close();
  });
});
if (!bmv2Available) console.log(`[p4cast tests] ${bmv2SkipReason}`);
