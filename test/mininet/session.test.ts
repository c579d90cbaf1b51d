/**
 * The whole system in Mininet: examples/line3.yaml up (simple_switch_grpc
 * when on PATH, else the embedded switch), the controller's one-shot
 * `p4cast deploy`, then the session's source host sends UDP to the service
 * address and both clients receive the datagrams through the kernels of the
 * hosts. This checks that the launcher's conventions (gateway MACs and
 * addresses, interface numbering) are the ones the controller programs.
 * Needs root, Mininet and dist/ (built when missing); skips with the reason
 * otherwise.
 */
import { describeUnless } from "../support/skips.js";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { mininetSkipReason, repo, startNetwork, type RunningNetwork, type SwitchKind } from "./support/network.js";

const topology = join(repo, "examples", "line3.yaml");
const main = join(repo, "dist", "cli", "main.js");
const kind: SwitchKind = mininetSkipReason("bmv2") === undefined ? "bmv2" : "embedded";

function distReason(): string | undefined {
  if (!existsSync(main)) spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repo, stdio: "ignore", timeout: 90_000 });
  if (!existsSync(main)) return "dist/ is not built and building it failed (npm run build)";
  if (!spawnSync(process.execPath, [main, "deploy", "--help"], { encoding: "utf8" }).stdout.includes("--topology"))
    return "dist/cli/main.js has no deploy --topology command";
  return undefined;
}

const skipReason = mininetSkipReason(kind) ?? distReason();
if (skipReason) console.log(`[p4cast tests] mininet session: skipped: ${skipReason}`);

/** A UDP listener on `port` in a host; resolves with the first datagram's text, or "" after `ms`. */
function listen(netns: string, port: number, ms: number): { ready: Promise<void>; result: Promise<string> } {
  const child = spawn("ip", [
    "netns",
    "exec",
    netns,
    process.execPath,
    "-e",
    `const s=require("node:dgram").createSocket("udp4");
    s.on("message",(m)=>{process.stdout.write(m.toString());process.exit(0)});
    s.bind(${port},()=>process.stderr.write("up\\n"));
    setTimeout(()=>process.exit(1),${ms});`,
  ]);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((r) => child.stderr.once("data", () => r()));
  const result = new Promise<string>((r) => child.once("exit", () => r(out)));
  return { ready, result };
}

describeUnless(skipReason, `a deployed session in Mininet (line3, ${kind})`, () => {
  let run: RunningNetwork;

  beforeAll(async () => {
    run = await startNetwork({ kind, topology, workdir: `/tmp/p4cast-mininet-test-session`, extraArgs: ["--no-pcap"] });
  }, 120_000);

  afterAll(async () => {
    await run?.stop();
  }, 30_000);

  it("p4cast deploy programs every switch", () => {
    const r = spawnSync(process.execPath, [main, "deploy", "--topology", topology, "--output", "json"], {
      cwd: repo,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 60_000);

  it("the source's datagrams to the service address reach both clients", async () => {
    const clients = ["h2", "h3"].map((h) => listen(`p4cast-${h}`, 5000, 6000));
    await Promise.all(clients.map((c) => c.ready));
    const send = spawnSync(
      "ip",
      [
        "netns",
        "exec",
        "p4cast-h1",
        process.execPath,
        "-e",
        `const s=require("node:dgram").createSocket("udp4");let i=0;
        const t=setInterval(()=>{
          s.send("p4cast-session-"+(i++),5000,"10.0.100.1");
          if(i>8){clearInterval(t);setTimeout(()=>process.exit(0),100)}
        },250)`,
      ],
      { timeout: 10_000 },
    );
    expect(send.status).toBe(0);
    for (const c of clients) expect(await c.result).toMatch(/^p4cast-session-\d+$/);
  }, 30_000);

  it("full-size datagrams (1500-byte IPv4 packets) fit through the encapsulation", async () => {
    const clients = ["h2", "h3"].map((h) => listen(`p4cast-${h}`, 5000, 6000));
    await Promise.all(clients.map((c) => c.ready));
    const send = spawnSync(
      "ip",
      [
        "netns",
        "exec",
        "p4cast-h1",
        process.execPath,
        "-e",
        `const s=require("node:dgram").createSocket("udp4");let i=0;
        const t=setInterval(()=>{
          s.send(Buffer.alloc(1472,120),5000,"10.0.100.1");
          if(++i>8){clearInterval(t);setTimeout(()=>process.exit(0),100)}
        },250)`,
      ],
      { timeout: 10_000 },
    );
    expect(send.status).toBe(0);
    for (const c of clients) expect((await c.result).length).toBe(1472);
  }, 30_000);
});
