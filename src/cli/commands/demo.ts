/**
 * `p4cast demo`: a short end-to-end run of the client against a switch. By
 * default it starts the embedded switch in-process; --target points it at a
 * running P4Runtime server (for example simple_switch_grpc). It pushes a
 * pipeline, writes entries by name, sends traffic (embedded switch), reads
 * the counters back and prints what it saw.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { P4RuntimeClient } from "../../client/client.js";
import { loadP4Info } from "../../client/p4info/load.js";
import type { DecodedOf } from "../../client/entities/entity.js";
import { EmbeddedSwitch } from "../../switch/embedded-switch.js";
import { HostPort, VirtualLink } from "../../switch/ports/virtual-link.js";
import { CliError, EXIT, printRows, type OutputFormat } from "../output.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

interface DemoOptions {
  target?: string;
  deviceId: string;
  output: OutputFormat;
}

/** A minimal IPv4/UDP frame. */
function udpFrame(dst: string, payload: string): Uint8Array {
  const ip = dst.split(".").map(Number);
  const body = Buffer.from(payload);
  const f = Buffer.alloc(14 + 20 + 8 + body.length);
  Buffer.from("0000000000020000000000010800", "hex").copy(f, 0);
  f.writeUInt8(0x45, 14);
  f.writeUInt16BE(20 + 8 + body.length, 16);
  f.writeUInt8(64, 22);
  f.writeUInt8(17, 23);
  Buffer.from([10, 0, 1, 1]).copy(f, 26);
  Buffer.from(ip).copy(f, 30);
  f.writeUInt16BE(5000, 34);
  f.writeUInt16BE(6000, 36);
  f.writeUInt16BE(8 + body.length, 38);
  body.copy(f, 42);
  return new Uint8Array(f);
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("push a pipeline, program it by name, send traffic and read counters (embedded switch unless --target)")
    .option("--target <address>", "use a running P4Runtime server instead of the embedded switch")
    .option("--device-id <id>", "device id of --target", "1")
    .option("--output <format>", "table | json", "table")
    .action(async (o: DemoOptions) => {
      const build = join(root, "test", "fixtures", "p4", "build");
      const jsonPath = join(build, "runtime_test.json");
      const p4infoPath = join(build, "runtime_test.p4info.txtpb");
      if (!existsSync(jsonPath) || !existsSync(p4infoPath)) {
        throw new CliError(`the compiled demo program is missing (${jsonPath})`, EXIT.failed, "run `make fixtures` with p4c installed, or use a fresh clone");
      }
      let sw: EmbeddedSwitch | undefined;
      const hosts = new Map<number, HostPort>();
      let address = o.target;
      if (!address) {
        sw = new EmbeddedSwitch({ name: "demo", deviceId: 1n, cpuPort: 255, logLevel: "error" });
        for (const p of [1, 2]) {
          const link = new VirtualLink(`demo-eth${p}`, `h${p}`);
          sw.attach(p, link.a);
          hosts.set(p, new HostPort(link.b));
        }
        address = `127.0.0.1:${await sw.listen("127.0.0.1:0")}`;
      }
      const client = await P4RuntimeClient.connect({ address, deviceId: sw ? 1n : BigInt(o.deviceId), electionId: 1n, reconnect: false });
      try {
        if (!client.isPrimary) throw new CliError(`another controller is primary on ${address}`, EXIT.failed);
        const pushed = await client.setPipeline({ p4info: await loadP4Info(p4infoPath), deviceConfig: readFileSync(jsonPath), cookie: 0xdeadbeefn });
        await client.insert(
          { kind: "tableEntry", table: "ipv4_lpm", match: { "hdr.ipv4.dst_addr": "10.0.2.0/24" }, action: { name: "set_nhop", params: { dmac: "00:00:00:00:02:02", port: 2 } } },
          { kind: "tableEntry", table: "ipv4_lpm", match: { "hdr.ipv4.dst_addr": "10.0.0.0/8" }, action: { name: "drop" } },
        );
        let delivered = 0;
        if (sw) {
          for (let i = 0; i < 5; i++) hosts.get(1)!.send(udpFrame("10.0.2.7", `hello ${i}`));
          for (let i = 0; i < 3; i++) hosts.get(1)!.send(udpFrame("10.9.9.9", `dropped ${i}`));
          await hosts.get(2)!.waitFor(5, 2000);
          delivered = hosts.get(2)!.received.length;
        }
        const entries = (await client.readAll({ kind: "tableEntry", table: "ipv4_lpm" })) as DecodedOf<"tableEntry">[];
        const counters = (await client.readAll({ kind: "counterEntry", counter: "port_counter", index: 1 })) as DecodedOf<"counterEntry">[];
        const rows = entries.map((e) => [e.table, Object.entries(e.match).map(([k, v]) => `${k}=${v.kind === "lpm" ? `${v.value}/${v.prefixLen}` : ""}`).join(" "), e.action?.kind === "action" ? e.action.name : ""]);
        printRows(o.output, ["table", "match", "action"], rows, {
          target: sw ? "embedded" : address,
          pipelinePushed: pushed,
          entries,
          delivered,
          portCounter: counters[0]?.data,
        });
        if (o.output === "table") {
          process.stdout.write(`target: ${sw ? "embedded switch (in-process)" : address}; pipeline ${pushed ? "pushed" : "already there (cookie matched)"}\n`);
          if (sw) process.stdout.write(`sent 8 frames on port 1: ${delivered} delivered on port 2 (5 expected), 3 dropped by the /8 route\n`);
          process.stdout.write(`port 1 counter: ${counters[0]?.data.packets ?? 0n} packets, ${counters[0]?.data.bytes ?? 0n} bytes\n`);
        }
        if (sw && delivered !== 5) throw new CliError(`expected 5 frames on port 2, got ${delivered}`);
      } finally {
        client.close();
        await sw?.close();
      }
    });
}
