/**
 * Connection options shared by the commands that work on one switch
 * (table, mcast, clone, counter, meter, register, packet, runtime): where the
 * P4Runtime server is, which device, election id and role, where the P4Info
 * comes from, and BMv2's Thrift address for registers. Also the small
 * parsers those commands share (integers, key=value lists, --output).
 */
import { existsSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Option, type Command } from "commander";
import { P4RuntimeClient } from "../client/client.js";
import {
  Code,
  P4InfoLookupError,
  isP4ConnectionError,
  isP4InfoLookupError,
  isP4RuntimeError,
  isP4ValueError,
} from "../p4runtime/errors.js";
import type { NameIndex, Named } from "../p4runtime/p4info/names.js";
import { loadP4Info } from "../p4runtime/p4info/load.js";
import { P4InfoSchema } from "../proto/gen/p4/config/v1/p4info_pb.js";
import { CliError, EXIT, type OutputFormat } from "./output.js";

export interface ConnectOptions {
  grpc: string;
  deviceId: string;
  electionId: string;
  role?: string;
  p4info?: string;
  thrift: string;
  connectTimeout: string;
  output: string;
}

export interface ConnectNeeds {
  /** Writes and packet I/O: the client must be primary for its role. */
  readonly primary?: boolean;
  /** Names are resolved: the device's pipeline (or --p4info) must be known. Default true. */
  readonly p4info?: boolean;
}

/** Adds the common connection options (and --output) to a command. */
export function connectOptions(cmd: Command, opts: { thrift?: boolean; p4infoHelp?: string } = {}): Command {
  cmd
    .option("--grpc <host:port>", "P4Runtime server of the switch", "127.0.0.1:9559")
    .option("--device-id <n>", "P4Runtime device id", "1")
    .option("--election-id <n>", "election id (the highest connected id is primary; reads also work as backup)", "1")
    .option("--role <name>", "P4Runtime role (default role when omitted)")
    .option("--p4info <file>", opts.p4infoHelp ?? "P4Info for names (text, JSON or binary); default: fetched from the device")
    .option("--connect-timeout <ms>", "how long to wait for the switch to answer", "5000")
    .addOption(new Option("--output <format>", "table | json").default("table"));
  if (opts.thrift)
    cmd.option(
      "--thrift <host:port>",
      "BMv2 Thrift runtime, used for registers when P4Runtime lacks RegisterEntry (simple_switch_grpc)",
      "127.0.0.1:9090",
    );
  else cmd.addOption(new Option("--thrift <host:port>").default("127.0.0.1:9090").hideHelp());
  return cmd;
}

export function outputFormat(o: { output: string }): OutputFormat {
  if (o.output !== "table" && o.output !== "json") throw new CliError(`--output must be "table" or "json" (got "${o.output}")`, EXIT.usage);
  return o.output;
}

/** host:port, with IPv6 hosts in brackets; `listen` also takes port 0 (the system picks one). */
export function parseAddress(v: string, what: string, opts: { listen?: boolean } = {}): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < (opts.listen ? 0 : 1) || port > 65535)
    throw new CliError(`${what} must be <host>:<port>, e.g. 127.0.0.1:9559 (got "${v}")`, EXIT.usage);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** A non-negative integer (decimal or 0x-hex). */
export function parseUint(v: string, what: string, max?: bigint): bigint {
  const s = String(v).trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new CliError(`${what} must be a non-negative integer (got "${v}")`, EXIT.usage);
  const n = BigInt(s);
  if (max !== undefined && n > max) throw new CliError(`${what} must be at most ${max} (got ${n})`, EXIT.usage);
  return n;
}

export function parseSmallUint(v: string, what: string, max = 0xffffffffn): number {
  return Number(parseUint(v, what, max));
}

/** `k=v` → [k, v]; the value may itself contain "=". */
export function splitKeyValue(arg: string, what: string, example: string): [string, string] {
  const eq = arg.indexOf("=");
  if (eq <= 0) throw new CliError(`${what}: expected name=value, got "${arg}"`, EXIT.usage, `for example ${example}`);
  return [arg.slice(0, eq).trim(), arg.slice(eq + 1).trim()];
}

export function keyValues(args: readonly string[], what: string, example: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const [k, v] = splitKeyValue(a, what, example);
    if (k in out) throw new CliError(`${what}: "${k}" is given twice`, EXIT.usage);
    out[k] = v;
  }
  return out;
}

/** Commander collector for repeatable options. */
export function collect(v: string, acc: string[]): string[] {
  return [...acc, v];
}

/**
 * Connects to the switch, arbitrates and makes names available: --p4info
 * when given, else the device's pipeline. Errors say what to fix.
 */
export async function connect(o: ConnectOptions, needs: ConnectNeeds = {}): Promise<P4RuntimeClient> {
  parseAddress(o.grpc, "--grpc");
  const deviceId = parseUint(o.deviceId, "--device-id", 0xffffffffffffffffn);
  const electionId = parseUint(o.electionId, "--election-id", (1n << 128n) - 1n);
  if (electionId === 0n) throw new CliError("--election-id must be at least 1", EXIT.usage);
  const timeout = parseSmallUint(o.connectTimeout, "--connect-timeout", 3_600_000n);
  if (o.p4info && !existsSync(o.p4info)) throw new CliError(`--p4info: no such file "${o.p4info}"`, EXIT.usage);
  let client: P4RuntimeClient;
  try {
    client = await P4RuntimeClient.connect({
      address: o.grpc,
      deviceId,
      electionId,
      ...(o.role ? { role: o.role } : {}),
      reconnect: false,
      connectTimeoutMs: Math.max(timeout, 1),
      rpcTimeoutMs: Math.max(timeout * 6, 30_000),
    });
  } catch (e) {
    throw connectError(e, o);
  }
  try {
    if (o.p4info) {
      client.useP4Info(await loadP4Info(o.p4info));
    } else if (!client.hasP4Info) {
      if (needs.p4info === false) client.useP4Info(create(P4InfoSchema));
      else {
        throw new CliError(
          `the device at ${o.grpc} (device ${deviceId}) has no pipeline, so names cannot be resolved`,
          EXIT.failed,
          "push one first (p4cast runtime <sN-runtime.json>), or pass --p4info <file> if the device runs a pipeline it cannot report",
        );
      }
    }
    if (needs.primary && !client.isPrimary) {
      const primaryId = client.arbitration?.primaryElectionId;
      throw new CliError(
        `this client (election id ${electionId}${o.role ? `, role "${o.role}"` : ""}) is a backup: ` +
          `another controller is primary${primaryId !== undefined ? ` with election id ${primaryId}` : ""}`,
        EXIT.failed,
        `pass --election-id ${primaryId !== undefined ? primaryId + 1n : "<higher>"} to become primary ` +
          "(writes and packet I/O need the primary)",
      );
    }
  } catch (e) {
    client.close();
    throw e;
  }
  return client;
}

function connectError(e: unknown, o: ConnectOptions): unknown {
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*Resolution note:.*$/s, "").replace(/\.?\s*$/, "");
  if (isP4ConnectionError(e) || (isP4RuntimeError(e) && (e.code === Code.UNAVAILABLE || e.code === Code.DEADLINE_EXCEEDED))) {
    return new CliError(
      `cannot reach a P4Runtime server at ${o.grpc}: ${msg}`,
      EXIT.unreachable,
      "is the switch running, and is --grpc its P4Runtime address?",
    );
  }
  if (isP4RuntimeError(e) && e.code === Code.NOT_FOUND) {
    return new CliError(
      `${o.grpc} has no device ${o.deviceId}: ${msg}`,
      EXIT.failed,
      "check --device-id (simple_switch_grpc: its --device-id; p4cast switch: --device-id)",
    );
  }
  if (isP4RuntimeError(e) && e.code === Code.INVALID_ARGUMENT) {
    return new CliError(
      `the switch at ${o.grpc} refused the arbitration: ${msg}`,
      EXIT.failed,
      /already used/.test(msg)
        ? "another client (a controller, or another p4cast running now) holds this election id: pass a different --election-id"
        : "check --election-id and --role",
    );
  }
  return e;
}

/** Runs `fn` with a connected client and closes it afterwards. */
export async function withClient<T>(o: ConnectOptions, needs: ConnectNeeds, fn: (client: P4RuntimeClient) => Promise<T>): Promise<T> {
  const client = await connect(o, needs);
  try {
    return await fn(client);
  } catch (e) {
    if (isP4RuntimeError(e) && e.code === Code.FAILED_PRECONDITION && e.failures.length === 0) {
      throw new CliError(e.message, EXIT.failed, "the device has no pipeline: push one first (p4cast runtime <sN-runtime.json>)");
    }
    throw e;
  } finally {
    client.close();
  }
}

/**
 * Bad input found by the codec (P4ValueError, P4InfoLookupError) as a usage
 * error with a hint, e.g. the signature of the table the user addressed.
 */
export function explainInputError(e: unknown, hint: string | undefined): unknown {
  if (isP4ValueError(e) || isP4InfoLookupError(e)) return new CliError(e.message, EXIT.usage, hint);
  return e;
}

/** A write error with a hint where one helps. */
export function explainWriteError(e: unknown, what: string): unknown {
  if (!isP4RuntimeError(e)) return e;
  const code = e.failures[0]?.code ?? e.code;
  const hints: Partial<Record<Code, string>> = {
    [Code.ALREADY_EXISTS]: "it exists already: use modify to change it",
    [Code.NOT_FOUND]: "there is no such entry: check the key with dump (add or set creates one)",
    [Code.PERMISSION_DENIED]: "this client is not primary: pass a higher --election-id",
    [Code.RESOURCE_EXHAUSTED]: "the table or resource is full",
    [Code.FAILED_PRECONDITION]: "does the device have a pipeline? push one with p4cast runtime",
  };
  return new CliError(`${what}: ${e.message}`, EXIT.failed, hints[code]);
}

/**
 * NameIndex lookup that also suggests names for a misspelt full name
 * ("MyIngress.ipv4_lpn" → "MyIngress.ipv4_lpm"), by retrying the last part.
 */
export function lookup<T extends { name: string }>(names: NameIndex<T & Named>, key: string): T {
  try {
    return names.get(key);
  } catch (e) {
    const dot = key.lastIndexOf(".");
    if (!isP4InfoLookupError(e) || e.candidates.length > 0 || dot < 0) throw e;
    let near: string[] = [];
    try {
      near = [names.get(key.slice(dot + 1)).name];
    } catch (e2) {
      near = isP4InfoLookupError(e2) ? [...e2.candidates] : [];
    }
    if (near.length === 0) throw e;
    throw new P4InfoLookupError(`unknown ${e.kind} "${key}"; did you mean ${near.map((n) => `"${n}"`).join(", ")}?`, e.kind, key, near);
  }
}
