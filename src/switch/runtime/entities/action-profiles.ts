/** ActionProfileMember and ActionProfileGroup writes and reads (group members with watch ports). */
import { create } from "@bufbuild/protobuf";
import {
  type ActionProfileGroup,
  ActionProfileGroupSchema,
  ActionProfileGroup_MemberSchema,
  type ActionProfileMember,
  ActionProfileMemberSchema,
  Update_Type,
} from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import type { ActionProfileInfo } from "../../../p4runtime/p4info/index.js";
import { alreadyExists, exhausted, invalid, notFound } from "../status.js";
import type { GroupMember } from "../../engine/runtime-api.js";
import { actionToCall, callToAction } from "./convert.js";
import { mixing } from "./table-entries.js";
import type { RuntimeState, UndoLog } from "./context.js";
import { decodeWatch, encodeWatch } from "./watch-port.js";

function profileOf(st: RuntimeState, id: number): ActionProfileInfo {
  const p = st.pipeline.index.actionProfiles.find(id);
  if (!p) throw invalid(`unknown action profile id ${id}`);
  return p;
}

export function writeMember(st: RuntimeState, type: Update_Type, m: ActionProfileMember, undo: UndoLog): void {
  const p = profileOf(st, m.actionProfileId);
  const engine = st.pipeline.engine;
  const what = `action profile "${p.name}" member ${m.memberId}`;
  if (st.isHidden(m.memberId)) throw invalid(`${what}: member ids above 0xf0000000 are reserved for one-shot action sets`);
  const exists = engine.members(p.name).includes(m.memberId);
  if (type === Update_Type.DELETE) {
    if (!exists) throw notFound(`${what} does not exist`);
    const before = engine.getMember(p.name, m.memberId);
    engine.deleteMember(p.name, m.memberId);
    undo.push(() => engine.addMember(p.name, m.memberId, before));
    return;
  }
  if (!m.action) throw invalid(`${what}: no action`);
  if (p.withSelector && st.selectorMode(p.name) === "oneShot") throw mixing(p.name);
  const { info, call } = actionToCall(st.pipeline.index, m.action, what);
  const tables = p.tableIds.map((id) => st.pipeline.index.table(id));
  if (tables.length > 0 && !tables.some((t) => t.actionRefs.has(info.id)))
    throw invalid(`${what}: action "${info.name}" is not an action of the profile's tables`);
  if (type === Update_Type.INSERT) {
    if (exists) throw alreadyExists(`${what} already exists`);
    if (p.size > 0n && BigInt(engine.members(p.name).length) >= p.size)
      throw exhausted(`action profile "${p.name}" is full (${p.size} members)`);
    engine.addMember(p.name, m.memberId, call);
    undo.push(() => engine.deleteMember(p.name, m.memberId));
  } else if (type === Update_Type.MODIFY) {
    if (!exists) throw notFound(`${what} does not exist`);
    const before = engine.getMember(p.name, m.memberId);
    engine.modifyMember(p.name, m.memberId, call);
    undo.push(() => engine.modifyMember(p.name, m.memberId, before));
  } else {
    throw invalid(`${what}: update type must be INSERT, MODIFY or DELETE`);
  }
}

export function writeGroup(st: RuntimeState, type: Update_Type, g: ActionProfileGroup, undo: UndoLog): void {
  const p = profileOf(st, g.actionProfileId);
  const engine = st.pipeline.engine;
  const what = `action selector "${p.name}" group ${g.groupId}`;
  if (!p.withSelector) throw invalid(`action profile "${p.name}" has no selector: it holds no groups`);
  if (st.isHidden(g.groupId)) throw invalid(`${what}: group ids above 0xf0000000 are reserved for one-shot action sets`);
  const exists = engine.groups(p.name).includes(g.groupId);
  const formBefore = st.deprecatedWatchOf(p.name, g.groupId);
  const setForm = (form: ReadonlySet<number> | undefined) => st.setDeprecatedWatch(p.name, g.groupId, form);
  if (type === Update_Type.DELETE) {
    if (!exists) throw notFound(`${what} does not exist`);
    const before = engine.getGroup(p.name, g.groupId);
    engine.deleteGroup(p.name, g.groupId);
    setForm(undefined);
    undo.push(() => {
      engine.setGroup(p.name, g.groupId, before);
      setForm(formBefore);
    });
    return;
  }
  if (st.selectorMode(p.name) === "oneShot") throw mixing(p.name);
  const deprecatedForm = new Set<number>();
  const members = g.members.map((x, i): GroupMember => {
    if (!engine.members(p.name).includes(x.memberId)) throw notFound(`${what}: member ${x.memberId} does not exist`);
    if (x.weight < 1) throw invalid(`${what}: member ${x.memberId} weight must be >= 1`);
    const watch = decodeWatch(x.watchKind, what, `members[${i}] (member ${x.memberId})`);
    if (watch.deprecated) deprecatedForm.add(x.memberId);
    return watch.port === undefined
      ? { member: x.memberId, weight: x.weight }
      : { member: x.memberId, weight: x.weight, watchPort: watch.port };
  });
  if (new Set(members.map((x) => x.member)).size !== members.length) throw invalid(`${what}: a member is listed twice`);
  if (p.maxGroupSize > 0 && members.length > p.maxGroupSize)
    throw exhausted(`${what}: ${members.length} members exceed max_group_size ${p.maxGroupSize}`);
  if (g.maxSize > 0 && members.length > g.maxSize)
    throw exhausted(`${what}: ${members.length} members exceed the group's max_size ${g.maxSize}`);
  if (type === Update_Type.INSERT) {
    if (exists) throw alreadyExists(`${what} already exists`);
    engine.setGroup(p.name, g.groupId, members);
    setForm(deprecatedForm);
    undo.push(() => {
      engine.deleteGroup(p.name, g.groupId);
      setForm(formBefore);
    });
  } else if (type === Update_Type.MODIFY) {
    if (!exists) throw notFound(`${what} does not exist`);
    const before = engine.getGroup(p.name, g.groupId);
    engine.setGroup(p.name, g.groupId, members);
    setForm(deprecatedForm);
    undo.push(() => {
      engine.setGroup(p.name, g.groupId, before);
      setForm(formBefore);
    });
  } else {
    throw invalid(`${what}: update type must be INSERT, MODIFY or DELETE`);
  }
}

export function readMembers(st: RuntimeState, q: ActionProfileMember): ActionProfileMember[] {
  const idx = st.pipeline.index;
  const profiles = q.actionProfileId === 0 ? [...idx.actionProfiles] : [profileOf(st, q.actionProfileId)];
  if (q.actionProfileId !== 0 && st.selectorMode(profiles[0]!.name) === "oneShot") throw mixing(profiles[0]!.name);
  const engine = st.pipeline.engine;
  return profiles.flatMap((p) =>
    engine
      .members(p.name)
      .filter((id) => !st.isHidden(id) && (q.memberId === 0 || q.memberId === id))
      .map((id) =>
        create(ActionProfileMemberSchema, { actionProfileId: p.id, memberId: id, action: callToAction(idx, engine.getMember(p.name, id)) }),
      ),
  );
}

export function readGroups(st: RuntimeState, q: ActionProfileGroup): ActionProfileGroup[] {
  const idx = st.pipeline.index;
  const profiles = (q.actionProfileId === 0 ? [...idx.actionProfiles] : [profileOf(st, q.actionProfileId)]).filter((p) => p.withSelector);
  if (q.actionProfileId !== 0 && profiles[0] && st.selectorMode(profiles[0].name) === "oneShot") throw mixing(profiles[0].name);
  const engine = st.pipeline.engine;
  return profiles.flatMap((p) =>
    engine
      .groups(p.name)
      .filter((id) => !st.isHidden(id) && (q.groupId === 0 || q.groupId === id))
      .map((id) =>
        create(ActionProfileGroupSchema, {
          actionProfileId: p.id,
          groupId: id,
          members: engine.getGroup(p.name, id).map((m) =>
            create(ActionProfileGroup_MemberSchema, {
              memberId: m.member,
              weight: m.weight,
              watchKind: encodeWatch(m.watchPort, st.deprecatedWatchOf(p.name, id)?.has(m.member) ?? false),
            }),
          ),
        }),
      ),
  );
}
