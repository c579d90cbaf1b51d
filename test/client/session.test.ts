/**
 * Connection behaviour: reconnect with backoff after the switch restarts
 * (with an event so the application re-pushes its state), TLS and mutual
 * TLS, P4Info loading and the name index, the backoff policy.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { P4RuntimeClient } from "../../src/client/client.js";
import { Backoff } from "../../src/client/transport/backoff.js";
import { parseP4Info } from "../../src/p4runtime/p4info/load.js";
import { P4InfoIndex } from "../../src/p4runtime/p4info/index.js";
import { P4InfoSchema } from "../../src/proto/gen/p4/config/v1/p4info_pb.js";
import { isP4InfoLookupError } from "../../src/p4runtime/errors.js";
import { EmbeddedSwitch } from "../../src/switch/embedded-switch.js";
import { fixture } from "../support/fixtures.js";
import { startTarget, targets } from "../support/targets.js";

const prog = fixture("runtime_test");

describe.each(targets())("reconnect against %s", (kind) => {
  it("re-opens the stream after the switch restarts, re-arbitrates and emits reconnect", async () => {
    const target = await startTarget(kind);
    const c = await P4RuntimeClient.connect({
      address: target.address,
      deviceId: target.deviceId,
      electionId: 3n,
      reconnect: { initialMs: 50, maxMs: 500 },
    });
    try {
      await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 77n });
      const lost = new Promise<void>((r) => c.once("disconnect", () => r()));
      const back = new Promise<boolean>((r) => c.once("reconnect", (s) => r(s.primary)));
      await target.restart();
      await lost;
      expect(await back).toBe(true);
      // The restarted switch has no pipeline: the application re-pushes it.
      expect(await c.pipelineCookie()).toBeUndefined();
      expect(await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 77n })).toBe(true);
      await c.insert({ kind: "tableEntry", table: "l2_exact", match: { "hdr.ethernet.dst_addr": 1 }, action: "drop" });
    } finally {
      c.close();
      await target.stop();
    }
  }, 60_000);
});

describe("TLS", () => {
  let dir: string;
  const pem = (n: string) => readFileSync(join(dir, n));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "p4cast-tls-"));
    const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    ossl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=p4cast-test-ca",
    );
    writeFileSync(join(dir, "san.cnf"), "subjectAltName=DNS:switch.p4cast.test,IP:127.0.0.1\n");
    for (const who of ["server", "client"]) {
      ossl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${who}.key`,
        "-out",
        `${who}.csr`,
        "-subj",
        `/CN=${who === "server" ? "switch.p4cast.test" : "controller"}`,
      );
      ossl(
        "x509",
        "-req",
        "-in",
        `${who}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${who}.pem`,
        "-days",
        "2",
        "-extfile",
        "san.cnf",
      );
    }
  });

  it("connects over TLS with the server's CA", async () => {
    const sw = new EmbeddedSwitch({ deviceId: 1, cpuPort: 255, logLevel: "off" });
    const port = await sw.listen("127.0.0.1:0", { certChain: pem("server.pem"), privateKey: pem("server.key") });
    try {
      const c = await P4RuntimeClient.connect({
        address: `127.0.0.1:${port}`,
        deviceId: 1,
        electionId: 1n,
        reconnect: false,
        tls: { rootCerts: pem("ca.pem"), serverName: "switch.p4cast.test" },
      });
      expect(c.isPrimary).toBe(true);
      c.close();
      await expect(
        P4RuntimeClient.connect({ address: `127.0.0.1:${port}`, deviceId: 1, electionId: 2n, reconnect: false, connectTimeoutMs: 2000 }),
      ).rejects.toThrow();
    } finally {
      await sw.close();
    }
  });

  it("mutual TLS: a client certificate is required", async () => {
    const sw = new EmbeddedSwitch({ deviceId: 1, cpuPort: 255, logLevel: "off" });
    const port = await sw.listen("127.0.0.1:0", { certChain: pem("server.pem"), privateKey: pem("server.key"), clientCa: pem("ca.pem") });
    try {
      const tls = { rootCerts: pem("ca.pem"), serverName: "switch.p4cast.test" };
      const ok = await P4RuntimeClient.connect({
        address: `127.0.0.1:${port}`,
        deviceId: 1,
        electionId: 1n,
        reconnect: false,
        tls: { ...tls, certChain: pem("client.pem"), privateKey: pem("client.key") },
      });
      expect(ok.isPrimary).toBe(true);
      ok.close();
      await expect(
        P4RuntimeClient.connect({
          address: `127.0.0.1:${port}`,
          deviceId: 1,
          electionId: 2n,
          reconnect: false,
          tls,
          connectTimeoutMs: 2000,
        }),
      ).rejects.toThrow();
    } finally {
      await sw.close();
    }
  });
});

describe("P4Info", () => {
  it("loads p4c's text, JSON and binary forms to the same message", () => {
    const fromText = prog.p4info;
    const fromJson = parseP4Info(toJsonString(P4InfoSchema, fromText), "json");
    const fromBin = parseP4Info(toBinary(P4InfoSchema, fromText), "binary");
    expect(toJsonString(P4InfoSchema, fromJson)).toBe(toJsonString(P4InfoSchema, fromText));
    expect(toJsonString(P4InfoSchema, fromBin)).toBe(toJsonString(P4InfoSchema, fromText));
    // Sniffing without a declared format works too.
    expect(parseP4Info(prog.p4infoText).tables.length).toBe(fromText.tables.length);
    expect(() => parseP4Info("tables { bogus_field: 1 }", "text", "x.txt")).toThrow(/cannot parse x\.txt as text P4Info/);
  });

  it("indexes every object kind by full name, alias and unique suffix", () => {
    const ix = new P4InfoIndex(prog.p4info);
    const t = ix.table("TestIngress.ipv4_lpm");
    expect(ix.table("ipv4_lpm")).toBe(t);
    expect(ix.table(t.id)).toBe(t);
    expect(t.matchFields.get("dst_addr").bitwidth).toBe(32);
    expect(t.matchFields.get("hdr.ipv4.dst_addr").kind).toBe("lpm");
    expect(ix.action("set_nhop").params.get("dmac").bitwidth).toBe(48);
    expect(ix.actionProfile("ecmp_selector").withSelector).toBe(true);
    expect(ix.counter("port_counter").size).toBe(64n);
    expect(ix.directCounter("acl_counter").tableId).toBe(ix.table("acl_ternary").id);
    expect(ix.meter("port_meter").unit).toBe("bytes");
    expect(ix.directMeter("acl_meter").unit).toBe("packets");
    expect(ix.register("last_seen").bitwidth).toBe(32);
    expect(ix.register("signed_cells").signed).toBe(true);
    expect(ix.digest("learn_t").name).toBe("learn_t");
    expect(ix.valueSet("udp_ports").size).toBe(4);
    expect(ix.packetMetadata("packet_in").fields.get("ingress_port").bitwidth).toBe(16);
    expect(ix.table("acl_ternary").needsPriority).toBe(true);
    expect(ix.table("l2_exact").supportsIdleTimeout).toBe(true);
    expect(ix.table("const_table").isConst).toBe(true);
    expect(ix.table("ecmp").implementation?.name).toBe("TestIngress.ecmp_selector");
  });

  it("an unknown name lists candidates; an ambiguous suffix lists the matches", () => {
    const ix = new P4InfoIndex(prog.p4info);
    try {
      ix.table("ipv4_lmp");
      expect.unreachable();
    } catch (e) {
      expect(isP4InfoLookupError(e)).toBe(true);
      expect((e as { candidates: string[] }).candidates).toContain("TestIngress.ipv4_lpm");
    }
    expect(() => ix.action("nothing_like_this")).toThrow(/unknown action "nothing_like_this"; known: /);
    const two = new P4InfoIndex(
      create(P4InfoSchema, {
        tables: [
          { preamble: { id: 0x02000001, name: "Ingress.a.fwd", alias: "a.fwd" } },
          { preamble: { id: 0x02000002, name: "Ingress.b.fwd", alias: "b.fwd" } },
        ],
      }),
    );
    expect(() => two.table("fwd")).toThrow(/table name "fwd" is ambiguous: it matches "Ingress\.a\.fwd", "Ingress\.b\.fwd"/);
    expect(two.table("a.fwd").id).toBe(0x02000001);
    expect(two.table("Ingress.b.fwd").id).toBe(0x02000002);
  });
});

describe("backoff", () => {
  it("grows exponentially to the cap, with bounded jitter", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0, random: () => 0.5 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    const j = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0 });
    expect(j.next()).toBe(800);
    expect(() => new Backoff({ initialMs: 0 })).toThrow(/initialMs/);
  });
});
