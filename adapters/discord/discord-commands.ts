import { REST, Routes } from 'discord.js';
import type { ChannelKind, CommandSpec, OptionSpec } from '../../src/commands/command-spec.ts';

/** Manage Channels as a permission bit field (the official schema types it as a number). */
export const MANAGE_CHANNELS = Number(1n << 4n);

const OPTION_TYPE = { string: 3, integer: 4, boolean: 5, channel: 7 } as const;

/** Discord's channel types for the channel picker: GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM. */
export const DISCORD_CHANNEL_TYPE: Readonly<Record<ChannelKind, number>> = { text: 0, announcement: 5, forum: 15 };

function option(spec: OptionSpec) {
  return {
    type: OPTION_TYPE[spec.type],
    name: spec.name,
    description: spec.description.slice(0, 100),
    required: spec.required ?? false,
    ...(spec.type === 'string' && spec.minLength !== undefined ? { min_length: spec.minLength } : {}),
    ...(spec.type === 'string' && spec.maxLength !== undefined ? { max_length: Math.min(spec.maxLength, 6000) } : {}),
    ...(spec.type === 'integer' && spec.min !== undefined ? { min_value: spec.min } : {}),
    ...(spec.type === 'integer' && spec.max !== undefined ? { max_value: spec.max } : {}),
    ...(spec.type === 'channel' ? { channel_types: (spec.channelTypes ?? ['text', 'announcement', 'forum']).map((kind) => DISCORD_CHANNEL_TYPE[kind]) } : {}),
    ...(spec.choices ? { choices: spec.choices.map((c) => ({ name: c.name, value: c.value })) } : {}),
    ...(spec.autocomplete && !spec.choices ? { autocomplete: true } : {}),
  };
}

/**
 * The application commands Discord registers, built from the same specs every adapter uses.
 * Manage commands carry `default_member_permissions` (the bot still checks again at run time) and
 * only work in servers; reading commands work in servers and DMs.
 */
export function applicationCommands(specs: readonly CommandSpec[]) {
  return specs.map((spec) => ({
    type: 1,
    name: spec.name,
    description: spec.description.slice(0, 100),
    // Required options first, as Discord demands.
    options: [...spec.options].sort((a, b) => Number(b.required ?? false) - Number(a.required ?? false)).map(option),
    ...(spec.permission === 'manage' ? { default_member_permissions: MANAGE_CHANNELS } : {}),
    dm_permission: spec.permission !== 'manage',
    contexts: spec.permission === 'manage' ? [0] : [0, 1],
    integration_types: [0],
  }));
}

/** View Channel, Send Messages, Embed Links (+ Mention Everyone, needed to ping roles that are not mentionable). */
export function inviteUrl(appId: string, options: { roleMentions: boolean }): string {
  // View Channel, Send Messages, Embed Links, Create Public Threads (for thread:true subscriptions), and
  // Mention Everyone only so subscriptions can ping their role.
  const permissions = (1n << 10n) | (1n << 11n) | (1n << 14n) | (1n << 35n) | (options.roleMentions ? 1n << 17n : 0n);
  return `https://discord.com/oauth2/authorize?client_id=${appId}&scope=bot%20applications.commands&permissions=${permissions}`;
}

/** Bulk-overwrites the commands, in one server or globally (idempotent); returns how many. */
export async function putApplicationCommands(rest: REST, appId: string, specs: readonly CommandSpec[], guildId: string | null): Promise<number> {
  const body = applicationCommands(specs);
  await rest.put(guildId ? Routes.applicationGuildCommands(appId, guildId) : Routes.applicationCommands(appId), { body });
  return body.length;
}

/** `inkwire register-commands`: over REST alone (no gateway needed). */
export async function registerCommandsOverRest(options: { token: string; appId: string; apiUrl: string; guildId: string | null; specs: readonly CommandSpec[] }): Promise<number> {
  return putApplicationCommands(new REST({ api: options.apiUrl }).setToken(options.token), options.appId, options.specs, options.guildId);
}
