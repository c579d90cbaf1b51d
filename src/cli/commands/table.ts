/**
 * `p4cast table add|modify|delete|dump`: table entries by name with
 * human-readable match values (10.0.0.0/8, value&&&mask, lo..hi, MAC, IPv6)
 * and action parameters.
 */
import type { Command } from "commander";
import type { P4RuntimeClient } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import { type DecodedTableEntry, type TableEntryInput, decodeTableEntry } from "../../client/entities/table-entry.js";
import type { MatchSpec } from "../../p4runtime/codec/match.js";
import { formatMatch } from "../../p4runtime/codec/match.js";
import { type ValueFormat, formatValue, guessFormat } from "../../p4runtime/codec/values.js";
import type { P4InfoIndex, TableInfo } from "../../p4runtime/p4info/index.js";
import { isP4RuntimeError } from "../../p4runtime/errors.js";
import { CliError, EXIT, printRows } from "../output.js";
import {
  type ConnectOptions,
  collect,
  connectOptions,
  explainInputError,
  explainWriteError,
  keyValues,
  lookup,
  outputFormat,
  parseSmallUint,
  withClient,
} from "../connect.js";

interface WriteOptions extends ConnectOptions {
  action?: string;
  param: string[];
  priority?: string;
  default?: boolean;
}

interface DumpOptions extends ConnectOptions {
  defaults: boolean;
  counters?: boolean;
}

/** A table entry as the CLI shows it: every value in the notation people write. */
export interface EntryView {
  table: string;
  match: Record<string, string>;
  priority?: number;
  default?: true;
  const?: true;
  action?:
    | { name: string; params: Record<string, string> }
    | { member: number }
    | { group: number }
    | { oneShot: { name: string; params: Record<string, string>; weight: number }[] };
  counter?: { packets: bigint; bytes: bigint };
}

/** The codec's guess, plus hex for EtherTypes (0x0800 reads better than 2048). */
export function fieldFormat(name: string, bitwidth: number, annotations: readonly string[] = []): ValueFormat {
  const f = guessFormat(name, bitwidth, annotations);
  return f === "int" && /ether_?type/i.test(name) && !annotations.some((a) => a.startsWith("@format")) ? "hex" : f;
}

export function matchText(table: TableInfo, name: string, spec: MatchSpec): string {
  const f = table.matchFields.get(name);
  return formatMatch(spec, fieldFormat(name, f.bitwidth, f.annotations));
}

function paramsView(index: P4InfoIndex, name: string, params: Readonly<Record<string, bigint>>): Record<string, string> {
  const info = index.action(name);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    const p = info.params.get(k);
    out[k] = formatValue(v, fieldFormat(k, p.bitwidth, p.annotations));
  }
  return out;
}

export function entryView(index: P4InfoIndex, e: DecodedTableEntry): EntryView {
  const table = index.table(e.table);
  const match: Record<string, string> = {};
  for (const [k, spec] of Object.entries(e.match)) match[k] = matchText(table, k, spec);
  const v: EntryView = { table: e.table, match };
  if (e.priority) v.priority = e.priority;
  if (e.isDefault) v.default = true;
  if (e.isConst) v.const = true;
  const a = e.action;
  if (a?.kind === "action") v.action = { name: a.name, params: paramsView(index, a.name, a.params) };
  else if (a?.kind === "member") v.action = { member: a.member };
  else if (a?.kind === "group") v.action = { group: a.group };
  else if (a?.kind === "oneShot")
    v.action = { oneShot: a.actions.map((x) => ({ name: x.name, params: paramsView(index, x.name, x.params), weight: x.weight })) };
  if (e.counterData) v.counter = e.counterData;
  return v;
}

export function matchCell(v: EntryView): string {
  if (v.default) return "(default)";
  const parts = Object.entries(v.match).map(([k, x]) => `${k}=${x}`);
  return parts.length ? parts.join("\n") : "(match all)";
}

export function actionCell(v: EntryView): string {
  const a = v.action;
  if (!a) return "";
  const call = (x: { name: string; params: Record<string, string> }) =>
    `${x.name}(${Object.entries(x.params)
      .map(([k, p]) => `${k}=${p}`)
      .join(", ")})`;
  if ("name" in a) return call(a);
  if ("member" in a) return `member ${a.member}`;
  if ("group" in a) return `group ${a.group}`;
  return a.oneShot.map((x) => `${call(x)}*${x.weight}`).join(" | ");
}

/** `field=value` arguments → match input; field names may be unique suffixes ("dst_addr"). */
export function parseMatchArgs(table: TableInfo, args: readonly string[]): Record<string, string> {
  const kv = keyValues(args, `table "${table.name}" match`, `${table.matchFieldList[0]?.name ?? "field"}=<value>`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(kv)) {
    const f = lookup(table.matchFields, k);
    if (f.name in out) throw new CliError(`table "${table.name}": match field "${f.name}" given twice`, EXIT.usage);
    out[f.name] = v;
  }
  return out;
}

/** The table's action named `name`; an action of another table is named as such. */
export function tableAction(index: P4InfoIndex, table: TableInfo, name: string): { name: string } {
  try {
    return lookup(table.actions, name);
  } catch (e) {
    let global: { name: string } | undefined;
    try {
      global = index.actions.find(name);
    } catch {
      global = undefined;
    }
    if (!global) throw e;
    const allowed = [...table.actionRefs.values()].filter((r) => r.scope !== "default_only").map((r) => r.action.name);
    throw new CliError(
      `action "${global.name}" is not an action of table "${table.name}"`,
      EXIT.usage,
      `its actions: ${allowed.join(", ") || "none"}`,
    );
  }
}

function describeTable(table: TableInfo): string {
  const keys = table.matchFieldList.map((f) => `${f.name}=<${f.kind}, ${f.bitwidth} bits>`).join(" ");
  const actions = [...table.actionRefs.values()].filter((r) => r.scope !== "default_only").map((r) => r.action.name);
  return `${table.name} ${keys}; actions: ${actions.join(", ") || "none"}`;
}

function buildEntry(
  index: P4InfoIndex,
  tableName: string,
  matchArgs: string[],
  o: WriteOptions,
  kind: "add" | "modify" | "delete",
): TableEntryInput {
  const table = lookup(index.tables, tableName);
  if (table.isConst) throw new CliError(`table "${table.name}" is const: its entries are fixed in the P4 program`, EXIT.usage);
  const params = keyValues(o.param, "--param", "--param port=1");
  if (o.action) tableAction(index, table, o.action);
  if (Object.keys(params).length > 0 && !o.action) throw new CliError("--param needs --action", EXIT.usage, describeTable(table));
  if (o.default) {
    if (matchArgs.length > 0) throw new CliError(`table "${table.name}": the default entry has no match fields`, EXIT.usage);
    if (o.priority !== undefined) throw new CliError("the default entry has no priority", EXIT.usage);
    if (kind !== "delete" && !o.action)
      throw new CliError("--default needs --action (or `table delete --default` to reset it)", EXIT.usage, describeTable(table));
    if (kind === "delete" && o.action)
      throw new CliError("`table delete --default` resets the default action: it takes no --action", EXIT.usage);
    return { table: table.name, isDefault: true, ...(o.action ? { action: { name: o.action, params } } : {}) };
  }
  if (kind !== "delete" && !o.action)
    throw new CliError(`table "${table.name}": an entry needs --action`, EXIT.usage, describeTable(table));
  const match = parseMatchArgs(table, matchArgs);
  const priority = o.priority !== undefined ? parseSmallUint(o.priority, "--priority", 0x7fffffffn) : undefined;
  return {
    table: table.name,
    match,
    ...(priority !== undefined ? { priority } : {}),
    ...(o.action ? { action: { name: o.action, params } } : {}),
  };
}

export async function readEntries(
  client: P4RuntimeClient,
  tables: TableInfo[] | "*",
  opts: { defaults: boolean; counters: boolean },
): Promise<DecodedTableEntry[]> {
  const queries =
    tables === "*"
      ? [{ kind: "tableEntry" as const, table: "*", ...(opts.counters ? { counterData: { packets: 0n, bytes: 0n } } : {}) }]
      : tables.map((t) => ({
          kind: "tableEntry" as const,
          table: t.name,
          ...(opts.counters && t.directCounter ? { counterData: { packets: 0n, bytes: 0n } } : {}),
        }));
  const entries = (await client.readAll(...queries)) as DecodedOf<"tableEntry">[];
  const all = tables === "*" ? [...client.index.tables] : tables;
  const out: DecodedTableEntry[] = [];
  for (const t of all) {
    if (opts.defaults) {
      try {
        const d = (await client.readAll({ kind: "tableEntry", table: t.name, isDefault: true })) as DecodedOf<"tableEntry">[];
        out.push(...d);
      } catch (e) {
        // Targets that cannot read default entries still list the others.
        if (!isP4RuntimeError(e)) throw e;
      }
    }
    out.push(...entries.filter((e) => e.table === t.name && !e.isDefault));
  }
  return out;
}

export function registerTable(program: Command): void {
  const table = program
    .command("table")
    .description("add, modify, delete and dump table entries by name (values as IPv4/IPv6/MAC/int/hex)")
    .addHelpText(
      "after",
      `
Match values: exact 10.0.0.1 | lpm 10.0.0.0/8 | ternary 'v&&&mask' (quote it for the shell) | range 1000..2000 | optional 5.
Field names may be unique suffixes (dst_addr for hdr.ipv4.dst_addr), tables and actions too (ipv4_lpm).

Examples:
  p4cast table add ipv4_lpm hdr.ipv4.dst_addr=10.0.2.0/24 --action set_nhop --param dmac=00:00:00:00:02:02 --param port=2
  p4cast table add acl_ternary 'src_addr=10.0.0.0&&&255.0.0.0' dst_port=1000..2000 --action acl_deny --priority 10
  p4cast table modify ipv4_lpm --default --action punt
  p4cast table delete ipv4_lpm hdr.ipv4.dst_addr=10.0.2.0/24
  p4cast table dump ipv4_lpm --output json`,
    );

  for (const kind of ["add", "modify", "delete"] as const) {
    const cmd = table
      .command(`${kind} <table> [match...]`)
      .description(
        kind === "add"
          ? "insert an entry (with --default: set the default action)"
          : kind === "modify"
            ? "change the action of an existing entry (or of the default entry with --default)"
            : "delete an entry by its key (with --default: reset the default action)",
      )
      .option("--action <name>", "action name (full name or unique suffix)")
      .option("--param <name=value...>", "action parameter, repeatable", collect, [] as string[])
      .option("--priority <n>", "entry priority (tables with ternary, range or optional fields)")
      .option("--default", "address the table's default entry");
    connectOptions(cmd).action(async (tableName: string, matchArgs: string[], o: WriteOptions) => {
      const format = outputFormat(o);
      await withClient(o, { primary: true }, async (client) => {
        let entry: TableEntryInput;
        let updates;
        try {
          entry = buildEntry(client.index, tableName, matchArgs, o, kind);
          updates = client.encodeUpdates([
            {
              type: entry.isDefault || kind === "modify" ? "modify" : kind === "add" ? "insert" : "delete",
              entity: { kind: "tableEntry", ...entry },
            },
          ]);
        } catch (e) {
          let t: TableInfo | undefined;
          try {
            t = client.index.tables.find(tableName);
          } catch {
            t = undefined;
          }
          throw explainInputError(e, t ? describeTable(t) : undefined);
        }
        try {
          await client.writeRaw(updates);
        } catch (e) {
          throw explainWriteError(e, `${kind} in table "${entry.table}" failed`);
        }
        const verb =
          kind === "add"
            ? entry.isDefault
              ? "default set"
              : "added"
            : kind === "modify"
              ? "modified"
              : entry.isDefault
                ? "default reset"
                : "deleted";
        // What was written, in canonical notation (decoded from the encoded update).
        const te = updates[0]!.entity!.entity;
        const view =
          te.case === "tableEntry"
            ? entryView(client.index, decodeTableEntry(client.index, te.value))
            : ({ table: entry.table, match: {} } as EntryView);
        if (format === "json") printRows(format, [], [], { result: verb, entry: view });
        else
          process.stdout.write(
            `${verb}: ${entry.table} ${matchCell(view).replace(/\n/g, " ")}${view.action ? ` -> ${actionCell(view)}` : ""}\n`,
          );
      });
    });
  }

  const dump = table
    .command("dump [table]")
    .description("list the entries of one table, or of every table (default entries included)")
    .option("--no-defaults", "leave out the default entries")
    .option("--counters", "also read the direct counter of each entry");
  connectOptions(dump).action(async (tableName: string | undefined, o: DumpOptions) => {
    const format = outputFormat(o);
    await withClient(o, {}, async (client) => {
      const tables = tableName ? [lookup(client.index.tables, tableName)] : "*";
      const entries = await readEntries(client, tables, { defaults: o.defaults, counters: !!o.counters });
      const views = entries.map((e) => entryView(client.index, e));
      const head = ["table", "match", "priority", "action", ...(o.counters ? ["packets", "bytes"] : [])];
      const rows = views.map((v) => [
        v.table,
        matchCell(v),
        v.priority ?? "",
        actionCell(v) + (v.const ? " (const)" : ""),
        ...(o.counters ? [v.counter?.packets ?? "", v.counter?.bytes ?? ""] : []),
      ]);
      printRows(format, head, rows, views);
    });
  });
}
