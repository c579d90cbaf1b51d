/**
 * The published package as a user gets it: `npm pack` of the built package,
 * installed from the tarball into an empty directory, where `p4cast`,
 * `p4cast/client` and `p4cast/proto` load through package.json's `exports`
 * and expose the names src/index.ts, the README and docs document.
 *
 * dist/ is reused when it is newer than every source (`make test` builds it
 * first); otherwise the package is built into a temporary directory, so a
 * stale dist/ is never packed and the checkout is not written. The install
 * makes no network request: the package's dependencies are linked from this
 * checkout's node_modules and npm installs the tarball `--offline`.
 */
import { spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { name: string; dependencies: Record<string, string> };

/** Building and installing on a busy two-core machine takes its time. */
const SETUP_MS = 10 * 60_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking this worker; rejects with its output when it fails. */
function run(cmd: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve({ code, stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited with ${code}\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((e) => newestMtime(join(path, e))));
}

/** dist/ was built after the last change to the sources and the build configuration. */
function distIsFresh(): boolean {
  const index = join(repo, "dist", "index.js");
  if (!existsSync(index)) return false;
  const sources = Math.max(
    newestMtime(join(repo, "src")),
    ...["tsconfig.json", "tsconfig.build.json"].map((f) => statSync(join(repo, f)).mtimeMs),
  );
  return statSync(index).mtimeMs >= sources;
}

/** The names each entry point must export (values; types leave no trace at run time). */
const documented: Record<string, readonly string[]> = {
  p4cast: [
    "P4RuntimeClient",
    "P4RuntimeError",
    "P4ConnectionError",
    "P4ValueError",
    "P4InfoLookupError",
    "Code",
    "isP4RuntimeError",
    "loadP4Info",
    "registerAccess",
    "loadTopology",
    "parseTopology",
    "TopologyError",
    "NetworkGraph",
    "Controller",
    "loadPipeline",
    "planNetwork",
    "PlanError",
    "Bmv2Target",
    "TofinoTarget",
    "EmbeddedSwitch",
    "VirtualLink",
    "EmbeddedNetwork",
  ],
  "p4cast/client": [
    "P4RuntimeClient",
    "P4RuntimeError",
    "loadP4Info",
    "registerAccess",
    "P4InfoIndex",
    "encodeMatch",
    "parseValue",
    "WriteCoalescer",
  ],
  "p4cast/proto": ["p4v1", "p4info", "p4data", "p4types", "rpcStatus", "rpcCode", "grpcServiceDefinition"],
};

/** What the installed package's entry points export, read by a separate Node process in the consumer directory. */
const probe = `
const out = {};
for (const spec of ${JSON.stringify(Object.keys(documented))}) out[spec] = Object.keys(await import(spec)).sort();
const { loadPipeline } = await import("p4cast");
out.cookie = String((await loadPipeline()).cookie);
console.log(JSON.stringify(out));
`;

describe("the npm package", { timeout: 120_000 }, () => {
  let work = "";
  let exported: Record<string, string[]> & { cookie?: string } = {};
  let packed: string[] = [];
  let consumer = "";

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "p4cast-package-"));
    const stage = join(work, "package");
    mkdirSync(stage);

    // What npm packs from this checkout (the `files` of package.json), copied
    // into a stage; dist/ from the checkout when fresh, else built there.
    const fresh = distIsFresh();
    const listed = JSON.parse((await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], repo)).stdout) as {
      files: { path: string }[];
    }[];
    for (const { path } of listed[0]!.files) {
      if (!fresh && path.startsWith("dist/")) continue;
      mkdirSync(dirname(join(stage, path)), { recursive: true });
      cpSync(join(repo, path), join(stage, path));
    }
    if (!fresh)
      await run(
        process.execPath,
        [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json", "--outDir", join(stage, "dist")],
        repo,
      );

    const pack = JSON.parse((await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], stage)).stdout) as {
      filename: string;
      files: { path: string }[];
    }[];
    packed = pack[0]!.files.map((f) => f.path);

    // An empty project with the package's dependencies linked from this
    // checkout, then the tarball installed offline (npm keeps the links:
    // they satisfy the package's ranges).
    consumer = join(work, "consumer");
    mkdirSync(join(consumer, "node_modules"), { recursive: true });
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    for (const dep of Object.keys(pkg.dependencies)) {
      mkdirSync(dirname(join(consumer, "node_modules", dep)), { recursive: true });
      symlinkSync(join(repo, "node_modules", dep), join(consumer, "node_modules", dep), "dir");
    }
    await run(
      "npm",
      [
        "install",
        "--offline",
        "--no-save",
        "--no-package-lock",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        join(work, pack[0]!.filename),
      ],
      consumer,
    );

    exported = JSON.parse((await run(process.execPath, ["--input-type=module", "-e", probe], consumer)).stdout);
  }, SETUP_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds the built entry points, their type declarations and the files the code reads at run time", () => {
    for (const f of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/client/index.js",
      "dist/client/index.d.ts",
      "dist/proto/index.js",
      "dist/cli/main.js",
    ]) {
      expect(packed, f).toContain(f);
    }
    for (const f of ["p4/build/p4cast.json", "p4/build/p4cast.p4info.txtpb", "web/live/index.html", "examples/mesh8.yaml"])
      expect(packed, f).toContain(f);
    expect(packed.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([]);
  });

  it("is installed from the tarball, not linked to the checkout", () => {
    expect(statSync(join(consumer, "node_modules", pkg.name)).isDirectory()).toBe(true);
    expect(existsSync(join(consumer, "node_modules", pkg.name, "dist", "index.js"))).toBe(true);
  });

  for (const [spec, names] of Object.entries(documented)) {
    it(`import("${spec}") loads and exposes the documented names`, () => {
      expect(exported[spec]).toEqual(expect.arrayContaining([...names]));
    });
  }

  it(`import("p4cast") exposes exactly what src/index.ts exports`, async () => {
    const source = await import("../src/index.js");
    expect(exported.p4cast).toEqual(Object.keys(source).sort());
  });

  it("finds the committed pipeline inside the installed package (loadPipeline's default)", () => {
    expect(exported.cookie).toMatch(/^\d+$/);
  });

  it("installs the p4cast command", async () => {
    const r = await run(join(consumer, "node_modules", ".bin", "p4cast"), ["--help"], consumer);
    expect(r.stdout).toContain("deploy");
  });
});
