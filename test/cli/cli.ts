/**
 * Runs the p4cast CLI as a child process without blocking this process's
 * event loop, so an embedded switch started in-process keeps answering
 * while the CLI talks to it.
 *
 * The process runs the build (dist/cli/main.js, what `npx p4cast` runs)
 * when `make` built it after the last change under src/ — `make test`
 * always does — and the sources through tsx otherwise (vitest run straight
 * after an edit). The build starts in a fraction of a second; tsx compiles
 * every module first, seconds per process on a loaded 2-core machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The node arguments that start the p4cast CLI: the build when it is up to date, else the sources through tsx. */
export const cliEntry: readonly string[] = (() => {
  const built = join(repoRoot, "dist", "cli", "main.js");
  const stamp = join(repoRoot, "dist", ".build-stamp");
  const fresh = existsSync(built) && existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtimeMs(join(repoRoot, "src"));
  return fresh ? [built] : ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts")];
})();

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (throws with the output when it is not). */
  // biome-ignore lint/suspicious/noExplicitAny: a test reads the CLI's JSON output by the shape it expects.
  json<T = any>(): T;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  /** Called with each stderr chunk (e.g. to wait for "capturing"). */
  readonly onStderr?: (text: string) => void;
}

export function p4cast(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliEntry, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`p4cast ${args.join(" ")} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout of p4cast ${args.join(" ")} is not JSON:\n${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
}

/** Connection options for a test target. */
export function at(address: string): string[] {
  return ["--grpc", address, "--device-id", "1"];
}

/** A long-running p4cast (e.g. `deploy --embedded`): its output so far, a wait for a line, and its exit. */
export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout+stderr match `re`; rejects when the process exits first or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal that ended it). */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startP4cast(args: readonly string[]): RunningCli {
  const child = spawn(process.execPath, [...cliEntry, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(out + err)) {
            done();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`p4cast ${args.join(" ")}: no ${re} within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exit.then(({ code, signal }) => {
          if (!re.test(out + err)) {
            done();
            reject(new Error(`p4cast ${args.join(" ")} exited (${code ?? signal}) before ${re}\nstdout: ${out}\nstderr: ${err}`));
          }
        });
        check();
      });
    },
  };
}
