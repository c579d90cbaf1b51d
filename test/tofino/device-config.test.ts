/**
 * Tofino device-config packing (src/controller/targets/tofino-device-config.ts):
 * byte-exact layouts of the PI packing (Stratum bf_pipeline_utils.cc,
 * BfPipelineConfigToPiConfig) and of Stratum's BfPipelineConfig protobuf,
 * round trips, and the Tofino target's pipeline / pktgen helpers, with
 * stand-in blobs and with the compile's own tofino.bin and context.json
 * (p4/build/tofino, gzipped).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  TofinoTarget,
  committedTofinoFiles,
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
  // Small blobs stand in for tofino.bin and context.json here; the last suite
  // of this file packs the compile's own.
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

/** The compile's pipeline binary and context, committed gzipped with the sha256 of bf-p4c's own files. */
const tofinoManifest = JSON.parse(readFileSync(join(defaultBuildDir, "tofino", "manifest.json"), "utf8")) as {
  pipelineFiles: Record<string, { sha256: string; bytes: number; committed: string }>;
};
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("TofinoTarget with the committed tofino.bin and context.json of the compile", () => {
  const files = committedTofinoFiles(defaultBuildDir);
  const recorded = tofinoManifest.pipelineFiles;

  it("PI packing carries bf-p4c's two files byte for byte (the manifest's sha256), context.json naming the program", async () => {
    const t = new TofinoTarget(files);
    const blobs = unpackTofinoDeviceConfig((await t.pipeline()).deviceConfig);
    expect(blobs.programName).toBe("p4cast_tna");
    expect(blobs.tofinoBin.length).toBe(recorded["tofino.bin"]!.bytes);
    expect(sha256(blobs.tofinoBin)).toBe(recorded["tofino.bin"]!.sha256);
    expect(blobs.contextJson.length).toBe(recorded["context.json"]!.bytes);
    expect(sha256(blobs.contextJson)).toBe(recorded["context.json"]!.sha256);
    const ctx = JSON.parse(new TextDecoder().decode(blobs.contextJson)) as { program_name: string; target: string };
    expect(ctx).toMatchObject({ program_name: "p4cast_tna", target: "tofino" });
  });

  it("BfPipelineConfig carries them as the profile's binary and context, and bfrt.json", async () => {
    const t = new TofinoTarget({ ...files, format: "bf-pipeline-config", pipeScope: [0, 1, 2, 3] });
    const c = decodeBfPipelineConfig((await t.pipeline()).deviceConfig);
    expect(sha256(c.profiles[0]!.binary)).toBe(recorded["tofino.bin"]!.sha256);
    expect(sha256(c.profiles[0]!.context)).toBe(recorded["context.json"]!.sha256);
    expect(sha256(c.bfruntimeInfo)).toBe(sha256(new Uint8Array(readFileSync(files.bfrtJson!))));
  });
});
