/**
 * `p4cast runtime <sN-runtime.json>`: applies a p4lang/tutorials-style
 * runtime file — pushes its pipeline (cookie = hash of P4Info and device
 * config; skipped when the switch has it, unless --force), then writes its
 * table entries, multicast groups and clone sessions, one batch per kind.
 * Every bad or failed entry is reported with its position in the file.
 * Inserts that find the entry present become modifies, so applying a file
 * twice is harmless.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { Command } from "commander";
import type { P4RuntimeClient, UpdateInput } from "../../client/client.js";
import type { MatchInput } from "../../p4runtime/codec/match.js";
import type { ValueInput } from "../../p4runtime/codec/values.js";
import { encodeEntity } from "../../client/entities/entity.js";
import { create } from "@bufbuild/protobuf";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import { Code, isP4InfoLookupError, isP4RuntimeError, isP4ValueError } from "../../p4runtime/errors.js";
import { DEFAULT_MAX_BATCH } from "../../client/write/coalescer.js";
import { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { parseP4Info, p4infoFormatOf } from "../../p4runtime/p4info/load.js";
import type { P4Info } from "../../proto/gen/p4/config/v1/p4info_pb.js";
import { type Update, UpdateSchema, Update_Type } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { pipelineCookie } from "../../controller/pipeline.js";
import { CliError, EXIT, printRows, toJson } from "../output.js";
import { type ConnectOptions, connectOptions, lookup, outputFormat, withClient } from "../connect.js";

interface RuntimeOptions extends ConnectOptions {
  json?: string;
  force?: boolean;
  dryRun?: boolean;
  pipeline: boolean;
}

/** The runtime file as p4lang/tutorials writes it (utils/p4runtime_lib/simple_controller.py). */
export interface RuntimeFile {
  target?: string;
  p4info?: string;
  bmv2_json?: string;
  table_entries?: RuntimeTableEntry[];
  multicast_group_entries?: { multicast_group_id: number; replicas: RuntimeReplica[] }[];
  clone_session_entries?: {
    clone_session_id: number;
    replicas: RuntimeReplica[];
    class_of_service?: number;
    packet_length_bytes?: number;
  }[];
}

export interface RuntimeTableEntry {
  table: string;
  match?: Record<string, unknown>;
  action_name?: string;
  action_params?: Record<string, unknown>;
  priority?: number;
  default_action?: boolean;
}

export interface RuntimeReplica {
  egress_port: number;
  instance?: number;
}

type Kind = "table_entries" | "multicast_group_entries" | "clone_session_entries";

/** One entry of the file, encoded, with where it came from. */
interface Prepared {
  readonly kind: Kind;
  /** Position in its list, e.g. table_entries[3]. */
  readonly position: number;
  readonly label: string;
  readonly update: UpdateInput;
  encoded?: Update;
}

export interface EntryProblem {
  readonly where: string;
  readonly entry: string;
  readonly code?: string;
  readonly message: string;
}

const KINDS: Kind[] = ["table_entries", "multicast_group_entries", "clone_session_entries"];

function scalar(v: unknown, what: string): ValueInput {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new CliError(`${what}: ${v} is not an integer`, EXIT.usage);
    return v;
  }
  if (typeof v === "string") return v;
  throw new CliError(`${what}: expected a number or a string, got ${JSON.stringify(v)}`, EXIT.usage);
}

/**
 * Tutorials' match notation → the client's: exact `v` (or `[v]`), lpm `[v, len]`,
 * ternary `[v, mask]`, range `[lo, hi]`, optional `v`. Strings in the
 * codec's own notation (10.0.0.0/8, v&&&m, lo..hi) are accepted too.
 */
export function matchFromRuntime(index: P4InfoIndex, tableName: string, match: Record<string, unknown>): Record<string, MatchInput> {
  const table = lookup(index.tables, tableName);
  const out: Record<string, MatchInput> = {};
  for (const [name, v] of Object.entries(match)) {
    const f = lookup(table.matchFields, name);
    const what = `match field "${f.name}" (${f.kind})`;
    if (Array.isArray(v) && v.length === 1 && (f.kind === "exact" || f.kind === "optional")) {
      // The tutorials also write an exact value as a one-element list ([1]).
      out[f.name] = scalar(v[0], what);
    } else if (Array.isArray(v)) {
      if (v.length !== 2) {
        const second = f.kind === "lpm" ? "prefix length" : f.kind === "range" ? "high" : "mask";
        throw new CliError(`${what}: expected [value, ${second}], got ${JSON.stringify(v)}`, EXIT.usage);
      }
      const a = scalar(v[0], what);
      if (f.kind === "lpm") {
        if (typeof v[1] !== "number")
          throw new CliError(`${what}: the prefix length must be a number, got ${JSON.stringify(v[1])}`, EXIT.usage);
        out[f.name] = { value: a, prefixLen: v[1] };
      } else if (f.kind === "ternary") out[f.name] = { value: a, mask: scalar(v[1], what) };
      else if (f.kind === "range") out[f.name] = { low: a, high: scalar(v[1], what) };
      else throw new CliError(`${what}: an ${f.kind} field takes one value, got ${JSON.stringify(v)}`, EXIT.usage);
    } else {
      out[f.name] = scalar(v, what);
    }
  }
  return out;
}

export function tableEntryFromRuntime(index: P4InfoIndex, e: RuntimeTableEntry): { type: "insert" | "modify"; entry: TableEntryInput } {
  if (!e || typeof e !== "object") throw new CliError(`expected an object, got ${JSON.stringify(e)}`, EXIT.usage);
  if (typeof e.table !== "string") throw new CliError(`"table" is missing`, EXIT.usage);
  const table = lookup(index.tables, e.table);
  const params: Record<string, ValueInput> = {};
  for (const [k, v] of Object.entries(e.action_params ?? {})) params[k] = scalar(v, `action parameter "${k}"`);
  if (e.action_name !== undefined && typeof e.action_name !== "string") throw new CliError(`"action_name" must be a string`, EXIT.usage);
  const action = e.action_name !== undefined ? { name: lookup(table.actions, e.action_name).name, params } : undefined;
  if (e.default_action) {
    if (e.match && Object.keys(e.match).length) throw new CliError(`a default_action entry has no match`, EXIT.usage);
    return { type: "modify", entry: { table: table.name, isDefault: true, ...(action ? { action } : {}) } };
  }
  if (!action) throw new CliError(`"action_name" is missing`, EXIT.usage);
  return {
    type: "insert",
    entry: {
      table: table.name,
      match: matchFromRuntime(index, table.name, e.match ?? {}),
      action,
      ...(e.priority !== undefined ? { priority: e.priority } : {}),
    },
  };
}

function replicas(list: unknown, what: string): { port: number; instance: number }[] {
  if (!Array.isArray(list)) throw new CliError(`${what}: "replicas" must be a list`, EXIT.usage);
  return list.map((r: RuntimeReplica, i) => {
    if (typeof r?.egress_port !== "number") throw new CliError(`${what}: replicas[${i}] needs a numeric "egress_port"`, EXIT.usage);
    return { port: r.egress_port, instance: r.instance ?? 0 };
  });
}

function describe(kind: Kind, raw: unknown): string {
  const r = raw as Record<string, unknown> | undefined;
  if (kind === "table_entries") {
    const m = r?.match
      ? Object.entries(r.match as object)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(" ")
      : "";
    const action = r?.action_name ? ` -> ${String(r.action_name)}` : "";
    return `${String(r?.table)}${r?.default_action ? " (default)" : ""}${m ? ` ${m}` : ""}${action}`;
  }
  if (kind === "multicast_group_entries") return `multicast group ${String(r?.multicast_group_id)}`;
  return `clone session ${String(r?.clone_session_id)}`;
}

function prepare(index: P4InfoIndex, file: RuntimeFile, problems: EntryProblem[]): Prepared[] {
  const out: Prepared[] = [];
  for (const kind of KINDS) {
    const list = file[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      problems.push({ where: kind, entry: "", message: `"${kind}" must be a list` });
      continue;
    }
    list.forEach((raw: unknown, position) => {
      const label = describe(kind, raw);
      try {
        let update: UpdateInput;
        if (kind === "table_entries") {
          const t = tableEntryFromRuntime(index, raw as RuntimeTableEntry);
          update = { type: t.type, entity: { kind: "tableEntry", ...t.entry } };
        } else if (kind === "multicast_group_entries") {
          const g = raw as { multicast_group_id: number; replicas: RuntimeReplica[] };
          update = {
            type: "insert",
            entity: { kind: "multicastGroup", groupId: g.multicast_group_id, replicas: replicas(g.replicas, label) },
          };
        } else {
          const c = raw as {
            clone_session_id: number;
            replicas: RuntimeReplica[];
            class_of_service?: number;
            packet_length_bytes?: number;
          };
          update = {
            type: "insert",
            entity: {
              kind: "cloneSession",
              sessionId: c.clone_session_id,
              replicas: replicas(c.replicas, label),
              ...(c.class_of_service !== undefined ? { classOfService: c.class_of_service } : {}),
              ...(c.packet_length_bytes !== undefined ? { packetLengthBytes: c.packet_length_bytes } : {}),
            },
          };
        }
        out.push({ kind, position, label, update });
      } catch (e) {
        problems.push({ where: `${kind}[${position}]`, entry: label, message: e instanceof Error ? e.message : String(e) });
      }
    });
  }
  return out;
}

/** Resolves a path of the runtime file: relative to the file, else to the working directory. */
function locate(ref: string, runtimePath: string, key: string): string {
  if (isAbsolute(ref)) {
    if (!existsSync(ref)) throw new CliError(`${runtimePath}: "${key}" names ${ref}, which does not exist`, EXIT.usage);
    return ref;
  }
  const candidates = [resolve(dirname(runtimePath), ref), resolve(ref)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new CliError(
      `${runtimePath}: "${key}" names ${ref}, found neither at ${candidates.join(" nor at ")}`,
      EXIT.usage,
      `compile the program first, or pass --${key === "p4info" ? "p4info" : "json"} <file>`,
    );
  }
  return found;
}

export function readRuntimeFile(path: string): RuntimeFile {
  if (!existsSync(path)) throw new CliError(`no such runtime file "${path}"`, EXIT.usage);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, EXIT.usage);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new CliError(`${path}: expected a JSON object with "p4info", "bmv2_json" and "table_entries"`, EXIT.usage);
  return parsed as RuntimeFile;
}

export function registerRuntime(program: Command): void {
  const cmd = program
    .command("runtime <file>")
    .description(
      "apply a p4lang/tutorials-style sN-runtime.json: push its pipeline, " +
        "then write its table entries, multicast groups and clone sessions",
    )
    .option("--json <file>", "BMv2 JSON to push (default: the file's bmv2_json)")
    .option("--force", "push the pipeline even when the switch already runs it (same cookie)")
    .option("--no-pipeline", "do not push a pipeline: write the entries to the one the switch runs")
    .option("--dry-run", "check every entry against the P4Info and print what would be written; touch nothing")
    .addHelpText(
      "after",
      `
The file (p4lang/tutorials format; p4info and bmv2_json relative to the file, else to the working directory):
  { "target": "bmv2", "p4info": "build/basic.p4.p4info.txtpb", "bmv2_json": "build/basic.json",
    "table_entries": [
      { "table": "MyIngress.ipv4_lpm", "default_action": true, "action_name": "MyIngress.drop", "action_params": {} },
      { "table": "MyIngress.ipv4_lpm", "match": { "hdr.ipv4.dstAddr": ["10.0.1.1", 32] },
        "action_name": "MyIngress.ipv4_forward", "action_params": { "dstAddr": "08:00:00:00:01:11", "port": 1 } } ],
    "multicast_group_entries": [ { "multicast_group_id": 1, "replicas": [ { "egress_port": 1, "instance": 1 } ] } ],
    "clone_session_entries": [ { "clone_session_id": 100, "replicas": [ { "egress_port": 255, "instance": 0 } ] } ] }
Match values: exact v | lpm [v, prefix_len] | ternary [v, mask] (with "priority") | range [lo, hi] | optional v.

Examples:
  p4cast runtime pod-topo/s1-runtime.json --grpc 127.0.0.1:50051 --device-id 0
  p4cast runtime s1-runtime.json --dry-run --output json`,
    );
  connectOptions(cmd, { p4infoHelp: "P4Info to push (default: the file's p4info)" }).action(async (path: string, o: RuntimeOptions) => {
    const format = outputFormat(o);
    const file = readRuntimeFile(path);
    if (file.target !== undefined && file.target !== "bmv2")
      process.stderr.write(`p4cast: warning: ${path} is for target "${file.target}"; pushing it as a BMv2 JSON pipeline\n`);
    const p4infoPath = o.p4info ?? (file.p4info !== undefined ? locate(file.p4info, path, "p4info") : undefined);
    if (!p4infoPath) throw new CliError(`${path} has no "p4info" and no --p4info was given`, EXIT.usage);
    const p4infoBytes = new Uint8Array(readFileSync(p4infoPath));
    let p4info: P4Info;
    try {
      p4info = parseP4Info(p4infoBytes, p4infoFormatOf(p4infoPath), p4infoPath);
    } catch (e) {
      throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
    }
    const index = new P4InfoIndex(p4info);
    const problems: EntryProblem[] = [];
    const prepared = prepare(index, file, problems);
    const jsonPath = o.json ?? (file.bmv2_json !== undefined ? locate(file.bmv2_json, path, "bmv2_json") : undefined);
    if (o.pipeline && !jsonPath)
      throw new CliError(
        `${path} has no "bmv2_json" and no --json was given`,
        EXIT.usage,
        "or pass --no-pipeline to write to the pipeline the switch runs",
      );
    const deviceConfig = jsonPath ? new Uint8Array(readFileSync(jsonPath)) : new Uint8Array();
    // The same cookie `deploy` gives the same pipeline: a switch programmed by either is recognised by both.
    const cookie = pipelineCookie(p4info, deviceConfig);

    // Encode everything before touching the switch: bad input is exit 2 and nothing is written.
    for (const p of prepared) {
      try {
        p.encoded = create(UpdateSchema, {
          type: p.update.type === "insert" ? Update_Type.INSERT : Update_Type.MODIFY,
          entity: encodeEntity(index, p.update.entity),
        });
      } catch (e) {
        if (!(isP4ValueError(e) || isP4InfoLookupError(e) || e instanceof CliError)) throw e;
        problems.push({ where: `${p.kind}[${p.position}]`, entry: p.label, message: e.message });
      }
    }
    if (problems.length) {
      const order = (w: string) => {
        const m = /^(\w+)(?:\[(\d+)\])?$/.exec(w);
        return KINDS.indexOf((m?.[1] ?? "") as Kind) * 1e9 + Number(m?.[2] ?? 0);
      };
      problems.sort((a, b) => order(a.where) - order(b.where));
      if (format === "json") process.stdout.write(`${toJson({ result: "invalid", file: path, problems })}\n`);
      throw new CliError(
        `${path}: ${problems.length} bad entr${problems.length === 1 ? "y" : "ies"}, nothing was written:\n` +
          problems.map((p) => `  ${p.where}${p.entry ? ` (${p.entry})` : ""}: ${p.message}`).join("\n"),
        EXIT.usage,
        "fix the entries; names may be full names or unique suffixes, match values as in p4lang/tutorials ([value, prefix_len] for lpm)",
      );
    }
    if (o.dryRun) {
      const counts = KINDS.map((k) => [k, prepared.filter((p) => p.kind === k).length] as const);
      printRows(
        format,
        ["kind", "entries (valid)"],
        counts.map(([k, n]) => [k, n]),
        { result: "valid", file: path, p4info: p4infoPath, bmv2Json: jsonPath ?? null, cookie, entries: Object.fromEntries(counts) },
      );
      return;
    }

    const { p4info: _pushedBelow, ...connect } = o;
    await withClient(connect, { primary: true, p4info: false }, async (client) => {
      let pipeline: "pushed" | "unchanged" | "skipped" = "skipped";
      if (o.pipeline) {
        try {
          pipeline = (await client.setPipeline({ p4info, deviceConfig, cookie, ...(o.force ? { force: true } : {}) }))
            ? "pushed"
            : "unchanged";
        } catch (e) {
          if (isP4RuntimeError(e))
            throw new CliError(
              `the switch refused the pipeline from ${jsonPath}: ${e.message}`,
              EXIT.failed,
              "is bmv2_json the BMv2 JSON compiled together with this P4Info (p4c --target bmv2 --arch v1model)?",
            );
          throw e;
        }
      }
      client.useP4Info(p4info);
      const results: { kind: Kind; inserted: number; modified: number; failed: EntryProblem[] }[] = [];
      for (const kind of KINDS) {
        const batch = prepared.filter((p) => p.kind === kind);
        if (batch.length) results.push({ kind, ...(await writeBatch(client, batch)) });
      }
      const failed = results.flatMap((r) => r.failed);
      const summary = {
        file: path,
        pipeline,
        cookie: `0x${cookie.toString(16)}`,
        results: results.map((r) => ({ kind: r.kind, inserted: r.inserted, modified: r.modified, failed: r.failed.length })),
        failures: failed,
      };
      printRows(
        format,
        ["kind", "inserted", "modified", "failed"],
        results.map((r) => [r.kind, r.inserted, r.modified, r.failed.length]),
        summary,
      );
      if (format === "table")
        process.stdout.write(
          `pipeline ${pipeline === "unchanged" ? "unchanged (the switch already runs it; --force pushes anyway)" : pipeline} ` +
            `(cookie 0x${cookie.toString(16)})\n`,
        );
      if (failed.length) {
        throw new CliError(
          `${failed.length} entr${failed.length === 1 ? "y" : "ies"} of ${path} failed:\n` +
            failed.map((p) => `  ${p.where} (${p.entry}): ${p.code ? `${p.code}: ` : ""}${p.message}`).join("\n"),
          EXIT.failed,
        );
      }
    });
  });
}

/** Entries per WriteRequest: keeps each request's error list small (see DEFAULT_MAX_BATCH). */
export const RUNTIME_CHUNK = DEFAULT_MAX_BATCH;

/**
 * Writes one kind's entries in requests of RUNTIME_CHUNK, one after the
 * other (entries of the file keep their order); inserts that fail with
 * ALREADY_EXISTS are retried as modifies (in more requests), so applying a
 * file twice is harmless.
 */
async function writeBatch(
  client: P4RuntimeClient,
  batch: Prepared[],
): Promise<{ inserted: number; modified: number; failed: EntryProblem[] }> {
  const failedAt = async (items: Prepared[]): Promise<Map<number, { code: Code; message: string }>> => {
    const out = new Map<number, { code: Code; message: string }>();
    for (let from = 0; from < items.length; from += RUNTIME_CHUNK) {
      const chunk = items.slice(from, from + RUNTIME_CHUNK);
      try {
        // writeRaw lists updates a cut-short error list left out as UNKNOWN failures.
        await client.writeRaw(chunk.map((p) => p.encoded!));
      } catch (e) {
        if (!isP4RuntimeError(e)) throw e;
        if (e.failures.length === 0) {
          if (e.code === Code.UNAVAILABLE) throw e;
          for (let i = 0; i < chunk.length; i++) out.set(from + i, { code: e.code, message: e.details || e.message });
        }
        for (const f of e.failures) out.set(from + f.index, { code: f.code, message: f.message });
      }
    }
    return out;
  };
  const first = await failedAt(batch);
  let inserted = 0;
  let modified = 0;
  const retry: Prepared[] = [];
  const failed: EntryProblem[] = [];
  const problem = (p: Prepared, f: { code: Code; message: string }): EntryProblem => ({
    where: `${p.kind}[${p.position}]`,
    entry: p.label,
    code: Code[f.code] ?? String(f.code),
    message: f.message,
  });
  batch.forEach((p, i) => {
    const f = first.get(i);
    if (!f) {
      if (p.update.type === "insert") inserted++;
      else modified++;
    } else if (f.code === Code.ALREADY_EXISTS && p.update.type === "insert") {
      retry.push(p);
    } else failed.push(problem(p, f));
  });
  if (retry.length) {
    for (const p of retry) p.encoded!.type = Update_Type.MODIFY;
    const second = await failedAt(retry);
    retry.forEach((p, i) => {
      const f = second.get(i);
      if (f) failed.push(problem(p, f));
      else modified++;
    });
  }
  return { inserted, modified, failed };
}
