/**
 * Skips that say why. A suite whose tools are missing still registers one
 * test, skipped with the reason as its note (`ctx.skip(note)`), and prints
 * the reason; the summary reporter (summary-reporter.ts) then counts the
 * file as a skipped suite and names the missing tools. Notes name a missing
 * tool as "missing <tool>: <detail>".
 */
import { spawnSync } from "node:child_process";
import { describe, it } from "vitest";

/** A tool or input a suite needs: `missing` says why it is absent (undefined: present). */
export interface Requirement {
  readonly tool: string;
  readonly missing?: string | undefined;
}

export function onPath(cmd: string): Requirement {
  const ok = spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
  return { tool: cmd, missing: ok ? undefined : "not on PATH" };
}

/** The skip note for the requirements that are missing, or undefined when none is. */
export function missingNote(reqs: readonly Requirement[]): string | undefined {
  const m = reqs.filter((r) => r.missing !== undefined);
  return m.length ? m.map((r) => `missing ${r.tool}: ${r.missing}`).join("; ") : undefined;
}

const printed = new Set<string>();

export function printSkip(title: string, note: string): void {
  const line = `[p4cast tests] skipped: ${title}: ${note}`;
  if (printed.has(line)) return;
  printed.add(line);
  console.log(line);
}

/**
 * `describe(title, body)` when every requirement is met; otherwise one
 * skipped test carrying the reason, and the reason printed.
 */
export function describeWith(title: string, reqs: readonly Requirement[], body: () => void, opts: { timeout?: number } = {}): void {
  const note = missingNote(reqs);
  if (note === undefined) {
    describe(title, opts, body);
    return;
  }
  printSkip(title, note);
  describe(title, () => {
    it("needs tools that are missing", (ctx) => ctx.skip(note));
  });
}

/** Inside a test: skips it with the missing requirements as the note (and prints it). */
export function skipUnless(ctx: { skip(note?: string): never; task: { name: string } }, reqs: readonly Requirement[]): void {
  const note = missingNote(reqs);
  if (note === undefined) return;
  printSkip(ctx.task.name, note);
  ctx.skip(note);
}

/**
 * `describe(title, body)` unless `reason` says why the suite cannot run
 * here; then one skipped test carrying the reason, and the reason printed.
 */
export function describeUnless(reason: string | undefined, title: string, body: () => void, opts: { sequential?: boolean } = {}): void {
  if (reason === undefined) {
    (opts.sequential ? describe.sequential : describe)(title, body);
    return;
  }
  printSkip(title, reason);
  describe(title, () => {
    it("cannot run here", (ctx) => ctx.skip(reason));
  });
}
