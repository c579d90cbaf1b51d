/**
 * Runs the p4cast CLI as a child process (`node --import tsx src/cli/main.ts`)
 * without blocking this process's event loop, so an embedded switch started
 * in-process keeps answering while the CLI talks to it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const main = join(repoRoot, "src", "cli", "main.ts");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (throws with the output when it is not). */
  json<T = any>(): T;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  /** Called with each stderr chunk (e.g. to wait for "capturing"). */
  readonly onStderr?: (text: string) => void;
}

export function p4cast(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`p4cast ${args.join(" ")} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
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
  const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
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
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
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
