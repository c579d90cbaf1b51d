/**
 * A long outage: a last hop is killed and stays dead for 90 s (the time in
 * which grpc-js's own connection backoff, left alone, grows to half a
 * minute) while `p4cast deploy --run` goes on. Re-programming starts within
 * 2 s of the switch listening again, and its clients get the sessions again.
 * P4CAST_FAULT_OUTAGE_S shortens the outage for a quick local run.
 */
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { describeUnless } from "../support/skips.js";
import { CLI_MAIN } from "../../src/lab/bmv2-network.js";
import {
  faultKinds,
  hostLossNote,
  lossReport,
  sendStreams,
  sessionStream,
  settleAll,
  startFaultLab,
  type FaultLab,
  type Kind,
} from "./support.js";

const { kinds, skipped } = faultKinds();
for (const why of skipped) console.log(`[p4cast tests] fault suite (long outage) skipped for ${why}`);
const OUTAGE_S = Number(process.env.P4CAST_FAULT_OUTAGE_S ?? 90);

let lab: FaultLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

async function outage(kind: Kind): Promise<void> {
  lab = await startFaultLab(kind);
  const ctl = await lab.startController(10);
  const sw = "s8";
  const killedAt = performance.now();
  await lab.net.killSwitch(sw);
  await ctl.waitFor(new RegExp(`${sw}: stream lost`), 10_000, killedAt);
  await ctl.waitFor(/repair after \S+ down: /, 10_000, killedAt);
  // `p4cast status` shows what the running controller knows: the switch unreachable, its links down and why.
  const status = spawnSync(process.execPath, [CLI_MAIN, "status", "-t", lab.file, "--output", "json", "--no-links"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const shown = JSON.parse(status.stdout) as {
    controllers: {
      state: { switches: { name: string; reachable: boolean; inSync: boolean }[]; downLinks: { name: string; reasons: string[] }[] };
    }[];
  };
  expect(shown.controllers).toHaveLength(1);
  const health = shown.controllers[0]!.state;
  expect(health.switches.find((x) => x.name === sw)).toMatchObject({ reachable: false, inSync: false });
  expect(health.downLinks.filter((l) => l.reasons.includes(`${sw} unreachable`)).length).toBe(2);
  await new Promise((r) => setTimeout(r, OUTAGE_S * 1000));
  expect(ctl.alive, `the controller exited during the outage: ${JSON.stringify(ctl.exit)}`).toBe(true);
  const returnedAt = performance.now();
  await lab.net.startSwitch(sw);
  // The bound runs from when the switch answers (startSwitch returns once its gRPC port accepts); the controller may
  // reach it before startSwitch has returned on a busy machine, so its lines are looked for from the start.
  const listening = performance.now();
  const started = await ctl.waitFor(new RegExp(`${sw}: reconnected; re-programming it`), 20_000, returnedAt);
  const done = await ctl.waitFor(new RegExp(`${sw}: re-programmed`), 20_000, returnedAt);
  const startMs = Math.max(0, started.loggedAtMs - listening);
  console.log(
    `[faults] ${kind}: ${sw} down ${OUTAGE_S} s; re-programming started ${startMs.toFixed(0)} ms ` +
      `and ended ${(done.loggedAtMs - listening).toFixed(0)} ms after it listened again`,
  );
  expect(startMs).toBeLessThan(2_000);
  // Its links come back and its clients get both sessions again.
  await ctl.waitFor(/repair after \S+ up: /, 20_000, done.atMs);
  const t = lab.topology;
  const streams = t.sessions.map((s) => sessionStream(lab!, s));
  await new Promise((r) => setTimeout(r, 200));
  await sendStreams(streams, 200, 5);
  await settleAll(streams);
  for (const st of streams) expect(lossReport(st, 200), hostLossNote(lab!)).toEqual([]);
  expect(ctl.alive).toBe(true);
}

if (kinds.length === 0) describeUnless(skipped.join("; "), "fault suite: long outage", () => undefined);

describe.each(kinds)("fault suite: long outage (%s switches)", (kind) => {
  it(`a last hop down for ${OUTAGE_S} s is re-programmed within 2 s of its return`, () => outage(kind), (OUTAGE_S + 90) * 1000);
});
