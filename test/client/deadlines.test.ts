/**
 * Deadlines other than the client's RPC deadline. The controller sizes that
 * one for entry writes (5 s: a hung switch holds a repair up no longer), but
 * a pipeline push or fetch moves the whole program and a whole-switch state read
 * streams every entry: both take longer on a big switch or a busy machine,
 * and failing them failed whole deploys (bench:deploy's second deploy,
 * bench:heartbeat's 251 switches). Here a client whose deadline is far
 * shorter than either still pushes and reads. On the embedded switch and
 * simple_switch_grpc.
 */
import { afterEach, describe, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { readState } from "../../src/controller/deploy/reconcile.js";
import { loadPipeline } from "../../src/controller/pipeline.js";
import { startTarget, targets, type TestTarget } from "../support/targets.js";

/** The tight client's deadline: shorter than the pipeline push and the read below on either target. */
const TIGHT_MS = 5;
const ENTRIES = 4000;

let target: TestTarget | undefined;
const clients: P4RuntimeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await target?.stop();
  target = undefined;
});

describe.each(targets())("deadlines of long operations on %s", (kind) => {
  it("a pipeline push and a whole-switch read outlast a deadline sized for single writes", async () => {
    target = await startTarget(kind);
    const pipeline = await loadPipeline();
    const connect = async (electionId: bigint, rpcTimeoutMs?: number) => {
      const c = await P4RuntimeClient.connect({
        address: target!.address,
        deviceId: target!.deviceId,
        electionId,
        ...(rpcTimeoutMs !== undefined ? { rpcTimeoutMs } : {}),
      });
      clients.push(c);
      return c;
    };
    const tight = await connect(10n, TIGHT_MS);
    let t0 = performance.now();
    await tight.setPipeline({ p4info: pipeline.p4info, deviceConfig: pipeline.deviceConfig });
    const pushMs = performance.now() - t0;

    tight.close();

    // Entries written by a client with the usual deadline, then read back by a tight one.
    const writer = await connect(20n);
    writer.useP4Info(pipeline.p4info);
    const routes = Array.from({ length: ENTRIES }, (_, i) => ({
      kind: "tableEntry" as const,
      table: "ingress.l3.ipv4_lpm",
      match: { dst_addr: { value: `10.${(i >> 8) & 255}.${i & 255}.0`, prefixLen: 24 } },
      action: { name: "ingress.l3.route_to_nexthop", params: { nexthop_id: 1 } },
    }));
    for (let i = 0; i < routes.length; i += 500) await writer.insert(...routes.slice(i, i + 500));
    writer.close();
    const reader = await connect(30n, TIGHT_MS);
    reader.useP4Info(pipeline.p4info);
    t0 = performance.now();
    const state = await readState(reader);
    const readMs = performance.now() - t0;
    console.log(`[deadlines ${kind}] pipeline push ${pushMs.toFixed(0)} ms, state read ${readMs.toFixed(0)} ms, deadline ${TIGHT_MS} ms`);
    // Both took longer than the client's deadline: without their own they would have failed.
    expect(pushMs).toBeGreaterThan(TIGHT_MS);
    expect(readMs).toBeGreaterThan(TIGHT_MS);
    expect(state.entries.size).toBe(ENTRIES);
  }, 120_000);
});
