/**
 * Write-throughput benchmark of the P4Runtime client (npm run bench:client).
 * Against the embedded switch and, when simple_switch_grpc is on PATH, a
 * simple_switch_grpc it starts itself, it measures in one run:
 *   ceiling  raw batched writes of 1,000 pre-encoded entries
 *   (a)      10,000 independent single-entry insert calls (coalesced)
 *   (b)      one bulk insert of 10,000 entries
 *   (c)      a wildcard read of them
 *   (d)      10,000 single-entry delete calls (coalesced)
 *   naive    one WriteRequest per entry, awaited in turn (p4runtime-shell style)
 * and prints entries/s and each figure as a fraction of the ceiling.
 */
import { P4RuntimeClient } from "../src/client/client.js";
import type { EntityInput } from "../src/client/entities/entity.js";
import { fixture } from "../test/support/fixtures.js";
import { startTarget, targets, type TargetKind } from "../test/support/targets.js";

const N = Number(process.env.BENCH_N ?? 10_000);
const NAIVE = Number(process.env.BENCH_NAIVE ?? 2_000);
const prog = fixture("bench_tables");

const entry = (i: number, port = 1): EntityInput => ({
  kind: "tableEntry",
  table: "host_exact",
  match: { "hdr.ipv4.dst_addr": 0x0a000000 + i },
  action: { name: "set_port", params: { port } },
});

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function clear(c: P4RuntimeClient): Promise<void> {
  const all = await c.readAll({ kind: "tableEntry", table: "host_exact" });
  for (let i = 0; i < all.length; i += 1000) {
    await c.write(all.slice(i, i + 1000).map((e) => ({ type: "delete" as const, entity: { kind: "tableEntry" as const, table: "host_exact", match: { "hdr.ipv4.dst_addr": (e as { match: Record<string, { value: bigint }> }).match["hdr.ipv4.dst_addr"]!.value } } })));
  }
}

async function run(kind: TargetKind): Promise<Record<string, number>> {
  const target = await startTarget(kind);
  const c = await P4RuntimeClient.connect({ address: target.address, deviceId: target.deviceId, electionId: 1n, reconnect: false, coalescing: { maxBatch: 1000, window: 4 } });
  try {
    await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 1n });
    const rate = (n: number, s: number) => n / s;
    const out: Record<string, number> = {};

    const raw = c.encodeUpdates(Array.from({ length: N }, (_, i) => ({ type: "insert" as const, entity: entry(i) })));
    out.ceiling = rate(N, await timed(async () => {
      for (let i = 0; i < N; i += 1000) await c.writeRaw(raw.slice(i, i + 1000));
    }));
    await clear(c);

    out.a_single_calls = rate(N, await timed(() => Promise.all(Array.from({ length: N }, (_, i) => c.insert(entry(i))))));
    await clear(c);

    out.b_bulk = rate(N, await timed(() => c.write(Array.from({ length: N }, (_, i) => ({ type: "insert" as const, entity: entry(i) })))));

    let read = 0;
    out.c_wildcard_read = rate(N, await timed(async () => {
      read = (await c.readAll({ kind: "tableEntry", table: "host_exact" })).length;
    }));
    if (read !== N) throw new Error(`wildcard read returned ${read} entries, expected ${N}`);

    out.d_single_deletes = rate(N, await timed(() => Promise.all(Array.from({ length: N }, (_, i) => c.delete(entry(i))))));

    out.naive_one_rpc_each = rate(NAIVE, await timed(async () => {
      for (let i = 0; i < NAIVE; i++) await c.write([{ type: "insert", entity: entry(i) }]);
    }));
    return out;
  } finally {
    c.close();
    await target.stop();
  }
}

const rows: string[] = [];
for (const kind of targets()) {
  const r = await run(kind);
  const ceil = r.ceiling!;
  rows.push(`\n${kind}: ${N} entries (naive: ${NAIVE})`);
  for (const [k, v] of Object.entries(r)) {
    rows.push(`  ${k.padEnd(20)} ${v.toFixed(0).padStart(9)} entries/s   ${(v / ceil).toFixed(2)} of ceiling`);
  }
  rows.push(`  coalesced single calls vs one RPC per entry: ${(r.a_single_calls! / r.naive_one_rpc_each!).toFixed(1)}x`);
}
console.log(rows.join("\n"));
