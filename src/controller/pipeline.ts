/** The p4cast pipeline a controller pushes: P4Info, BMv2 JSON and their cookie. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toBinary } from "@bufbuild/protobuf";
import { loadP4Info } from "../p4runtime/p4info/load.js";
import { type P4Info, P4InfoSchema } from "../proto/gen/p4/config/v1/p4info_pb.js";

export interface Pipeline {
  readonly p4info: P4Info;
  readonly deviceConfig: Uint8Array;
  /** A hash of both: equal cookies mean the same pipeline. */
  readonly cookie: bigint;
}

/** The committed p4c outputs of the p4cast program (p4/build). */
export const defaultBuildDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "p4", "build");

export function pipelineCookie(p4info: P4Info, deviceConfig: Uint8Array): bigint {
  const h = createHash("sha256").update(toBinary(P4InfoSchema, p4info)).update(deviceConfig).digest();
  return h.readBigUInt64BE(0) & ((1n << 63n) - 1n);
}

export async function loadPipeline(
  json = join(defaultBuildDir, "p4cast.json"),
  p4infoPath = join(defaultBuildDir, "p4cast.p4info.txtpb"),
): Promise<Pipeline> {
  const p4info = await loadP4Info(p4infoPath);
  const deviceConfig = new Uint8Array(readFileSync(json));
  return { p4info, deviceConfig, cookie: pipelineCookie(p4info, deviceConfig) };
}
