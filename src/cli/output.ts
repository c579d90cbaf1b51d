/**
 * Output helpers shared by the CLI commands: --output table|json, bigint-
 * safe JSON, and errors that say what was wrong and how to fix it.
 */
import Table from "cli-table3";

export type OutputFormat = "table" | "json";

export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) =>
      typeof v === "bigint"
        ? v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(v)
          : v.toString()
        : v instanceof Uint8Array
          ? Buffer.from(v).toString("hex")
          : v,
    2,
  );
}

export function printRows(format: OutputFormat, head: string[], rows: (string | number | bigint)[][], json: unknown): void {
  if (format === "json") {
    process.stdout.write(`${toJson(json)}\n`);
    return;
  }
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((c) => String(c)));
  process.stdout.write(`${t.toString()}\n`);
}

/** A failure the user can act on; the CLI prints it without a stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Exit codes: 0 ok, 1 operation failed, 2 bad usage or input, 3 cannot reach the target. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** "1 session", "2 sessions" (a plural in `many` when it is not noun + "s"). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
