/**
 * The pieces of the embedded switch's Write path that answer for failures:
 * the per-update status list within its trailer budget, and the undo log
 * that reports every undo step that fails.
 */
import { describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { STATUS_DETAILS_BUDGET, writeFailureStatus } from "../../src/switch/runtime/server.js";
import { UndoLog } from "../../src/switch/runtime/entities/context.js";
import { StatusSchema } from "../../src/proto/gen/google/rpc/status_pb.js";
import { ErrorSchema } from "../../src/proto/gen/p4/v1/p4runtime_pb.js";
import { Code } from "../../src/proto/gen/google/rpc/code_pb.js";
import { STATUS_DETAILS_KEY, decodeStatusDetails, toP4RuntimeError } from "../../src/p4runtime/status.js";
import { Metadata } from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";

const fail = (i: number) => ({
  code: Code.NOT_FOUND,
  message: `table "TestIngress.l2_exact": no entry with this match and priority (update ${i})`,
});
const ok = { code: Code.OK, message: "" };

describe("writeFailureStatus", () => {
  it("lists every update, OK ones included, when the list fits", () => {
    const statuses = [ok, fail(1), ok, fail(3)];
    const { message, details } = writeFailureStatus(statuses);
    expect(message).toBe("2 of 4 updates failed");
    const st = fromBinary(StatusSchema, details);
    expect(st.code).toBe(Code.UNKNOWN);
    expect(st.details.map((a) => anyUnpack(a, ErrorSchema)!.canonicalCode)).toEqual([Code.OK, Code.NOT_FOUND, Code.OK, Code.NOT_FOUND]);
    expect(decodeStatusDetails(details)).toMatchObject({ reported: 4, failures: [{ index: 1 }, { index: 3 }] });
  });

  it("cuts a list that would not fit after the last update that does, and names the failures left out", () => {
    const statuses = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? ok : fail(i)));
    const { message, details } = writeFailureStatus(statuses);
    expect(details.length).toBeLessThanOrEqual(STATUS_DETAILS_BUDGET);
    expect(Buffer.from(details).toString("base64").length).toBeLessThan(65_535 / 2);
    const d = decodeStatusDetails(details)!;
    expect(d.reported).toBeGreaterThan(100);
    expect(d.reported).toBeLessThan(1000);
    // Every listed failure keeps its index.
    expect(d.failures.map((f) => f.index)).toEqual([...Array(d.reported).keys()].filter((i) => i % 3 !== 0));
    const left = [...Array(1000).keys()].filter((i) => i >= d.reported && i % 3 !== 0);
    expect(message).toContain(
      `${left.length} failure(s) of updates #${d.reported}..#999 are not listed (${left
        .slice(0, 10)
        .map((i) => `#${i}`)
        .join(", ")}, ...)`,
    );
    expect(message.length).toBeLessThan(1024);
  });

  it("keeps within a smaller budget too", () => {
    const statuses = Array.from({ length: 100 }, (_, i) => fail(i));
    const { details } = writeFailureStatus(statuses, 4000);
    expect(details.length).toBeLessThanOrEqual(4000);
    expect(decodeStatusDetails(details)!.reported).toBeGreaterThan(10);
  });
});

describe("UndoLog", () => {
  it("runs every step last first, and returns each failure with the update it belongs to", () => {
    const names = ["INSERT tableEntry", "DELETE tableEntry", "MODIFY tableEntry"];
    const log = new UndoLog(true, (i) => names[i]!);
    const ran: number[] = [];
    log.at(0);
    log.push(() => ran.push(0));
    log.at(1);
    log.push(() => {
      throw new Error("boom");
    });
    log.at(2);
    log.push(() => ran.push(2));
    expect(log.rollback()).toEqual([{ index: 1, what: "DELETE tableEntry", error: "boom" }]);
    expect(ran).toEqual([2, 0]);
    expect(log.rollback()).toEqual([]);
  });

  it("drops steps when disabled (continue on error) and runs clean-ups at once", () => {
    const log = new UndoLog(false);
    let cleaned = false;
    log.push(() => {
      throw new Error("never run");
    });
    log.onCommit(() => (cleaned = true));
    expect(cleaned).toBe(true);
    expect(log.rollback()).toEqual([]);
  });
});

describe("per-update lists as the client reads them", () => {
  function serviceError(code: Code, details: Uint8Array) {
    const metadata = new Metadata();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(details));
    return Object.assign(new Error("x"), { code, details: "request-level failure", metadata });
  }

  it("a request-level error with an empty list (as simple_switch_grpc sends) reports no per-update list", () => {
    const e = toP4RuntimeError(
      "Write",
      serviceError(Code.UNIMPLEMENTED, toBinary(StatusSchema, create(StatusSchema, { code: Code.UNIMPLEMENTED, message: "atomic" }))),
    );
    expect(e.code).toBe(Code.UNIMPLEMENTED);
    expect(e.failures).toEqual([]);
    expect(e.reported).toBeUndefined();
  });

  it("a cut-short list says how many updates it covers", () => {
    const { details } = writeFailureStatus(Array.from({ length: 1000 }, (_, i) => fail(i)));
    const e = toP4RuntimeError("Write", serviceError(Code.UNKNOWN, details));
    expect(e.reported).toBe(e.failures.length);
    expect(e.reported).toBeLessThan(1000);
  });
});
