/** Who runs a command or presses a button, and where: the parts of an invocation the core decides on. */
export interface Invoker {
  userId: string;
  displayName: string;
  /** The platform's "manage" permission here (Discord Manage Channels, Slack policy, console `/as admin`). */
  canManage: boolean;
}

export interface Place {
  platform: 'console' | 'discord' | 'slack';
  /** Discord guild or Slack team; null in a DM or on the console. */
  workspaceId: string | null;
  channelId: string;
  isDirect: boolean;
}
