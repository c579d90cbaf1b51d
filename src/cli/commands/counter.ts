/**
 * `p4cast counter read`: indexed counters (one cell or all), and direct
 * counters of table entries (`--table t field=value ...`).
 */
import type { Command } from "commander";
import type { P4RuntimeClient } from "../../client/client.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import type { TableInfo } from "../../p4runtime/p4info/index.js";
import type { MatchInput, MatchSpec } from "../../p4runtime/codec/match.js";
import { CliError, EXIT, printRows } from "../output.js";
import {
  type ConnectOptions,
  connectOptions,
  explainInputError,
  explainWriteError,
  outputFormat,
  parseSmallUint,
  parseUint,
  withClient,
} from "../connect.js";
import { entryView, matchCell, parseMatchArgs } from "./table.js";

interface ReadOptions extends ConnectOptions {
  index?: string;
  table?: string;
  priority?: string;
}

export type CounterTarget = { kind: "indexed"; name: string; size: bigint } | { kind: "direct"; table: TableInfo };

/**
 * What `name` and --table address: an indexed extern, or the direct extern
 * of a table (found by the extern's name, the table's name, or --table).
 */
export function resolveTarget(
  client: P4RuntimeClient,
  family: "counter" | "meter",
  name: string | undefined,
  tableOpt: string | undefined,
): CounterTarget {
  const index = client.index;
  const indexed = family === "counter" ? index.counters : index.meters;
  const direct = family === "counter" ? index.directCounters : index.directMeters;
  if (tableOpt) {
    const table = index.table(tableOpt);
    const has = family === "counter" ? table.directCounter : table.directMeter;
    if (!has) throw new CliError(`table "${table.name}" has no direct ${family}`, EXIT.usage);
    if (name && direct.find(name)?.name !== has.name)
      throw new CliError(
        `direct ${family} "${name}" does not belong to table "${table.name}" (its direct ${family} is "${has.name}")`,
        EXIT.usage,
      );
    return { kind: "direct", table };
  }
  if (!name) throw new CliError(`name the ${family}, or pass --table for a direct ${family}`, EXIT.usage);
  const c = indexed.find(name);
  if (c) return { kind: "indexed", name: c.name, size: c.size };
  const d = direct.find(name);
  if (d) return { kind: "direct", table: index.table(d.tableId) };
  const t = index.tables.find(name);
  if (t && (family === "counter" ? t.directCounter : t.directMeter)) return { kind: "direct", table: t };
  indexed.get(name); // throws: unknown, with "did you mean"
  throw new CliError(`unknown ${family} "${name}"`, EXIT.usage);
}

export function directEntry(table: TableInfo, matchArgs: string[], priority: string | undefined): TableEntryInput {
  const match = parseMatchArgs(table, matchArgs);
  return { table: table.name, match, ...(priority !== undefined ? { priority: parseSmallUint(priority, "--priority", 0x7fffffffn) } : {}) };
}

/** Positional arguments: an optional name, then field=value match arguments. */
export function splitNameAndMatch(first: string | undefined, rest: string[]): { name: string | undefined; match: string[] } {
  if (first?.includes("=")) return { name: undefined, match: [first, ...rest] };
  return { name: first, match: rest };
}

export function registerCounter(program: Command): void {
  const cmd = program
    .command("counter")
    .description("read indexed and direct counters")
    .addHelpText(
      "after",
      `
Examples:
  p4cast counter read port_counter --index 1
  p4cast counter read port_counter --output json
  p4cast counter read --table acl_ternary 'src_addr=10.0.0.0&&&255.0.0.0' dst_port=1000..2000 --priority 10
  p4cast counter reset port_counter`,
    );
  const read = cmd
    .command("read [name] [match...]")
    .description("read an indexed counter (every cell, or --index), or direct counters of a table's entries")
    .option("--index <i>", "one cell of an indexed counter")
    .option("--table <table>", "direct counter of this table; match fields select one entry (none: every entry)")
    .option("--priority <n>", "priority of the entry (ternary/range tables)");
  connectOptions(read).action(async (first: string | undefined, rest: string[], o: ReadOptions) => {
    const format = outputFormat(o);
    await withClient(o, {}, async (client) => {
      const { name, match } = splitNameAndMatch(first, rest);
      const target = resolveTarget(client, "counter", name, o.table);
      if (target.kind === "indexed") {
        if (match.length) throw new CliError(`"${target.name}" is an indexed counter: use --index, not match fields`, EXIT.usage);
        const index = o.index !== undefined ? parseUint(o.index, "--index") : undefined;
        if (index !== undefined && index >= target.size)
          throw new CliError(`counter "${target.name}": index ${index} is outside 0..${target.size - 1n}`, EXIT.usage);
        const cells = (await client.readAll({
          kind: "counterEntry",
          counter: target.name,
          ...(index !== undefined ? { index } : {}),
        })) as DecodedOf<"counterEntry">[];
        cells.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
        printRows(
          format,
          ["counter", "index", "packets", "bytes"],
          cells.map((c) => [c.counter, c.index, c.data.packets, c.data.bytes]),
          cells.map((c) => ({ counter: c.counter, index: c.index, packets: c.data.packets, bytes: c.data.bytes })),
        );
        return;
      }
      if (o.index !== undefined)
        throw new CliError(`table "${target.table.name}" has a direct counter: select entries with match fields, not --index`, EXIT.usage);
      let entry: TableEntryInput;
      try {
        entry = match.length ? directEntry(target.table, match, o.priority) : { table: target.table.name };
      } catch (e) {
        throw explainInputError(e, undefined);
      }
      const found = (await client.readAll({ kind: "directCounterEntry", entry })) as DecodedOf<"directCounterEntry">[];
      const views = found.map((d) => ({ ...entryView(client.index, d.entry), packets: d.data.packets, bytes: d.data.bytes }));
      printRows(
        format,
        ["table", "entry", "priority", "packets", "bytes"],
        views.map((v) => [v.table, matchCell(v), v.priority ?? "", v.packets, v.bytes]),
        views.map((v) => ({
          table: v.table,
          match: v.match,
          ...(v.priority ? { priority: v.priority } : {}),
          packets: v.packets,
          bytes: v.bytes,
        })),
      );
    });
  });

  const reset = cmd
    .command("reset [name] [match...]")
    .description("set counter cells to zero (every cell, --index, or direct counters of --table entries)")
    .option("--index <i>", "one cell of an indexed counter")
    .option("--table <table>", "direct counter of this table")
    .option("--priority <n>", "priority of the entry (ternary/range tables)");
  connectOptions(reset).action(async (first: string | undefined, rest: string[], o: ReadOptions) => {
    const format = outputFormat(o);
    await withClient(o, { primary: true }, async (client) => {
      const { name, match } = splitNameAndMatch(first, rest);
      const target = resolveTarget(client, "counter", name, o.table);
      const zero = { packets: 0n, bytes: 0n };
      let n = 0;
      try {
        if (target.kind === "indexed") {
          const index = o.index !== undefined ? parseUint(o.index, "--index") : undefined;
          const cells = index !== undefined ? [index] : Array.from({ length: Number(target.size) }, (_, i) => BigInt(i));
          await client.write(
            cells.map((i) => ({
              type: "modify" as const,
              entity: { kind: "counterEntry" as const, counter: target.name, index: i, data: zero },
            })),
          );
          n = cells.length;
        } else {
          const entries = match.length
            ? [directEntry(target.table, match, o.priority)]
            : ((await client.readAll({ kind: "tableEntry", table: target.table.name })) as DecodedOf<"tableEntry">[]).map((e) => ({
                table: e.table,
                match: matchInputs(e.match),
                ...(e.priority ? { priority: e.priority } : {}),
              }));
          await client.write(
            entries.map((entry) => ({ type: "modify" as const, entity: { kind: "directCounterEntry" as const, entry, data: zero } })),
          );
          n = entries.length;
        }
      } catch (e) {
        throw explainWriteError(explainInputError(e, undefined), "counter reset failed");
      }
      if (format === "json") printRows(format, [], [], { result: "reset", cells: n });
      else process.stdout.write(`reset ${n} counter cell(s)\n`);
    });
  });
}

/** Decoded match specs back to inputs (for writing to the same entries). */
export function matchInputs(match: Readonly<Record<string, MatchSpec>>): Record<string, MatchInput> {
  const out: Record<string, MatchInput> = {};
  for (const [k, s] of Object.entries(match)) {
    out[k] =
      s.kind === "exact" || s.kind === "optional"
        ? s.value
        : s.kind === "lpm"
          ? { value: s.value, prefixLen: s.prefixLen }
          : s.kind === "ternary"
            ? { value: s.value, mask: s.mask }
            : { low: s.low, high: s.high };
  }
  return out;
}
