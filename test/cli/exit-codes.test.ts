/**
 * Exit codes as docs/cli.md states them: 2 for bad usage (a missing argument
 * or required option, an unknown option or command, a malformed value, a
 * file that is not what the option wants), 0 for --help and --version; and
 * no stack trace for any of these.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { p4cast } from "./cli.js";

const stackLine = /\n\s+at /;

describe("exit codes of bad usage", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "p4cast-exit-"));
  beforeAll(() => writeFileSync(join(dir, "not-a-pcap.txt"), "hello\n"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: { args: string[]; code: number; stderr: RegExp }[] = [
    { args: ["deploy"], code: 2, stderr: /required option '-t, --topology <file>' not specified/ },
    { args: ["status"], code: 2, stderr: /required option '-t, --topology <file>' not specified/ },
    { args: ["watch", "--once"], code: 2, stderr: /required option '-t, --topology <file>' not specified/ },
    { args: ["net", "up"], code: 2, stderr: /required option '-t, --topology <file>' not specified/ },
    { args: ["topology", "check"], code: 2, stderr: /missing required argument 'file'/ },
    { args: ["runtime"], code: 2, stderr: /missing required argument/ },
    { args: ["table", "dump", "--no-such-option"], code: 2, stderr: /unknown option '--no-such-option'/ },
    { args: ["no-such-command"], code: 2, stderr: /unknown command 'no-such-command'/ },
    { args: ["topology", "check", join(dir, "missing.yaml")], code: 2, stderr: /cannot read the file/ },
    { args: ["table", "dump", "--grpc", "127.0.0.1:99999"], code: 2, stderr: /--grpc must be <host>:<port>/ },
    { args: ["switch", "--grpc", "127.0.0.1:99999"], code: 2, stderr: /--grpc must be <host>:<port>/ },
    {
      args: ["switch", "--grpc", "127.0.0.1:0", "--replay", `1=${join(dir, "not-a-pcap.txt")}`],
      code: 2,
      stderr: /--replay 1=.*not-a-pcap\.txt: .*pcap/,
    },
    {
      args: ["switch", "--grpc", "127.0.0.1:0", "--replay", `1=${join(dir, "missing.pcap")}`],
      code: 2,
      stderr: /--replay 1=.*missing\.pcap: ENOENT/,
    },
    { args: ["watch", "-t", "examples/mesh8.yaml", "--count", "0"], code: 2, stderr: /--count must be a positive integer/ },
    { args: ["demo", "--target", "tofino"], code: 2, stderr: /--target must be auto, embedded, bmv2/ },
    { args: ["net", "up", "-t", "examples/line3.yaml", "--target", "tofino"], code: 2, stderr: /--target must be embedded, bmv2/ },
  ];

  it.each(cases.map((c) => [c.args.join(" "), c] as const))("p4cast %s", async (_name, c) => {
    const r = await p4cast(c.args);
    expect(r.code, r.stderr).toBe(c.code);
    expect(r.stderr).toMatch(c.stderr);
    expect(r.stderr).not.toMatch(stackLine);
  });

  it("--help and --version exit 0", async () => {
    const [h, v, sub] = await Promise.all([p4cast(["--help"]), p4cast(["--version"]), p4cast(["deploy", "--help"])]);
    expect([h.code, v.code, sub.code]).toEqual([0, 0, 0]);
    expect(v.stdout.trim()).toBe("0.1.0");
    expect(sub.stdout).toMatch(/--embedded/);
  });
});
