/**
 * Where a running controller (`deploy --run`) leaves what it knows, for
 * `status` to show: one JSON file per controller in a run directory
 * (P4CAST_RUN_DIR, else p4cast-run-<uid> under the system's temporary
 * directory), named after the topology file it runs and its election id,
 * rewritten atomically (write, then rename) every second and at every
 * change. A file whose process is gone is ignored and removed.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ControllerState } from "../controller/controller.js";

/** A value as JSON gives it back: 64-bit and larger integers as decimal strings. */
export type Serialized<T> = T extends bigint
  ? string
  : T extends readonly (infer U)[]
    ? readonly Serialized<U>[]
    : T extends object
      ? { readonly [K in keyof T]: Serialized<T[K]> }
      : T;

export interface RunStateFile {
  readonly pid: number;
  readonly topology: string;
  readonly updatedAt: string;
  /** The controller's live view (deploy --run --http), for status and watch. */
  readonly http?: string;
  readonly state: Serialized<ControllerState>;
}

export function runDir(): string {
  return process.env.P4CAST_RUN_DIR ?? join(tmpdir(), `p4cast-run-${process.getuid?.() ?? "user"}`);
}

function topologyKey(topologyFile: string): string {
  return createHash("sha256").update(resolve(topologyFile)).digest("hex").slice(0, 16);
}

const bigints = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

/** Keeps the state file of one running controller up to date; `stop` removes it. */
export function publishRunState(topologyFile: string, state: () => ControllerState, http?: string): { update(): void; stop(): void } {
  const dir = runDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let file: string | undefined;
  const update = () => {
    const s = state();
    file ??= join(dir, `${topologyKey(topologyFile)}-${s.electionId}.json`);
    const body = {
      pid: process.pid,
      topology: resolve(topologyFile),
      updatedAt: new Date().toISOString(),
      ...(http ? { http } : {}),
      state: s,
    };
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(body, bigints, 2));
    renameSync(tmp, file);
  };
  update();
  const timer = setInterval(update, 1000);
  timer.unref();
  return {
    update,
    stop: () => {
      clearInterval(timer);
      if (file) rmSync(file, { force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The states of the controllers running `topologyFile` now (highest election id first). */
export function readRunStates(topologyFile: string): RunStateFile[] {
  const dir = runDir();
  const key = topologyKey(topologyFile);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(`${key}-`) && n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: RunStateFile[] = [];
  for (const n of names) {
    try {
      const f = JSON.parse(readFileSync(join(dir, n), "utf8")) as RunStateFile;
      if (alive(f.pid)) out.push(f);
      else rmSync(join(dir, n), { force: true });
    } catch {
      // being rewritten or not ours: skip
    }
  }
  return out.sort((a, b) => Number(BigInt(b.state.electionId) - BigInt(a.state.electionId)));
}
