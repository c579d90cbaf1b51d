/**
 * The live view's lab: mesh8 on embedded switches in this process (or on
 * simple_switch_grpc processes joined by veth pairs: root), a controller
 * with heartbeats, and its live server on a free loopback port.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Controller, type FailoverReport } from "../../src/controller/controller.js";
import { EmbeddedNetwork } from "../../src/lab/embedded-network.js";
import { Bmv2Network } from "../../src/lab/bmv2-network.js";
import { LiveServer } from "../../src/controller/live/server.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { loadTopology } from "../../src/controller/topology/load.js";
import type { Topology } from "../../src/controller/topology/schema.js";

export const repoRoot = join(import.meta.dirname, "..", "..");

/** Where this suite leaves what it produces (screenshots): test-output/live/, ignored by git. */
export function outputDir(): string {
  const dir = join(repoRoot, "test-output", "live");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Debian's chromium, or CHROMIUM_PATH; undefined when present. */
export function chromiumMissing(): { path: string; missing?: string } {
  const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  return existsSync(path)
    ? { path }
    : {
        path,
        missing: `missing chromium: ${path} not found (apt-get install chromium, as root; make test installs it; or set CHROMIUM_PATH)`,
      };
}

export type LabKind = "embedded" | "bmv2";

/**
 * mesh8 with heartbeats a busy two-core machine keeps up with (no spurious verdicts;
 * eight simple_switch_grpc processes get a longer interval).
 */
export function mesh8(kind: LabKind = "embedded"): Topology {
  const t = loadTopology(join(repoRoot, "examples", "mesh8.yaml"));
  return { ...t, heartbeat: { intervalMs: kind === "bmv2" ? 200 : 100, missThreshold: 5, mode: "fast" } };
}

export interface LiveLab {
  readonly kind: LabKind;
  readonly topology: Topology;
  readonly net: EmbeddedNetwork | Bmv2Network;
  readonly ctl: Controller;
  readonly live: LiveServer;
  readonly failovers: (FailoverReport & { atMs: number })[];
  /** Controller log lines with the time they were written (performance.now()). */
  readonly log: { atMs: number; text: string }[];
  stop(): Promise<void>;
}

export async function startLiveLab(t: Topology = mesh8(), o: { countersMs?: number; kind?: LabKind } = {}): Promise<LiveLab> {
  const kind = o.kind ?? "embedded";
  const net = kind === "bmv2" ? await Bmv2Network.start(t) : await EmbeddedNetwork.start(t);
  const log: { atMs: number; text: string }[] = [];
  const ctl = new Controller({
    topology: t,
    pipeline: await loadPipeline(),
    grpcAddress: net.grpcAddress,
    // Eight simple_switch_grpc processes loading the pipeline on a shared machine can take longer than the 5 s default.
    ...(net instanceof Bmv2Network ? { thriftAddress: net.thriftAddress, rpcTimeoutMs: 30_000 } : {}),
    electionId: 10n,
    log: (text) => log.push({ atMs: performance.now(), text }),
  });
  const failovers: LiveLab["failovers"] = [];
  ctl.on("failover", (r) => failovers.push({ ...r, atMs: performance.now() }));
  let live: LiveServer | undefined;
  try {
    live = await LiveServer.start(ctl, { address: "127.0.0.1:0", ...(o.countersMs ? { countersMs: o.countersMs } : {}) });
    await ctl.connect();
    await ctl.deploy();
    ctl.startHeartbeats();
  } catch (e) {
    await live?.close();
    await ctl.close();
    await net.stop();
    throw e;
  }
  return {
    kind,
    topology: t,
    net,
    ctl,
    live,
    failovers,
    log,
    async stop() {
      await live!.close();
      await ctl.close();
      await net.stop();
    },
  };
}

/** Waits until `ok()` holds, polling every `everyMs`; throws `what` after `timeoutMs`. */
export async function until(ok: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Tree edges "from→to" of a session in the controller's plan, sorted. */
export function planTree(ctl: Controller, session: number): string[] {
  const sp = ctl.currentPlan?.sessions.get(session);
  return sp ? [...sp.tree.children].flatMap(([from, adj]) => adj.map((a) => `${from}→${a.to}`)).sort() : [];
}
