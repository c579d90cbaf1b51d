/**
 * Tofino device-config packing (src/controller/targets/tofino-device-config.ts):
 * byte-exact layouts of the PI packing (Stratum bf_pipeline_utils.cc,
 * BfPipelineConfigToPiConfig) and of Stratum's BfPipelineConfig protobuf,
 * round trips, and the Tofino target's pipeline / pktgen helpers. With
 * `make -C p4 tofino` run here, also the real tofino.bin and context.json
 * of the compile p4/build/tofino/manifest.json records (by hash).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  TofinoTarget,
  decodeBfPipelineConfig,
  encodeBfPipelineConfig,
  heartbeatTemplate,
  packTofinoDeviceConfig,
  pktgenPeerEntries,
  pktgenTimerApp,
  tnaDedupResetWrites,
  unpackTofinoDeviceConfig,
} from "../../src/controller/targets/index.js";
import { defaultBuildDir } from "../../src/controller/pipeline.js";
import { checksumVerifies } from "../../src/packet/checksum.js";
import { describeWith } from "../support/skips.js";

const ascii = (s: string) => [...Buffer.from(s, "utf8")];
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("PI packing (name, tofino.bin, context.json; u32 little-endian lengths)", () => {
  const blobs = {
    programName: "p4cast_tna",
    tofinoBin: Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x00]),
    contextJson: new TextEncoder().encode('{"a":1}'),
  };

  it("is byte-exact", () => {
    const expected = Uint8Array.from([
      0x0a,
      0x00,
      0x00,
      0x00,
      ...ascii("p4cast_tna"),
      0x05,
      0x00,
      0x00,
      0x00,
      0xde,
      0xad,
      0xbe,
      0xef,
      0x00,
      0x07,
      0x00,
      0x00,
      0x00,
      ...ascii('{"a":1}'),
    ]);
    expect(hex(packTofinoDeviceConfig(blobs))).toBe(hex(expected));
  });

  it("writes lengths little-endian, all four bytes", () => {
    const bin = new Uint8Array(0x010203).fill(7);
    const packed = packTofinoDeviceConfig({ programName: "x", tofinoBin: bin, contextJson: new Uint8Array() });
    expect([...packed.subarray(0, 5)]).toEqual([1, 0, 0, 0, 0x78]);
    expect([...packed.subarray(5, 9)]).toEqual([0x03, 0x02, 0x01, 0x00]);
    expect(packed.length).toBe(4 + 1 + 4 + 0x010203 + 4);
    expect([...packed.subarray(packed.length - 4)]).toEqual([0, 0, 0, 0]);
  });

  it("round-trips", () => {
    const back = unpackTofinoDeviceConfig(packTofinoDeviceConfig(blobs));
    expect(back.programName).toBe(blobs.programName);
    expect(hex(back.tofinoBin)).toBe(hex(blobs.tofinoBin));
    expect(hex(back.contextJson)).toBe(hex(blobs.contextJson));
  });

  it("rejects truncated input, trailing bytes and an empty name", () => {
    const packed = packTofinoDeviceConfig(blobs);
    expect(() => unpackTofinoDeviceConfig(packed.subarray(0, packed.length - 1))).toThrow(/context\.json claims 7 bytes/);
    expect(() => unpackTofinoDeviceConfig(packed.subarray(0, 20))).toThrow(/tofino\.bin claims 5 bytes, 2 left/);
    expect(() => unpackTofinoDeviceConfig(packed.subarray(0, 3))).toThrow(/truncated before the length of the program name/);
    expect(() => unpackTofinoDeviceConfig(Uint8Array.from([...packed, 0]))).toThrow(/1 trailing bytes/);
    expect(() => packTofinoDeviceConfig({ ...blobs, programName: "" })).toThrow(/empty/);
  });
});

describe("BfPipelineConfig protobuf (stratum bf.proto)", () => {
  const config = {
    p4Name: "p",
    bfruntimeInfo: new TextEncoder().encode("{}"),
    profiles: [{ profileName: "pipe", context: new TextEncoder().encode("c"), binary: Uint8Array.from([1]), pipeScope: [0, 1] }],
  };

  it("is byte-exact (fields in number order, packed pipe_scope)", () => {
    const expected = Uint8Array.from([
      0x0a,
      0x01,
      ...ascii("p"), // 1: p4_name
      0x12,
      0x02,
      ...ascii("{}"), // 2: bfruntime_info
      0x1a,
      0x10, // 3: profiles, 16 bytes
      0x0a,
      0x04,
      ...ascii("pipe"), //   1: profile_name
      0x12,
      0x01,
      ...ascii("c"), //   2: context
      0x1a,
      0x01,
      0x01, //   3: binary
      0x22,
      0x02,
      0x00,
      0x01, //   4: pipe_scope, packed
    ]);
    expect(hex(encodeBfPipelineConfig(config))).toBe(hex(expected));
  });

  it("round-trips, multi-byte lengths included", () => {
    const big = { ...config, profiles: [{ ...config.profiles[0]!, binary: new Uint8Array(300).fill(9), pipeScope: [0, 1, 2, 3, 200] }] };
    const back = decodeBfPipelineConfig(encodeBfPipelineConfig(big));
    expect(back.p4Name).toBe("p");
    expect(new TextDecoder().decode(back.bfruntimeInfo)).toBe("{}");
    expect(back.profiles).toHaveLength(1);
    expect(back.profiles[0]!.profileName).toBe("pipe");
    expect(hex(back.profiles[0]!.binary)).toBe(hex(big.profiles[0]!.binary));
    expect(back.profiles[0]!.pipeScope).toEqual([0, 1, 2, 3, 200]);
  });
});

describe("TofinoTarget, with the committed bf-p4c outputs (p4/build/tofino)", () => {
  const dir = mkdtempSync(join(tmpdir(), "p4cast-tofino-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // tofino.bin and context.json are not committed (the manifest records their
  // hashes): small blobs stand in for those two here; the last suite of this
  // file packs the real ones when a compile left them in p4/.tofino-stage.
  writeFileSync(join(dir, "tofino.bin"), Uint8Array.from([1, 2, 3]));
  writeFileSync(join(dir, "context.json"), '{"program_name":"p4cast_tna"}');
  const tofinoBuild = join(defaultBuildDir, "tofino");
  const p4info = join(tofinoBuild, "p4cast_tna.p4info.txtpb");
  const bfrtJson = join(tofinoBuild, "bfrt.json");

  it("pipeline(): bf-p4c's P4Info + the PI-packed blobs + a cookie over both", async () => {
    const t = new TofinoTarget({ p4info, tofinoBin: join(dir, "tofino.bin"), contextJson: join(dir, "context.json") });
    const p = await t.pipeline();
    // The real TNA P4Info: the pktgen table is there, the v1model history register is not.
    expect(p.p4info.tables.map((x) => x.preamble?.name)).toContain("pktgen.hb_pktgen_peer_exact");
    expect(p.p4info.registers.map((x) => x.preamble?.name)).toContain("ingress.dedup.dedup_slots");
    expect(p.p4info.registers.map((x) => x.preamble?.name)).not.toContain("ingress.dedup.dedup_history");
    const blobs = unpackTofinoDeviceConfig(p.deviceConfig);
    expect(blobs.programName).toBe("p4cast_tna");
    expect([...blobs.tofinoBin]).toEqual([1, 2, 3]);
    expect(new TextDecoder().decode(blobs.contextJson)).toBe('{"program_name":"p4cast_tna"}');
    expect(p.cookie).toBe((await t.pipeline()).cookie);
    expect(t.heartbeatRequests).toBe("pktgen");
    expect(t.cpuPort).toBe(192);
  });

  it("pipeline() in Stratum-bfrt's BfPipelineConfig format carries bf-p4c's bfrt.json byte for byte", async () => {
    const t = new TofinoTarget({
      p4info,
      tofinoBin: join(dir, "tofino.bin"),
      contextJson: join(dir, "context.json"),
      format: "bf-pipeline-config",
      bfrtJson,
      pipeScope: [0, 1, 2, 3],
    });
    const c = decodeBfPipelineConfig((await t.pipeline()).deviceConfig);
    expect(c.p4Name).toBe("p4cast_tna");
    expect(hex(c.bfruntimeInfo)).toBe(hex(new Uint8Array(readFileSync(bfrtJson))));
    const bfrt = JSON.parse(new TextDecoder().decode(c.bfruntimeInfo)) as { tables: { name: string }[] };
    expect(bfrt.tables.map((x) => x.name)).toContain("pipe.ingress.dedup.lasthop_session_exact");
    expect(c.profiles[0]).toMatchObject({ profileName: "pipe", pipeScope: [0, 1, 2, 3] });
    expect([...c.profiles[0]!.binary]).toEqual([1, 2, 3]);
  });

  it("resets a session's TNA dedup window: valid, highest, gap, the resync run and 64 slots", () => {
    const w = tnaDedupResetWrites(3);
    expect(w).toHaveLength(69);
    expect(w.filter((x) => x.register.includes("dedup_resync")).map((x) => [x.register, x.index])).toEqual([
      ["ingress.dedup.dedup_resync_seq", 3],
      ["ingress.dedup.dedup_resync_count", 3],
    ]);
    expect(w.filter((x) => x.register.endsWith("dedup_slots")).map((x) => x.index)).toEqual(Array.from({ length: 64 }, (_, i) => 192 + i));
    expect(w.every((x) => x.value === 0n)).toBe(true);
  });
});

describe("heartbeats from the packet generator", () => {
  it("the template is a 66-octet IPv4/UDP heartbeat request with a valid IPv4 checksum and UDP checksum 0", () => {
    const t = heartbeatTemplate();
    expect(t.length).toBe(66);
    expect(hex(t.subarray(12, 14))).toBe("0800");
    expect(t[14]).toBe(0x45);
    expect(t[22]).toBe(64); // TTL
    expect(t[23]).toBe(17); // UDP
    expect(checksumVerifies(t.subarray(14, 34))).toBe(true); // IPv4 header checksum
    expect(hex(t.subarray(34, 42))).toBe("c0dec0de00200000"); // ports, length 32, checksum 0
    expect(t[42]).toBe(0x11); // version 1, type request
  });

  it("one timer application: one batch per peer, one packet per batch", () => {
    expect(pktgenTimerApp({ peers: 5, periodMs: 10 })).toMatchObject({
      batch_count_cfg: 4,
      packets_per_batch_cfg: 0,
      timer_nanosec: 10_000_000,
      pkt_len: 66,
      pipe_local_source_port: 68,
    });
    expect(() => pktgenTimerApp({ peers: 0, periodMs: 1 })).toThrow(/1\.\.256/);
  });

  it("hb_pktgen_peer_exact: batch b -> peer b's request", () => {
    const e = pktgenPeerEntries(
      [{ peerIndex: 7, srcAddr: "10.0.0.1", dstAddr: "10.0.0.2", port: 3, srcMac: "00:00:00:00:00:01", dstMac: "00:00:00:00:00:02" }],
      2,
    );
    expect(e[0]).toMatchObject({
      table: "pktgen.hb_pktgen_peer_exact",
      match: { app_id: 2n, batch_id: 0n },
      action: { name: "pktgen.hb_request_to_peer" },
    });
    // LINK | STAMP: the responses' round trips, timed from the generator's timestamp, land in hb_rtt.
    expect(e[0]!.action).toMatchObject({ params: { peer_index: 7n, flags: 3n } });
  });
});

/** The compile's pipeline binary and context, as `make -C p4 tofino` leaves them (not committed: by hash). */
const tofinoManifest = JSON.parse(readFileSync(join(defaultBuildDir, "tofino", "manifest.json"), "utf8")) as {
  notCommitted: Record<string, { sha256: string; bytes: number }>;
};
const stagedPipe = join(defaultBuildDir, "..", ".tofino-stage", "out", "pipe");
const staged = (name: string) => join(stagedPipe, name);
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const stagedMissing = (name: string): string | undefined => {
  const recorded = tofinoManifest.notCommitted[`pipe/${name}`];
  if (!recorded) return "p4/build/tofino/manifest.json records no such output (no binary)";
  if (!existsSync(staged(name))) return "not in p4/.tofino-stage (run `make -C p4 tofino` with bf-p4c: docs/tofino.md)";
  if (sha256(staged(name)) !== recorded.sha256) return "p4/.tofino-stage holds another compile's (its sha256 differs from the manifest's)";
  return undefined;
};

describeWith(
  "TofinoTarget with the compile's own tofino.bin and context.json",
  [
    { tool: "tofino.bin", missing: stagedMissing("tofino.bin") },
    { tool: "context.json", missing: stagedMissing("context.json") },
  ],
  () => {
    const p4info = join(defaultBuildDir, "tofino", "p4cast_tna.p4info.txtpb");
    const bin = new Uint8Array(readFileSync(staged("tofino.bin")));
    const context = new Uint8Array(readFileSync(staged("context.json")));

    it("PI packing carries both files byte for byte, and context.json names the program", async () => {
      const t = new TofinoTarget({ p4info, tofinoBin: staged("tofino.bin"), contextJson: staged("context.json") });
      const blobs = unpackTofinoDeviceConfig((await t.pipeline()).deviceConfig);
      expect(blobs.programName).toBe("p4cast_tna");
      expect(blobs.tofinoBin.length).toBe(tofinoManifest.notCommitted["pipe/tofino.bin"]!.bytes);
      expect(Buffer.from(blobs.tofinoBin).equals(Buffer.from(bin))).toBe(true);
      expect(Buffer.from(blobs.contextJson).equals(Buffer.from(context))).toBe(true);
      const ctx = JSON.parse(new TextDecoder().decode(blobs.contextJson)) as { program_name: string };
      expect(ctx.program_name).toBe("p4cast_tna");
    });

    it("BfPipelineConfig carries them as the profile's context and binary", async () => {
      const t = new TofinoTarget({
        p4info,
        tofinoBin: staged("tofino.bin"),
        contextJson: staged("context.json"),
        format: "bf-pipeline-config",
        bfrtJson: join(defaultBuildDir, "tofino", "bfrt.json"),
        pipeScope: [0, 1, 2, 3],
      });
      const c = decodeBfPipelineConfig((await t.pipeline()).deviceConfig);
      expect(Buffer.from(c.profiles[0]!.binary).equals(Buffer.from(bin))).toBe(true);
      expect(Buffer.from(c.profiles[0]!.context).equals(Buffer.from(context))).toBe(true);
    });
  },
);
