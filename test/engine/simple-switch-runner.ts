/**
 * Runs packets through the real BMv2 simple_switch (--use-files, pcap in and
 * out, logging off), configured through simple_switch_CLI, and returns the
 * packets written on each port. Used for byte-for-byte comparisons.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SS_BIN, SS_CLI } from "./toolchain.js";
import { readPcap as readPcapFile, writePcapFile } from "../../src/switch/ports/pcap.js";

export function writePcap(path: string, pkts: readonly Uint8Array[]): void {
  writePcapFile(path, pkts);
}

export function readPcap(path: string): Uint8Array[] {
  return existsSync(path) ? readPcapFile(path, { partial: true }).map((r) => r.data) : [];
}

let portBase = 20000 + Math.floor(Math.random() * 20000);

/** Outputs per port, in the order simple_switch wrote them. */
export async function runSimpleSwitch(
  json: unknown,
  cli: readonly string[],
  ingressPort: number,
  packets: readonly Uint8Array[],
  ports: readonly number[],
): Promise<Map<number, Uint8Array[]>> {
  const dir = mkdtempSync(join(tmpdir(), "p4cast-ss-"));
  const jsonPath = join(dir, "prog.json");
  writeFileSync(jsonPath, JSON.stringify(json));
  const all = [...new Set([ingressPort, ...ports])];
  for (const p of all) writePcap(join(dir, `p${p}_in.pcap`), p === ingressPort ? packets : []);
  const thrift = portBase++;
  // a notifications socket of its own, so that several switches can run at once
  const args = [
    "--use-files",
    "2",
    "--thrift-port",
    String(thrift),
    "--log-level",
    "off",
    "--notifications-addr",
    `ipc://${join(dir, "notifications.ipc")}`,
  ];
  for (const p of all) args.push("-i", `${p}@${join(dir, `p${p}`)}`);
  args.push(jsonPath);
  const sw = spawn(SS_BIN!, args, { stdio: "ignore", cwd: dir });
  const t0 = Date.now();
  try {
    await new Promise((r) => setTimeout(r, 700));
    const [cmd, ...pre] = SS_CLI!;
    if (cli.length) {
      let res: string;
      try {
        res = execFileSync(cmd!, [...pre, "--thrift-port", String(thrift)], {
          input: `${cli.join("\n")}\n`,
          encoding: "utf8",
          timeout: 30_000,
        });
      } catch (e) {
        const x = e as { stdout?: string; stderr?: string };
        throw new Error(`simple_switch_CLI failed:\n${x.stdout ?? ""}\n${x.stderr ?? ""}`);
      }
      if (/Error|Invalid|error/.test(res)) throw new Error(`simple_switch_CLI reported an error:\n${res}`);
    }
    let last = -1;
    let stable = 0;
    const deadline = Date.now() + 30_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 400));
      let total = 0;
      for (const p of all) total += readPcap(join(dir, `p${p}_out.pcap`)).length;
      stable = total === last ? stable + 1 : 0;
      last = total;
      // --use-files 2: nothing is read before two seconds have passed
      if ((stable >= 8 && Date.now() - t0 > 4000) || Date.now() > deadline) break;
    }
    const out = new Map<number, Uint8Array[]>();
    for (const p of all) {
      const l = readPcap(join(dir, `p${p}_out.pcap`));
      if (l.length) out.set(p, l);
    }
    return out;
  } finally {
    sw.kill("SIGKILL");
  }
}
