/** Who runs a command or presses a button, and where: the parts of an invocation the core decides on. */
export interface Invoker {
  userId: string;
  displayName: string;
  /** The platform's "manage" permission here (Discord Manage Channels, Slack policy, console `/as admin`). */
  canManage: boolean;
  /**
   * What this person may ping, as the platform knows it; absent where anything goes (the console). The core
   * allows a subscription's `mention` only within these rights, since the bot itself may ping more.
   */
  mentions?: MentionRights;
}

export interface MentionRights {
  /** Discord's Mention Everyone permission (any role); on Slack, a workspace admin or owner. */
  canMentionAnyRole(): Promise<boolean>;
  /** Whether anyone may mention this role or group: true or false, or null when it does not exist here. */
  isMentionable(id: string): Promise<boolean | null>;
}

export interface Place {
  platform: 'console' | 'discord' | 'slack';
  /** Discord guild or Slack team; null in a DM or on the console. */
  workspaceId: string | null;
  channelId: string;
  isDirect: boolean;
}
