#!/usr/bin/env node
/**
 * The p4cast command line. Each subcommand lives in commands/; errors are
 * printed as one line saying what was wrong (and a hint), with an exit code
 * from output.ts: 0 ok, 1 failed, 2 bad usage or input, 3 target unreachable.
 * No stack traces unless P4CAST_DEBUG is set.
 */
import { CommanderError } from "commander";
import { CliError, EXIT } from "./output.js";
import { buildProgram } from "./program.js";
import { isP4ConnectionError, isP4InfoLookupError, isP4RuntimeError, isP4ValueError } from "../p4runtime/errors.js";
import { isPlanError } from "../controller/plan/plan-error.js";

const program = buildProgram();

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode === 0 ? 0 : EXIT.usage);
  }
  let code: number = EXIT.failed;
  let msg = e instanceof Error ? e.message : String(e);
  let hint: string | undefined;
  if (e instanceof CliError) {
    code = e.exitCode;
    hint = e.hint;
  } else if (isP4ValueError(e) || isP4InfoLookupError(e) || (e instanceof Error && e.name === "TopologyError")) {
    code = EXIT.usage;
  } else if (isPlanError(e)) {
    // A topology that passes validation but cannot be planned: bad input; a deploy writes nothing then.
    code = EXIT.usage;
    hint = "fix the topology file at the paths named; no switch was written";
  } else if (isP4ConnectionError(e) || (isP4RuntimeError(e) && e.code === 14)) {
    code = EXIT.unreachable;
    hint = "is the switch running, and is its P4Runtime address right (--grpc, or the grpc address in the topology file)?";
  } else if (e instanceof Error && (e as NodeJS.ErrnoException).code === "ENOENT") {
    code = EXIT.usage;
  }
  // Stack traces are for developers: P4CAST_DEBUG=1 shows them.
  if (process.env.P4CAST_DEBUG && e instanceof Error && e.stack) msg = e.stack;
  process.stderr.write(`p4cast: error: ${msg}\n${hint ? `hint: ${hint}\n` : ""}`);
  process.exit(code);
}
