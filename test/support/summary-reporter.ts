/**
 * Prints the closing lines after the run: "N passed, N failed, N skipped"
 * (tests), the files skipped entirely (every test skipped, or none
 * registered) with their reasons, and the tools whose absence caused skips
 * (from skip notes of the form "missing <tool>: <detail>", test/support/
 * skips.ts). A skip without a note is listed too, so no skip is silent.
 * Each failed test's message comes last but one, on one line, so the end
 * of a long run's log says what failed and why.
 */
import { relative } from "node:path";
import type { Reporter, TestCase, TestModule } from "vitest/node";

export interface SkipSummary {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Files whose every test was skipped (or that registered none), with their reasons. */
  readonly skippedFiles: { file: string; reasons: string[] }[];
  /** Tools named in skip notes, sorted. */
  readonly missingTools: string[];
  /** Skipped tests without a note: "file > test". */
  readonly unexplained: string[];
  /** Failed tests ("file > test") with their first error's message on one line. */
  readonly failures: { test: string; message: string }[];
}

/** The longest failure message kept (a loss report names every drop it saw). */
export const FAILURE_MESSAGE_CHARS = 1500;

function oneLine(message: string): string {
  const flat = message.replace(/\s+/g, " ").trim();
  return flat.length > FAILURE_MESSAGE_CHARS ? `${flat.slice(0, FAILURE_MESSAGE_CHARS - 1)}…` : flat;
}

export function summarise(modules: ReadonlyArray<TestModule>, root = process.cwd()): SkipSummary {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const skippedFiles: { file: string; reasons: string[] }[] = [];
  const tools = new Set<string>();
  const unexplained: string[] = [];
  const failures: { test: string; message: string }[] = [];
  for (const m of modules) {
    const file = relative(root, m.moduleId);
    const tests: TestCase[] = [...m.children.allTests()];
    const reasons = new Set<string>();
    let fileSkipped = 0;
    for (const t of tests) {
      const r = t.result();
      if (r.state === "passed") passed++;
      else if (r.state === "failed") {
        failed++;
        failures.push({ test: `${file} > ${t.fullName}`, message: oneLine(r.errors?.[0]?.message ?? "no message") });
      } else {
        skipped++;
        fileSkipped++;
        const note = r.state === "skipped" ? r.note : undefined;
        if (note) {
          reasons.add(note);
          for (const mt of note.matchAll(/missing ([^:;]+):/g)) tools.add(mt[1]!.trim());
        } else unexplained.push(`${file} > ${t.fullName}`);
      }
    }
    if (m.state() === "failed" && tests.length === 0) {
      failed++;
      failures.push({ test: file, message: oneLine(m.errors()[0]?.message ?? "the file failed to load") });
    } else if (tests.length === 0) skippedFiles.push({ file, reasons: ["registered no tests"] });
    else if (fileSkipped === tests.length)
      skippedFiles.push({ file, reasons: reasons.size ? [...reasons] : ["every test skipped, without a reason"] });
  }
  return { passed, failed, skipped, skippedFiles, missingTools: [...tools].sort(), unexplained, failures };
}

export function formatSummary(s: SkipSummary): string {
  const lines = [""];
  for (const f of s.skippedFiles) lines.push(`skipped suite ${f.file}: ${f.reasons.join("; ")}`);
  for (const u of s.unexplained) lines.push(`skipped without a reason: ${u}`);
  for (const f of s.failures) lines.push(`failed: ${f.test}: ${f.message}`);
  lines.push(
    `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped; ` +
      `${s.skippedFiles.length} suite${s.skippedFiles.length === 1 ? "" : "s"} (files) skipped` +
      (s.missingTools.length ? `; missing: ${s.missingTools.join(", ")}` : ""),
  );
  return `${lines.join("\n")}\n`;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    process.stdout.write(formatSummary(summarise(modules)));
  }
}
