/**
 * A copy of a topology file whose switches listen on free loopback ports, so
 * that test files running in parallel (and a developer's own `deploy
 * --embedded` on the file's addresses) never collide.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parse, stringify } from "yaml";

/** `n` distinct free loopback ports (all held open until every one is picked). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

export interface TopologyCopy {
  readonly path: string;
  /** Switch name → its P4Runtime address in the copy. */
  readonly grpc: ReadonlyMap<string, string>;
  remove(): void;
}

export async function topologyWithFreePorts(file: string): Promise<TopologyCopy> {
  const doc = parse(readFileSync(file, "utf8")) as { switches: { name: string; grpc: string; thrift?: string }[] };
  const ports = await freePorts(doc.switches.length * 2);
  const grpc = new Map<string, string>();
  doc.switches.forEach((s, i) => {
    s.grpc = `127.0.0.1:${ports[2 * i]}`;
    s.thrift = `127.0.0.1:${ports[2 * i + 1]}`;
    grpc.set(s.name, s.grpc);
  });
  const dir = mkdtempSync(join(tmpdir(), "p4cast-topo-"));
  const path = join(dir, basename(file).replace(/\.json$/, ".yaml"));
  writeFileSync(path, stringify(doc));
  return { path, grpc, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
