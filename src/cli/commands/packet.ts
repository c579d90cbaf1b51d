/**
 * `p4cast packet send|capture`: packet-out with controller metadata by name,
 * and packet-ins printed with their metadata (optionally saved as pcap).
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { P4RuntimeClient } from "../../client/client.js";
import { type DecodedPacketIn, encodePacketOut } from "../../client/entities/packet-io.js";
import type { ControllerPacketMetadataInfo } from "../../p4runtime/p4info/index.js";
import { PcapWriter, readPcap } from "../../switch/ports/pcap.js";
import { CliError, EXIT, toJson } from "../output.js";
import {
  type ConnectOptions,
  collect,
  connectOptions,
  explainInputError,
  keyValues,
  outputFormat,
  parseSmallUint,
  withClient,
} from "../connect.js";

interface SendOptions extends ConnectOptions {
  port?: string;
  hex?: string;
  pcap?: string;
  meta: string[];
  count: string;
  linger?: string;
}

interface CaptureOptions extends ConnectOptions {
  count?: string;
  timeout?: string;
  pcap?: string;
  hex?: boolean;
}

/** "00 11:22-33 0x44" → bytes; whitespace, colons and dashes are ignored. */
export function parseHex(text: string): Uint8Array {
  const s = text.replace(/0x/gi, "").replace(/[\s:.-]/g, "");
  if (!/^[0-9a-f]*$/i.test(s) || s.length === 0)
    throw new CliError(`--hex: "${text}" is not a hex byte string`, EXIT.usage, "for example --hex 'ffffffffffff 000000000001 0800 ...'");
  if (s.length % 2) throw new CliError(`--hex: odd number of hex digits (${s.length})`, EXIT.usage);
  return new Uint8Array(Buffer.from(s, "hex"));
}

/**
 * packet_out metadata: --meta values, then defaults — egress_port from
 * --port, padding 0, and flags 1 (DIRECT) on p4cast's header (egress_port
 * bit<9>, flags bit<7>), 0 elsewhere. Other fields must be given.
 */
export function packetOutMetadata(
  header: ControllerPacketMetadataInfo | undefined,
  given: Record<string, string>,
  port: number | undefined,
): Record<string, string | number> {
  if (!header) {
    if (Object.keys(given).length)
      throw new CliError("the P4 program has no packet_out controller header: --meta cannot be used", EXIT.usage);
    return {};
  }
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(given)) out[header.fields.get(k).name] = v;
  const p4cast =
    header.fieldList.length === 2 && header.fields.find("egress_port")?.bitwidth === 9 && header.fields.find("flags")?.bitwidth === 7;
  const missing: string[] = [];
  for (const f of header.fieldList) {
    if (f.name in out) continue;
    if (f.name === "egress_port" && port !== undefined) out[f.name] = port;
    else if (/^_?pad/.test(f.name)) out[f.name] = 0;
    else if (f.name === "flags") out[f.name] = p4cast ? 1 : 0;
    else missing.push(f.name);
  }
  if (missing.length) {
    const fields = header.fieldList.map((f) => `${f.name} (${f.bitwidth} bits)`).join(", ");
    throw new CliError(
      `packet_out metadata ${missing.map((m) => `"${m}"`).join(", ")} not given`,
      EXIT.usage,
      `${missing.includes("egress_port") ? "pass --port, or " : "pass "}--meta <name>=<value>; the packet_out fields are ${fields}`,
    );
  }
  return out;
}

/** One line about a frame: Ethernet, and IPv4/IPv6 addresses when present. */
export function summarizeFrame(f: Uint8Array): string {
  if (f.length < 14) return `${f.length} bytes (runt)`;
  const b = Buffer.from(f);
  const mac = (o: number) => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, "0")).join(":");
  let type = b.readUInt16BE(12);
  let off = 14;
  let vlan = "";
  if (type === 0x8100 && f.length >= 18) {
    vlan = ` vlan ${b.readUInt16BE(14) & 0xfff}`;
    type = b.readUInt16BE(16);
    off = 18;
  }
  let text = `${mac(6)} > ${mac(0)}${vlan}`;
  if (type === 0x0800 && f.length >= off + 20) {
    const ip = (o: number) => [...b.subarray(o, o + 4)].join(".");
    text += ` IPv4 ${ip(off + 12)} > ${ip(off + 16)} proto ${b[off + 9]} ttl ${b[off + 8]}`;
  } else if (type === 0x86dd && f.length >= off + 40) {
    const ip6 = (o: number) => {
      const g: string[] = [];
      for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(o + i).toString(16));
      return g.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
    };
    text += ` IPv6 ${ip6(off + 8)} > ${ip6(off + 24)} next ${b[off + 6]} hlim ${b[off + 7]}`;
  } else {
    text += ` type 0x${type.toString(16).padStart(4, "0")}`;
  }
  return `${text}, ${f.length} bytes`;
}

export function registerPacket(program: Command): void {
  const cmd = program
    .command("packet")
    .description("packet-out through the CPU port, and capture of packet-ins")
    .addHelpText(
      "after",
      `
Examples:
  p4cast packet send --port 2 --hex 'ffffffffffff 000000000001 0800 4500...'
  p4cast packet send --port 2 --pcap frames.pcap --meta flags=0
  p4cast packet capture --count 5 --timeout 10 --pcap punted.pcap
  p4cast packet capture --output json          # one JSON object per line`,
    );

  const send = cmd
    .command("send")
    .description("send frames as packet-outs (needs the primary: see --election-id)")
    .option("--port <p>", "egress port (fills packet_out.egress_port)")
    .option("--hex <bytes>", "the frame in hex (spaces and colons allowed)")
    .option("--pcap <file>", "send every frame of a pcap file")
    .option(
      "--meta <name=value...>",
      "packet_out metadata field, repeatable (defaults: egress_port from --port, flags 1 = DIRECT on p4cast, padding 0)",
      collect,
      [] as string[],
    )
    .option("--count <n>", "send each frame n times", "1")
    .option("--linger <ms>", "wait before disconnecting so the stream delivers everything (default: 200 ms + 1 ms per 20 packets)");
  connectOptions(send).action(async (o: SendOptions) => {
    const format = outputFormat(o);
    if (!!o.hex === !!o.pcap) throw new CliError("give the frame with exactly one of --hex <bytes> or --pcap <file>", EXIT.usage);
    if (o.pcap && !existsSync(o.pcap)) throw new CliError(`--pcap: no such file "${o.pcap}"`, EXIT.usage);
    let frames: Uint8Array[];
    try {
      frames = o.hex ? [parseHex(o.hex)] : readPcap(o.pcap!).map((r) => r.data);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
    }
    if (frames.length === 0) throw new CliError(`${o.pcap}: the pcap file has no frames`, EXIT.usage);
    const port = o.port !== undefined ? parseSmallUint(o.port, "--port") : undefined;
    const count = parseSmallUint(o.count, "--count", 1_000_000n);
    const lingerOpt = o.linger !== undefined ? parseSmallUint(o.linger, "--linger", 600_000n) : undefined;
    const given = keyValues(o.meta, "--meta", "--meta flags=0");
    await withClient(o, { primary: true }, async (client) => {
      let metadata: Record<string, string | number>;
      try {
        metadata = packetOutMetadata(client.index.controllerPacketMetadata.find("packet_out"), given, port);
        // Encode once to report bad values before anything is sent.
        encodePacketOut(client.index, { payload: frames[0]!, metadata });
      } catch (e) {
        throw explainInputError(e, undefined);
      }
      let sent = 0;
      try {
        for (let i = 0; i < count; i++) {
          for (const payload of frames) {
            client.sendPacket({ payload, metadata });
            sent++;
          }
        }
      } catch (e) {
        throw explainInputError(
          e,
          `packet_out fields: ${client.index.controllerPacketMetadata
            .find("packet_out")
            ?.fieldList.map((f) => `${f.name} (${f.bitwidth} bits)`)
            .join(", ")}`,
        );
      }
      await new Promise((r) => setTimeout(r, lingerOpt ?? 200 + Math.ceil(sent / 20)));
      if (format === "json") process.stdout.write(`${toJson({ result: "sent", packets: sent, metadata })}\n`);
      else
        process.stdout.write(
          `sent ${sent} packet-out(s) with ${
            Object.entries(metadata)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ") || "no metadata"
          }\n`,
        );
    });
  });

  const capture = cmd
    .command("capture")
    .description("print packet-ins with their metadata until --count or --timeout (needs the primary)")
    .option("--count <n>", "stop after n packets")
    .option("--timeout <s>", "stop after s seconds (with --count: fail if fewer arrived)")
    .option("--pcap <file>", "also write the frames to a pcap file")
    .option("--hex", "print each frame in hex too");
  connectOptions(capture).action(async (o: CaptureOptions) => {
    const format = outputFormat(o);
    const count = o.count !== undefined ? parseSmallUint(o.count, "--count") : undefined;
    if (count === 0) throw new CliError("--count must be at least 1", EXIT.usage);
    const timeout = o.timeout !== undefined ? Number(o.timeout) : undefined;
    if (timeout !== undefined && !(timeout > 0))
      throw new CliError(`--timeout must be a positive number of seconds (got "${o.timeout}")`, EXIT.usage);
    await withClient(o, { primary: true }, async (client) => {
      const pcap = o.pcap ? new PcapWriter(o.pcap) : undefined;
      try {
        const { n, why } = await captureLoop(client, format, count, timeout, pcap, !!o.hex, o.grpc);
        if (count !== undefined && n < count) {
          throw new CliError(
            `captured ${n} of ${count} packet-in(s) before ${why === "timeout" ? `the ${timeout} s timeout` : "being interrupted"}`,
            EXIT.failed,
            why === "timeout" ? "is traffic being punted to the CPU port (a table entry with a punt/CPU action)?" : undefined,
          );
        }
      } finally {
        pcap?.close();
      }
    });
  });
}

function captureLoop(
  client: P4RuntimeClient,
  format: "table" | "json",
  count: number | undefined,
  timeout: number | undefined,
  pcap: PcapWriter | undefined,
  hex: boolean,
  address: string,
): Promise<{ n: number; why: "count" | "timeout" | "signal" }> {
  const header = client.index.controllerPacketMetadata.find("packet_in");
  return new Promise((resolve, reject) => {
    let n = 0;
    const started = Date.now();
    const finish = (why: "count" | "timeout" | "signal") => {
      clearTimeout(timer);
      client.off("packetIn", onPacket);
      client.off("disconnect", onDisconnect);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve({ n, why });
    };
    const onSignal = () => finish("signal");
    const onPacket = (p: DecodedPacketIn) => {
      n++;
      pcap?.write(p.payload);
      const meta = header
        ? Object.fromEntries(header.fieldList.filter((f) => f.name in p.metadata).map((f) => [f.name, p.metadata[f.name]!]))
        : p.metadata;
      const t = ((Date.now() - started) / 1000).toFixed(3);
      if (format === "json") {
        const line = {
          n,
          time: Number(t),
          metadata: meta,
          length: p.payload.length,
          summary: summarizeFrame(p.payload),
          payload: Buffer.from(p.payload).toString("hex"),
        };
        process.stdout.write(`${JSON.stringify(JSON.parse(toJson(line)))}\n`);
      } else {
        const m = Object.entries(meta)
          .filter(([k]) => !/^_?pad/.test(k))
          .map(([k, v]) => `${k}=${v}`)
          .join(" ");
        process.stdout.write(
          `#${n} +${t}s ${m} | ${summarizeFrame(p.payload)}\n${hex ? `${Buffer.from(p.payload).toString("hex")}\n` : ""}`,
        );
      }
      if (count !== undefined && n >= count) finish("count");
    };
    const onDisconnect = (e: Error) => {
      clearTimeout(timer);
      client.off("packetIn", onPacket);
      reject(new CliError(`lost the stream to ${address} after ${n} packet(s): ${e.message}`, EXIT.unreachable));
    };
    const timer = timeout !== undefined ? setTimeout(() => finish("timeout"), timeout * 1000) : undefined;
    client.on("packetIn", onPacket);
    client.on("disconnect", onDisconnect);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const limits = `${count ? `, ${count} packet(s)` : ""}${timeout ? `, ${timeout} s` : ""}`;
    process.stderr.write(`capturing packet-ins from ${address} (device ${client.deviceId})${limits}\n`);
  });
}
