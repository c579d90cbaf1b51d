/**
 * `p4cast switch`: runs the embedded switch as a process, like
 * simple_switch_grpc: a P4Runtime server on --grpc, an optional pipeline
 * loaded at start (--json with --p4info), raw Linux interfaces as ports
 * (--interface, as simple_switch's -i), pcap capture per port, and pcap
 * replay into ports.
 *
 * Port counters (raw interfaces): frames lost outside the pipeline (the
 * kernel's receive-queue drops, send failures) are logged at error level
 * when they happen (checked every 2 s) and at exit. `--stats <seconds>`
 * prints every port's counters periodically and at exit; SIGUSR2 prints
 * them at once, with or without --stats. Each print is a block
 *   [s1] stats #3 port=1 name=s1-port1 rxFrames=… kernelPackets=… kernelDrops=… txFrames=… txNoBuffer=… …
 *   [s1] stats #3 end ports=2
 * on stderr (parsePortStats reads a line back).
 */
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { EmbeddedSwitch, type LogLevel } from "../../switch/embedded-switch.js";
import { P4CAST_VERDICT_DIGEST } from "../../switch/port-verdicts.js";
import { readPcap } from "../../switch/ports/pcap.js";
import { parseInterfaceSpec, RawSocketPort } from "../../switch/ports/raw-socket.js";
import { loadP4Info } from "../../p4runtime/p4info/load.js";
import { ForwardingPipelineConfigSchema, ForwardingPipelineConfig_CookieSchema } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { CliError, EXIT } from "../output.js";
import { parseAddress } from "../connect.js";

interface SwitchOptions {
  json?: string;
  p4info?: string;
  grpc: string;
  deviceId: string;
  cpuPort: string;
  logLevel: LogLevel;
  pcapDir?: string;
  replay: string[];
  name: string;
  interface: string[];
  stats?: string;
  portVerdicts: string | false;
}

export function registerSwitch(program: Command): void {
  program
    .command("switch")
    .description("run the embedded switch (BMv2 JSON on the TypeScript engine) behind a P4Runtime gRPC server")
    .option("--json <file>", "BMv2 JSON to load at start (needs --p4info)")
    .option("--p4info <file>", "P4Info of --json (text, JSON or binary)")
    .option("--grpc <address>", "P4Runtime server address", "127.0.0.1:9559")
    .option("--device-id <id>", "P4Runtime device id", "1")
    .option("--cpu-port <port>", "CPU port for packet-in/out", "255")
    .option("--name <name>", "switch name (logs, pcap file names)", "s1")
    .option("--log-level <level>", "off | error | info | debug", "info")
    .option("--pcap-dir <dir>", "write <name>-port<N>-{in,out}.pcap for every port")
    .option(
      "--interface <port@ifname...>",
      "attach a Linux interface as a port via a raw socket (root; native/afpacket/build.sh), e.g. 1@s1-eth1",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--stats <seconds>",
      "print every port's counters (frames in/out, the kernel's drops, send failures) every <seconds> (0: at exit and on SIGUSR2 only)",
    )
    .option(
      "--port-verdicts <digest>",
      "the digest whose heartbeat verdicts mark a link's port down for backup replicas and watch ports (none: --no-port-verdicts)",
      P4CAST_VERDICT_DIGEST,
    )
    .option("--no-port-verdicts", "heartbeat verdicts leave port status alone")
    .option(
      "--replay <port=file...>",
      "after start, inject the frames of a pcap file into a port",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .action(async (o: SwitchOptions) => {
      if (!["off", "error", "info", "debug"].includes(o.logLevel))
        throw new CliError(`--log-level must be off, error, info or debug (got "${o.logLevel}")`, EXIT.usage);
      if (!!o.json !== !!o.p4info) throw new CliError("--json and --p4info go together: the P4Info names the JSON's objects", EXIT.usage);
      parseAddress(o.grpc, "--grpc", { listen: true });
      const statsEvery = o.stats === undefined ? undefined : Number(o.stats);
      if (statsEvery !== undefined && !(Number.isFinite(statsEvery) && statsEvery >= 0))
        throw new CliError(`--stats wants seconds >= 0 (got "${o.stats}")`, EXIT.usage);
      const deviceId = parseInteger(o.deviceId, "--device-id");
      // Replay files are read before the switch starts: a bad one is bad usage.
      const replays = o.replay.map((r) => {
        const rm = /^(\d+)=(.+)$/.exec(r);
        if (!rm) throw new CliError(`--replay wants <port>=<file.pcap>, got "${r}"`, EXIT.usage);
        try {
          return { port: Number(rm[1]), frames: readPcap(rm[2]!).map((rec) => rec.data) };
        } catch (e) {
          throw new CliError(
            `--replay ${r}: ${e instanceof Error ? e.message : String(e)}`,
            EXIT.usage,
            "--replay takes a pcap file (libpcap format, e.g. written by tcpdump -w or --pcap-dir)",
          );
        }
      });
      const cpuPort = Number(parseInteger(o.cpuPort, "--cpu-port"));
      const sw = new EmbeddedSwitch({
        name: o.name,
        deviceId,
        cpuPort,
        logLevel: o.logLevel,
        ...(o.pcapDir ? { pcapDir: o.pcapDir } : {}),
        ...(o.portVerdicts ? { portVerdictDigest: o.portVerdicts } : {}),
      });
      // Before anything can be asked for (SIGUSR2's default action would end the process).
      let printed = 0;
      const printStats = () => {
        const n = ++printed;
        const lines = sw.portStatsLines();
        process.stderr.write(
          `${[...lines.map((l) => `[${o.name}] stats #${n} ${l}`), `[${o.name}] stats #${n} end ports=${lines.length}`].join("\n")}\n`,
        );
      };
      process.on("SIGUSR2", printStats);
      if (o.json && o.p4info) {
        const p4info = await loadP4Info(o.p4info);
        const json = readFileSync(o.json);
        sw.device.preload(
          create(ForwardingPipelineConfigSchema, {
            p4info,
            p4DeviceConfig: new Uint8Array(json),
            cookie: create(ForwardingPipelineConfig_CookieSchema, { cookie: 0n }),
          }),
        );
      }
      for (const spec of o.interface) {
        let parsed: { port: number; ifname: string };
        try {
          parsed = parseInterfaceSpec(spec);
        } catch (e) {
          throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
        }
        const { port, ifname } = parsed;
        sw.attach(port, new RawSocketPort(ifname, { name: `${o.name}-port${port}` }));
      }
      let bound: number;
      try {
        bound = await sw.listen(o.grpc);
      } catch (e) {
        await sw.close();
        throw new CliError(
          e instanceof Error ? e.message : String(e),
          EXIT.failed,
          "is another switch listening on that address? pick another --grpc",
        );
      }
      process.stderr.write(
        `p4cast switch ${o.name}: P4Runtime on ${o.grpc.replace(/:\d+$/, `:${bound}`)}, device ${deviceId}, CPU port ${cpuPort}\n`,
      );
      for (const r of replays) for (const f of r.frames) sw.inject(r.port, f);
      sw.watchDrops();
      if (statsEvery !== undefined && statsEvery > 0) setInterval(printStats, statsEvery * 1000).unref();
      const stop = () => {
        if (statsEvery !== undefined) printStats();
        void sw.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

export function parseInteger(v: string, what: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) throw new CliError(`${what} must be a non-negative integer (got "${v}")`, EXIT.usage);
  return BigInt(v.trim());
}
