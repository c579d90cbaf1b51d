/** Action-profile members and groups (action selectors). */
import { create } from "@bufbuild/protobuf";
import { P4ValueError } from "../../p4runtime/errors.js";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import {
  type ActionProfileGroup,
  ActionProfileGroupSchema,
  ActionProfileGroup_MemberSchema,
  type ActionProfileMember,
  ActionProfileMemberSchema,
} from "../../proto/gen/p4/v1/p4runtime_pb.js";
import { type ActionCallInput, type DecodedActionCall, type EncodeOptions, decodeAction, encodeAction } from "./common.js";

export interface ActionProfileMemberInput {
  readonly profile: string | number;
  /** Omitted in a wildcard read. */
  readonly memberId?: number;
  readonly action?: ActionCallInput | string;
}

export interface DecodedActionProfileMember {
  readonly profile: string;
  readonly memberId: number;
  readonly action?: DecodedActionCall;
}

export interface ActionProfileGroupInput {
  readonly profile: string | number;
  readonly groupId?: number;
  readonly members?: readonly { readonly memberId: number; readonly weight?: number }[];
  readonly maxSize?: number;
}

export interface DecodedActionProfileGroup {
  readonly profile: string;
  readonly groupId: number;
  readonly members: readonly { readonly memberId: number; readonly weight: number }[];
  readonly maxSize: number;
}

export function encodeActionProfileMember(
  index: P4InfoIndex,
  input: ActionProfileMemberInput,
  opts: EncodeOptions & { forRead?: boolean; keyOnly?: boolean } = {},
): ActionProfileMember {
  const profile = index.actionProfile(input.profile);
  if (!opts.forRead && input.memberId === undefined) throw new P4ValueError(`action profile "${profile.name}": a member needs a memberId`);
  if (!opts.forRead && !opts.keyOnly && input.action === undefined)
    throw new P4ValueError(`action profile "${profile.name}": member ${input.memberId} needs an action`);
  const m = create(ActionProfileMemberSchema, { actionProfileId: profile.id, memberId: input.memberId ?? 0 });
  if (input.action !== undefined) {
    // The action must be one the profile's tables may run.
    const table = profile.tableIds.length > 0 ? index.table(profile.tableIds[0]!) : undefined;
    m.action = encodeAction(index, input.action, opts, table);
  }
  return m;
}

export function decodeActionProfileMember(index: P4InfoIndex, m: ActionProfileMember): DecodedActionProfileMember {
  return {
    profile: index.actionProfile(m.actionProfileId).name,
    memberId: m.memberId,
    ...(m.action ? { action: decodeAction(index, m.action) } : {}),
  };
}

export function encodeActionProfileGroup(
  index: P4InfoIndex,
  input: ActionProfileGroupInput,
  opts: { forRead?: boolean } = {},
): ActionProfileGroup {
  const profile = index.actionProfile(input.profile);
  if (!profile.withSelector) throw new P4ValueError(`action profile "${profile.name}" has no selector: it cannot hold groups`);
  if (!opts.forRead && input.groupId === undefined) throw new P4ValueError(`action profile "${profile.name}": a group needs a groupId`);
  const members = input.members ?? [];
  if (profile.maxGroupSize > 0 && members.length > profile.maxGroupSize) {
    throw new P4ValueError(
      `action profile "${profile.name}": group ${input.groupId} has ${members.length} members, ` +
        `more than max_group_size ${profile.maxGroupSize}`,
    );
  }
  return create(ActionProfileGroupSchema, {
    actionProfileId: profile.id,
    groupId: input.groupId ?? 0,
    maxSize: input.maxSize ?? 0,
    members: members.map((m) => {
      const weight = m.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1)
        throw new P4ValueError(`action profile "${profile.name}": member ${m.memberId} has weight ${weight}; weights are >= 1`);
      return create(ActionProfileGroup_MemberSchema, { memberId: m.memberId, weight });
    }),
  });
}

export function decodeActionProfileGroup(index: P4InfoIndex, g: ActionProfileGroup): DecodedActionProfileGroup {
  return {
    profile: index.actionProfile(g.actionProfileId).name,
    groupId: g.groupId,
    members: g.members.map((m) => ({ memberId: m.memberId, weight: m.weight })),
    maxSize: g.maxSize,
  };
}
