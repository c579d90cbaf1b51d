/**
 * `p4cast meter set|read|reset`: two-rate three-colour meters, indexed
 * (`--index i`) or direct (`--table t field=value ...`). Rates are per
 * second and bursts in the meter's unit (bytes or packets, from the P4Info).
 */
import type { Command } from "commander";
import type { DecodedOf, EntityInput } from "../../client/entities/entity.js";
import type { MeterConfigValue } from "../../client/entities/common.js";
import type { TableEntryInput } from "../../client/entities/table-entry.js";
import type { P4RuntimeClient } from "../../client/client.js";
import { CliError, EXIT, printRows } from "../output.js";
import {
  type ConnectOptions,
  connectOptions,
  explainInputError,
  explainWriteError,
  outputFormat,
  parseUint,
  withClient,
} from "../connect.js";
import { entryView, matchCell } from "./table.js";
import { type CounterTarget, directEntry, matchInputs, resolveTarget, splitNameAndMatch } from "./counter.js";

interface MeterOptions extends ConnectOptions {
  index?: string;
  table?: string;
  priority?: string;
  cir?: string;
  cburst?: string;
  pir?: string;
  pburst?: string;
}

function unitOf(client: P4RuntimeClient, t: CounterTarget): string {
  if (t.kind === "indexed") return client.index.meter(t.name).unit;
  return t.table.directMeter?.unit ?? "unspecified";
}

function configCells(c: MeterConfigValue | undefined): (string | bigint | number)[] {
  if (!c) return ["(unset: all green)", "", "", ""];
  return [c.cir, c.cburst, c.pir, c.pburst];
}

export function registerMeter(program: Command): void {
  const cmd = program
    .command("meter")
    .description("configure and read meters (two-rate three-colour)")
    .addHelpText(
      "after",
      `
Examples:
  p4cast meter set port_meter --index 1 --cir 1000 --cburst 100 --pir 2000 --pburst 200
  p4cast meter read port_meter --index 1 --output json
  p4cast meter set --table acl_ternary 'src_addr=10.0.0.0&&&255.0.0.0' --priority 10 --cir 10 --cburst 5 --pir 20 --pburst 10
  p4cast meter reset port_meter --index 1`,
    );

  const addCommon = (c: Command) =>
    c
      .option("--index <i>", "one cell of an indexed meter")
      .option("--table <table>", "direct meter of this table; match fields select the entry")
      .option("--priority <n>", "priority of the entry (ternary/range tables)");

  const set = addCommon(cmd.command("set [name] [match...]").description("set a meter's rates and bursts (cir <= pir)"))
    .requiredOption("--cir <rate>", "committed rate per second (bytes or packets: the meter's unit)")
    .requiredOption("--cburst <size>", "committed burst")
    .requiredOption("--pir <rate>", "peak rate per second")
    .requiredOption("--pburst <size>", "peak burst");
  connectOptions(set).action(async (first: string | undefined, rest: string[], o: MeterOptions) => {
    const format = outputFormat(o);
    const config: MeterConfigValue = {
      cir: parseUint(o.cir!, "--cir"),
      cburst: parseUint(o.cburst!, "--cburst"),
      pir: parseUint(o.pir!, "--pir"),
      pburst: parseUint(o.pburst!, "--pburst"),
    };
    if (BigInt(config.pir) < BigInt(config.cir))
      throw new CliError(`--pir (${config.pir}) must be at least --cir (${config.cir})`, EXIT.usage);
    await withClient(o, { primary: true }, async (client) => {
      const { name, match } = splitNameAndMatch(first, rest);
      const target = resolveTarget(client, "meter", name, o.table);
      const entities = entitiesFor(target, match, o, config);
      await writeAll(client, entities, "meter set");
      const unit = unitOf(client, target);
      if (format === "json") printRows(format, [], [], { result: "set", cells: entities.length, unit, config });
      else
        process.stdout.write(
          `meter set on ${entities.length} cell(s): ` +
            `cir ${config.cir}/s cburst ${config.cburst} pir ${config.pir}/s pburst ${config.pburst} (${unit})\n`,
        );
    });
  });

  const reset = addCommon(
    cmd
      .command("reset [name] [match...]")
      .description("remove a meter's configuration (every packet green again); every cell without --index"),
  );
  connectOptions(reset).action(async (first: string | undefined, rest: string[], o: MeterOptions) => {
    const format = outputFormat(o);
    await withClient(o, { primary: true }, async (client) => {
      const { name, match } = splitNameAndMatch(first, rest);
      const target = resolveTarget(client, "meter", name, o.table);
      let entities: EntityInput[];
      if (target.kind === "indexed" && o.index === undefined) {
        entities = Array.from({ length: Number(target.size) }, (_, i) => ({
          kind: "meterEntry" as const,
          meter: target.name,
          index: BigInt(i),
        }));
      } else if (target.kind === "direct" && match.length === 0) {
        const entries = (await client.readAll({ kind: "tableEntry", table: target.table.name })) as DecodedOf<"tableEntry">[];
        entities = entries.map((e) => ({
          kind: "directMeterEntry" as const,
          entry: { table: e.table, match: matchInputs(e.match), ...(e.priority ? { priority: e.priority } : {}) },
        }));
      } else {
        entities = entitiesFor(target, match, o, undefined);
      }
      await writeAll(client, entities, "meter reset");
      if (format === "json") printRows(format, [], [], { result: "reset", cells: entities.length });
      else process.stdout.write(`meter reset on ${entities.length} cell(s)\n`);
    });
  });

  const read = addCommon(
    cmd
      .command("read [name] [match...]")
      .description("show meter configuration (every cell without --index; every entry of --table without match fields)"),
  );
  connectOptions(read).action(async (first: string | undefined, rest: string[], o: MeterOptions) => {
    const format = outputFormat(o);
    await withClient(o, {}, async (client) => {
      const { name, match } = splitNameAndMatch(first, rest);
      const target = resolveTarget(client, "meter", name, o.table);
      const unit = unitOf(client, target);
      if (target.kind === "indexed") {
        if (match.length) throw new CliError(`"${target.name}" is an indexed meter: use --index, not match fields`, EXIT.usage);
        const index = o.index !== undefined ? parseUint(o.index, "--index") : undefined;
        if (index !== undefined && index >= target.size)
          throw new CliError(`meter "${target.name}": index ${index} is outside 0..${target.size - 1n}`, EXIT.usage);
        const cells = (await client.readAll({
          kind: "meterEntry",
          meter: target.name,
          ...(index !== undefined ? { index } : {}),
        })) as DecodedOf<"meterEntry">[];
        cells.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
        printRows(
          format,
          ["meter", "index", `cir (${unit}/s)`, "cburst", `pir (${unit}/s)`, "pburst"],
          cells.map((c) => [c.meter, c.index, ...configCells(c.config)]),
          cells.map((c) => ({
            meter: c.meter,
            index: c.index,
            unit,
            config: c.config ?? null,
            ...(c.counterData ? { counterData: c.counterData } : {}),
          })),
        );
        return;
      }
      let entry: TableEntryInput;
      try {
        entry = match.length ? directEntry(target.table, match, o.priority) : { table: target.table.name };
      } catch (e) {
        throw explainInputError(e, undefined);
      }
      const found = (await client.readAll({ kind: "directMeterEntry", entry })) as DecodedOf<"directMeterEntry">[];
      const views = found.map((d) => ({ view: entryView(client.index, d.entry), config: d.config }));
      printRows(
        format,
        ["table", "entry", `cir (${unit}/s)`, "cburst", `pir (${unit}/s)`, "pburst"],
        views.map((v) => [v.view.table, matchCell(v.view), ...configCells(v.config)]),
        views.map((v) => ({
          table: v.view.table,
          match: v.view.match,
          ...(v.view.priority ? { priority: v.view.priority } : {}),
          unit,
          config: v.config ?? null,
        })),
      );
    });
  });
}

function entitiesFor(target: CounterTarget, match: string[], o: MeterOptions, config: MeterConfigValue | undefined): EntityInput[] {
  try {
    if (target.kind === "indexed") {
      if (match.length) throw new CliError(`"${target.name}" is an indexed meter: use --index, not match fields`, EXIT.usage);
      if (o.index === undefined) throw new CliError(`meter "${target.name}" is indexed: pass --index <0..${target.size - 1n}>`, EXIT.usage);
      return [{ kind: "meterEntry", meter: target.name, index: parseUint(o.index, "--index"), ...(config ? { config } : {}) }];
    }
    if (o.index !== undefined)
      throw new CliError(`table "${target.table.name}" has a direct meter: select the entry with match fields, not --index`, EXIT.usage);
    return [{ kind: "directMeterEntry", entry: directEntry(target.table, match, o.priority), ...(config ? { config } : {}) }];
  } catch (e) {
    throw explainInputError(e, undefined);
  }
}

async function writeAll(client: P4RuntimeClient, entities: EntityInput[], what: string): Promise<void> {
  let updates;
  try {
    updates = client.encodeUpdates(entities.map((entity) => ({ type: "modify" as const, entity })));
  } catch (e) {
    throw explainInputError(e, undefined);
  }
  try {
    await client.writeRaw(updates);
  } catch (e) {
    throw explainWriteError(e, `${what} failed`);
  }
}
