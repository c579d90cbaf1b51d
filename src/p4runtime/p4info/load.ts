/**
 * Loading a P4Info from p4c's outputs: JSON (--p4runtime-files x.json),
 * binary protobuf (x.bin / x.binpb / x.pb) or text format (x.txt / x.pb.txt).
 * The format is chosen by file extension, or sniffed from the content.
 */
import { readFile } from "node:fs/promises";
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { fromText } from "@bufbuild/protobuf/txtpb";
import { type P4Info, P4InfoSchema } from "../../proto/gen/p4/config/v1/p4info_pb.js";

export type P4InfoFormat = "json" | "binary" | "text";

export function p4infoFormatOf(path: string): P4InfoFormat | undefined {
  const p = path.toLowerCase();
  if (p.endsWith(".json")) return "json";
  if (p.endsWith(".txt") || p.endsWith(".txtpb") || p.endsWith(".textproto") || p.endsWith(".pbtxt")) return "text";
  if (p.endsWith(".bin") || p.endsWith(".binpb") || p.endsWith(".pb")) return "binary";
  return undefined;
}

/** Parses P4Info bytes in the given format, or sniffs it when omitted. */
export function parseP4Info(data: Uint8Array | string, format?: P4InfoFormat, source = "P4Info"): P4Info {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const fmt = format ?? sniff(bytes);
  try {
    switch (fmt) {
      case "json":
        return fromJsonString(P4InfoSchema, new TextDecoder().decode(bytes), { ignoreUnknownFields: true });
      case "text":
        return fromText(P4InfoSchema, new TextDecoder().decode(bytes));
      case "binary":
        return fromBinary(P4InfoSchema, bytes);
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot parse ${source} as ${fmt} P4Info: ${msg}`);
  }
}

/** Reads a P4Info file written by p4c. */
export async function loadP4Info(path: string, format?: P4InfoFormat): Promise<P4Info> {
  const data = await readFile(path);
  return parseP4Info(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), format ?? p4infoFormatOf(path), path);
}

function sniff(bytes: Uint8Array): P4InfoFormat {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b /* { */) return "json";
  // Text format starts with a field name or a comment; binary with a tag byte.
  const head = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(i, i + 32));
  if (/^(#|[a-z_]+\s*[:{<])/.test(head)) return "text";
  return "binary";
}
