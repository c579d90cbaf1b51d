/**
 * `p4cast codegen --p4info <file> [--out <file.ts>]`: TypeScript
 * declarations of a program's tables, actions and externs so applications
 * build entries that the compiler checks (see codegen/generate.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import type { Command } from "commander";
import { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { parseP4Info, p4infoFormatOf } from "../../p4runtime/p4info/load.js";
import { generateDeclarations } from "../codegen/generate.js";
import { CliError, EXIT } from "../output.js";

interface CodegenOptions {
  p4info?: string;
  out?: string;
  clientModule: string;
}

export function registerCodegen(program: Command): void {
  program
    .command("codegen")
    .description("generate TypeScript types of a P4Info's tables, actions and params, with compile-time checked entry builders")
    .option("--p4info <file>", "the P4Info (text, JSON or binary)")
    .option("--out <file.ts>", "write here instead of stdout")
    .option("--client-module <specifier>", "module to import the client's types from", "p4cast/client")
    .addHelpText(
      "after",
      `
Example:
  p4cast codegen --p4info p4/build/p4cast.p4info.txtpb --out src/app/p4cast-p4.ts

  import { tableEntry } from "./p4cast-p4.js";
  const route = tableEntry("ipv4_lpm", { "hdr.ipv4.dst_addr": "10.0.2.0/24" }, "set_nhop", { dmac: "00:00:00:00:02:02", port: 2 });
  await sw.insert({ kind: "tableEntry", ...route });
  // a misspelt table, field, action or parameter, or a missing priority, does not compile`,
    )
    .action((o: CodegenOptions) => {
      if (!o.p4info)
        throw new CliError("codegen needs --p4info <file>", EXIT.usage, "p4c writes it with --p4runtime-files <name>.p4info.txtpb");
      if (!existsSync(o.p4info)) throw new CliError(`--p4info: no such file "${o.p4info}"`, EXIT.usage);
      const bytes = new Uint8Array(readFileSync(o.p4info));
      let index: P4InfoIndex;
      try {
        index = new P4InfoIndex(parseP4Info(bytes, p4infoFormatOf(o.p4info), o.p4info));
      } catch (e) {
        throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
      }
      const text = generateDeclarations(index, {
        clientModule: o.clientModule,
        source: relative(process.cwd(), o.p4info) || o.p4info,
        sourceHash: createHash("sha256").update(bytes).digest("hex"),
      });
      if (!o.out) {
        process.stdout.write(text);
        return;
      }
      mkdirSync(dirname(o.out), { recursive: true });
      writeFileSync(o.out, text);
      process.stderr.write(`wrote ${o.out}: ${index.tables.size} tables, ${index.actions.size} actions\n`);
    });
}
