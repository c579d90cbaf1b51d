/**
 * `p4cast topology check|resolve`: validates a topology file (every problem
 * with its path) and prints the addresses it leaves implicit (port MACs,
 * gateways, interface names) — what Mininet's launcher reads.
 */
import type { Command } from "commander";
import { loadTopology } from "../../controller/topology/load.js";
import { resolve } from "../../controller/topology/addressing.js";
import { plural, printRows, toJson } from "../output.js";
import { protectionWarnings } from "../coverage.js";

export function registerTopology(program: Command): void {
  const cmd = program.command("topology").description("check a topology file, or print its derived addresses");
  cmd
    .command("check <file>")
    .description("validate the file; exit 2 with every problem and its path")
    .action((file: string) => {
      const t = loadTopology(file);
      process.stdout.write(
        `${file}: ok (${plural(t.switches.length, "switch", "switches")}, ${plural(t.hosts.length, "host")}, ` +
          `${plural(t.links.length, "link")}, ${plural(t.sessions.length, "session")})\n`,
      );
      for (const w of protectionWarnings(t)) process.stdout.write(`warning: ${w}\n`);
    });
  cmd
    .command("resolve <file>")
    .description("print the derived addresses (JSON for scripts, or tables)")
    .option("--output <format>", "table | json", "json")
    .action((file: string, o: { output: "table" | "json" }) => {
      const r = resolve(loadTopology(file));
      if (o.output === "json") {
        process.stdout.write(`${toJson(r)}\n`);
        return;
      }
      printRows(
        "table",
        ["host", "switch port", "interface", "gateway MAC", "gateway IPv4", "gateway IPv6"],
        r.hosts.map((h) => [h.name, `${h.switch}:${h.port}`, h.interface, h.gatewayMac, h.gatewayV4 ?? "-", h.gatewayV6 ?? "-"]),
        r.hosts,
      );
    });
}
