/**
 * Backup replicas in the client's PRE entities (src/client/entities/pre.ts):
 * a multicast group's replicas and their backups survive encoding and
 * decoding whatever the values (property), backups keep their order, a
 * clone session refuses them, and replicaSetText is the same for the same
 * set in any replica order and differs when a backup differs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apiVersionAtLeast } from "../../src/client/client.js";
import {
  decodeMulticastGroup,
  encodeCloneSession,
  encodeMulticastGroup,
  replicaSetText,
  type ReplicaValue,
} from "../../src/client/entities/pre.js";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const port = fc.integer({ min: 0, max: 511 });
const replica: fc.Arbitrary<ReplicaValue> = fc.record(
  {
    port,
    instance: u32,
    backups: fc.array(fc.record({ port, instance: u32 }), { maxLength: 3 }),
  },
  { requiredKeys: ["port", "instance"] },
);
const replicas = fc.uniqueArray(replica, { selector: (r) => `${r.port}/${r.instance}`, maxLength: 6 });

describe("multicast replicas with backups", () => {
  it("encode then decode gives the replicas back, backups in order, none where there were none (property)", () => {
    fc.assert(
      fc.property(replicas, fc.constantFrom("bytes" as const, "uint32" as const), (rs, enc) => {
        const back = decodeMulticastGroup(encodeMulticastGroup({ groupId: 7, replicas: rs }, enc));
        expect(back.replicas).toEqual(
          rs.map((r) =>
            r.backups?.length ? { port: r.port, instance: r.instance, backups: r.backups } : { port: r.port, instance: r.instance },
          ),
        );
      }),
    );
  });

  it("a backup's port or instance out of range is refused, naming the replica and the backup", () => {
    expect(() => encodeMulticastGroup({ groupId: 1, replicas: [{ port: 1, instance: 1, backups: [{ port: 2 }, { port: -1 }] }] })).toThrow(
      /replica \(port 1, instance 1\) backup 1: port -1/,
    );
  });

  it("a clone session's replicas cannot have backups", () => {
    expect(() => encodeCloneSession({ sessionId: 3, replicas: [{ port: 1, backups: [{ port: 2 }] }] })).toThrow(
      /clone session 3: replica \(port 1\) has backups/,
    );
  });

  it("replicaSetText: one text per set, whatever the replica order; backups count, in their order", () => {
    fc.assert(
      fc.property(replicas, (rs) => {
        expect(replicaSetText([...rs].reverse())).toBe(replicaSetText(rs));
      }),
    );
    const a = [
      { port: 3, instance: 3, backups: [{ port: 1, instance: 515 }] },
      { port: 4, instance: 4 },
    ];
    expect(replicaSetText(a)).toBe("[3:3 (1:515), 4:4]");
    expect(
      replicaSetText([
        { port: 3, instance: 3 },
        { port: 4, instance: 4 },
      ]),
    ).not.toBe(replicaSetText(a));
    expect(
      replicaSetText([
        {
          port: 3,
          instance: 3,
          backups: [
            { port: 2, instance: 9 },
            { port: 1, instance: 515 },
          ],
        },
      ]),
    ).not.toBe(
      replicaSetText([
        {
          port: 3,
          instance: 3,
          backups: [
            { port: 1, instance: 515 },
            { port: 2, instance: 9 },
          ],
        },
      ]),
    );
  });
});

describe("which servers keep backups (P4Runtime 1.5 and later)", () => {
  it("reads the Capabilities version: major.minor at least 1.5", () => {
    expect(apiVersionAtLeast("1.5.0", 1, 5)).toBe(true);
    expect(apiVersionAtLeast("1.6.1-dev", 1, 5)).toBe(true);
    expect(apiVersionAtLeast("2.0.0", 1, 5)).toBe(true);
    // PI (simple_switch_grpc) says 1.3.0; some builds 1.4.1.
    expect(apiVersionAtLeast("1.3.0", 1, 5)).toBe(false);
    expect(apiVersionAtLeast("1.4.1", 1, 5)).toBe(false);
    expect(apiVersionAtLeast("", 1, 5)).toBe(false);
    expect(apiVersionAtLeast("v1.5", 1, 5)).toBe(false);
  });
});
