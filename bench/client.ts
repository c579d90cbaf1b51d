/**
 * Write-throughput benchmark of the P4Runtime client (npm run bench:client).
 * Against the embedded switch in this process ("embedded"), the embedded
 * switch as a process of its own (`p4cast switch`, "embedded-process": like
 * for like with simple_switch_grpc, which is one too; needs `npm run build`)
 * and, when simple_switch_grpc is on PATH, a simple_switch_grpc it starts
 * itself ("bmv2"), it measures in one run, per target:
 *
 *   ceiling  the target's own capacity: pre-serialized WriteRequests of
 *            1,000 inserts each (bytes built before the clock starts), sent
 *            as raw buffers (no client encoding at all) with the same
 *            window of requests in flight as the client uses
 *   (a)      10,000 independent single-entry insert calls (coalesced)
 *   (b)      one bulk insert of 10,000 entries
 *   (c)      a wildcard read of them
 *   (d)      10,000 single-entry delete calls (coalesced)
 *   naive    one WriteRequest per entry, awaited in turn (p4runtime-shell style)
 *
 * Each figure is entries/s from the friendly input (building the inputs is
 * inside the clock). BENCH_WARMUP untimed rounds of every figure (default
 * 2) come first, since JIT compilation makes a cold first round up to
 * three times slower. The machine is shared, so every figure, the ceiling
 * included, is then measured in each of BENCH_ROUNDS rounds (default 15),
 * each after a pause of BENCH_PAUSE_MS (default 200 ms: the previous
 * figure's timers and the switch settle), and the median and the minimum
 * over the rounds are printed, with their fractions of the median ceiling
 * of the same run and target. On the 2-core machine the ceiling alone
 * varies by a fifth from round to round, and with 7 rounds (the default
 * before) the median fraction of (a) moved between 0.80 and 1.01 from one
 * run to the next; 15 rounds leave the medians less at the mercy of a few
 * slow rounds.
 *
 * Garbage: before each figure's clock starts, a minor collection empties
 * the young generation (every figure alike, the ceiling included), so no
 * figure pays for garbage another figure left. Without it, the garbage of
 * the figures before (the wildcard read's decoded entries above all) made
 * a collection land at random in whichever figure came next, and a
 * collection while 10,000 single calls are pending copies all their
 * promises and inputs: several milliseconds of a 50 ms figure, in some
 * rounds and not others. A figure still pays for every collection its own
 * allocation causes; 10,000 single calls allocate about 4 MB (with the
 * caller's entries and its Promise.all), which fits in the young
 * generation, so here they pay none, where a controller issuing such
 * bursts back to back pays one young-generation collection every two to
 * four bursts. BENCH_GC=0 leaves the collector alone (and shows that cost).
 *
 * BENCH_N (10,000), BENCH_NAIVE (2,000), BENCH_ROUNDS, BENCH_WARMUP,
 * BENCH_PAUSE_MS, BENCH_TARGETS (embedded,embedded-process,bmv2) and
 * BENCH_JSON=1 (one JSON line per target) adjust it. The last lines give the
 * ratio of each embedded ceiling to simple_switch_grpc's.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { create, toBinary } from "@bufbuild/protobuf";
import { P4RuntimeClient } from "../src/client/client.js";
import type { EntityInput } from "../src/client/entities/entity.js";
import { toUint128 } from "../src/p4runtime/election.js";
import { Update_Type, WriteRequestSchema } from "../src/proto/gen/p4/v1/p4runtime_pb.js";
import { fixture } from "../test/support/fixtures.js";
import { startTarget, targets, type TargetKind } from "../test/support/targets.js";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { CLI_MAIN } from "../src/lab/bmv2-network.js";
import { SWITCH_NODE_FLAGS } from "../src/switch/process-flags.js";

const N = Number(process.env.BENCH_N ?? 10_000);
const NAIVE = Number(process.env.BENCH_NAIVE ?? 2_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 15));
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 200);
const WARMUP = Math.max(0, Number(process.env.BENCH_WARMUP ?? 2));
const BATCH = 1000;
const WINDOW = 4;
const prog = fixture("bench_tables");

/** A minor collection before each figure (see the header), unless BENCH_GC=0. */
const collectGarbage: () => void = (() => {
  if (process.env.BENCH_GC === "0") return () => undefined;
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (options: { type: "minor" | "major" }) => void;
  return () => gc({ type: "minor" });
})();

const entry = (i: number, port = 1): EntityInput => ({
  kind: "tableEntry",
  table: "host_exact",
  match: { "hdr.ipv4.dst_addr": 0x0a000000 + i },
  action: { name: "set_port", params: { port } },
});

/** Runs `fn` after a short pause (the previous figure's timers and the switch settle) and a minor collection, and returns its seconds. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  await new Promise((r) => setTimeout(r, PAUSE_MS));
  collectGarbage();
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Sends each buffer as one Write with at most `window` in flight. */
async function sendWindowed(c: P4RuntimeClient, requests: readonly Uint8Array[], window: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < requests.length) await c.channel.writeBytes(requests[next++]!, { timeoutMs: 60_000 });
  };
  await Promise.all(Array.from({ length: Math.min(window, requests.length) }, lane));
}

/** Serialized WriteRequests of BATCH updates of `type` for entries 0..N-1. */
function serialized(c: P4RuntimeClient, type: Update_Type): Uint8Array[] {
  const updates = c.encodeUpdates(Array.from({ length: N }, (_, i) => ({ type: "insert" as const, entity: entry(i) })));
  for (const u of updates) u.type = type;
  const out: Uint8Array[] = [];
  for (let i = 0; i < N; i += BATCH) {
    out.push(
      toBinary(
        WriteRequestSchema,
        create(WriteRequestSchema, { deviceId: c.deviceId, electionId: toUint128(c.electionId), updates: updates.slice(i, i + BATCH) }),
      ),
    );
  }
  return out;
}

type Figures = Record<string, number>;

type BenchTarget = TargetKind | "embedded-process";

/** `p4cast switch` as a child process on a free port: the embedded switch with its own process, as simple_switch_grpc has. */
async function startSwitchProcess(): Promise<{ address: string; deviceId: bigint; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...SWITCH_NODE_FLAGS, CLI_MAIN, "switch", "--grpc", "127.0.0.1:0", "--name", "bench", "--log-level", "error"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 20_000;
  const listening = () => /P4Runtime on ([\d.]+:\d+)/.exec(stderr)?.[1];
  while (!listening() && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const address = listening();
  if (!address) {
    child.kill("SIGKILL");
    throw new Error(`p4cast switch did not start: ${stderr}`);
  }
  return {
    address,
    deviceId: 1n,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function run(kind: BenchTarget): Promise<Figures[]> {
  const target = kind === "embedded-process" ? await startSwitchProcess() : await startTarget(kind);
  const c = await P4RuntimeClient.connect({
    address: target.address,
    deviceId: target.deviceId,
    electionId: 1n,
    reconnect: false,
    coalescing: { maxBatch: BATCH, window: WINDOW },
  });
  try {
    await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 1n });
    const inserts = serialized(c, Update_Type.INSERT);
    const deletes = serialized(c, Update_Type.DELETE);
    const rounds: Figures[] = [];
    // Untimed warm-up rounds of every figure (JIT, connection, table memory), as a long-running controller is warm.
    for (let w = 0; w < WARMUP; w++) {
      await sendWindowed(c, inserts, WINDOW);
      await sendWindowed(c, deletes, WINDOW);
      await Promise.all(Array.from({ length: N }, (_, i) => c.insert(entry(i))));
      await sendWindowed(c, deletes, WINDOW);
      await c.write(Array.from({ length: N }, (_, i) => ({ type: "insert" as const, entity: entry(i) })));
      await c.readAll({ kind: "tableEntry", table: "host_exact" });
      await Promise.all(Array.from({ length: N }, (_, i) => c.delete(entry(i))));
    }
    for (let r = 0; r < ROUNDS; r++) {
      const out: Figures = {};
      out.ceiling = N / (await timed(() => sendWindowed(c, inserts, WINDOW)));
      await sendWindowed(c, deletes, WINDOW);

      out.a_single_calls = N / (await timed(() => Promise.all(Array.from({ length: N }, (_, i) => c.insert(entry(i))))));
      await sendWindowed(c, deletes, WINDOW);

      out.b_bulk = N / (await timed(() => c.write(Array.from({ length: N }, (_, i) => ({ type: "insert" as const, entity: entry(i) })))));

      let read = 0;
      out.c_wildcard_read =
        N /
        (await timed(async () => {
          read = (await c.readAll({ kind: "tableEntry", table: "host_exact" })).length;
        }));
      if (read !== N) throw new Error(`wildcard read returned ${read} entries, expected ${N}`);

      out.d_single_deletes = N / (await timed(() => Promise.all(Array.from({ length: N }, (_, i) => c.delete(entry(i))))));

      if (r === 0) {
        out.naive_one_rpc_each =
          NAIVE /
          (await timed(async () => {
            for (let i = 0; i < NAIVE; i++) await c.write([{ type: "insert", entity: entry(i) }]);
          }));
        await c.write(Array.from({ length: NAIVE }, (_, i) => ({ type: "delete" as const, entity: entry(i) })));
      }
      rounds.push(out);
    }
    return rounds;
  } finally {
    c.close();
    await target.stop();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const wanted = process.env.BENCH_TARGETS?.split(",") as BenchTarget[] | undefined;
const rows: string[] = [
  `ceiling: pre-serialized WriteRequests of ${BATCH} inserts sent as raw bytes, ${WINDOW} in flight (the client's window); ` +
    "the target's own capacity",
  `${N} entries per figure (naive: ${NAIVE}); ${WARMUP} untimed warm-up rounds, then ${ROUNDS} rounds; ` +
    "fractions are of the median ceiling of this run",
  process.env.BENCH_GC === "0"
    ? "no collection before each figure (BENCH_GC=0)"
    : "a minor collection before each figure's clock starts (every figure alike)",
];
const kinds: BenchTarget[] = targets();
if (existsSync(CLI_MAIN)) kinds.splice(1, 0, "embedded-process");
else rows.push(`embedded-process: not measured: the CLI is not built (${CLI_MAIN}; npm run build)`);
const ceilings = new Map<BenchTarget, number>();
for (const kind of kinds.filter((k) => !wanted || wanted.includes(k))) {
  const rounds = await run(kind);
  const names = Object.keys(rounds[0]!);
  rows.push(`\n${kind}:                     entries/s (median, min)      of ceiling (median, min)`);
  const summary: Record<string, unknown> = { target: kind, n: N, rounds: ROUNDS };
  const ceiling = median(rounds.map((r) => r.ceiling!));
  ceilings.set(kind, ceiling);
  for (const k of names) {
    const vals = rounds.map((r) => r[k]).filter((v): v is number => v !== undefined);
    const med = median(vals);
    const min = Math.min(...vals);
    const fractions = `${(med / ceiling).toFixed(2).padStart(6)} ${(min / ceiling).toFixed(2).padStart(6)}`;
    rows.push(`  ${k.padEnd(20)} ${med.toFixed(0).padStart(9)} ${min.toFixed(0).padStart(9)}        ${fractions}`);
    summary[k] = {
      median: Math.round(med),
      min: Math.round(min),
      fraction: { median: +(med / ceiling).toFixed(3), min: +(min / ceiling).toFixed(3) },
    };
  }
  const naive = rounds[0]!.naive_one_rpc_each!;
  const single = median(rounds.map((r) => r.a_single_calls!)) / naive;
  const bulk = median(rounds.map((r) => r.b_bulk!)) / naive;
  rows.push(`  coalesced single calls vs one RPC per entry: ${single.toFixed(1)}x; bulk: ${bulk.toFixed(1)}x`);
  if (process.env.BENCH_JSON) console.log(JSON.stringify(summary));
}
const bmv2Ceiling = ceilings.get("bmv2");
if (bmv2Ceiling)
  for (const k of ["embedded", "embedded-process"] as const) {
    const c = ceilings.get(k);
    if (c) rows.push(`${k} ceiling / simple_switch_grpc ceiling: ${(c / bmv2Ceiling).toFixed(2)}`);
  }
console.log(rows.join("\n"));
