import { UserError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';
import type { Destination } from '../platform/chat-platform.ts';

/**
 * Reads the role (Discord) or user group (Slack) to notify with each post, as typed or as the platform's
 * mention syntax, and returns its bare id. `@everyone`, `@here` and `@channel` are always refused: a feed
 * bot must never be able to ping a whole server.
 */
export function parseMention(platform: Destination['platform'], input: string): Result<string, UserError> {
  const value = input.trim();
  if (/^@?(everyone|here|channel)$/i.test(value) || /<!(everyone|here|channel)/i.test(value)) {
    return err(new UserError('mention/too-broad', 'Inkwire never pings everyone, here or the whole channel. Pick a role or user group instead.'));
  }
  const patterns: Record<Destination['platform'], RegExp[]> = {
    discord: [/^<@&(\d{17,20})>$/, /^(\d{17,20})$/],
    slack: [/^<!subteam\^([A-Z0-9]{6,20})(?:\|[^>]*)?>$/, /^(S[A-Z0-9]{6,20})$/],
    console: [/^@?([a-z0-9][a-z0-9_-]{0,31})$/i],
  };
  for (const pattern of patterns[platform]) {
    const match = pattern.exec(value);
    if (match?.[1]) return ok(match[1]);
  }
  const hint = { discord: 'a role mention like @Readers', slack: 'a user group like @ml-readers', console: 'a name like @readers' }[platform];
  return err(new UserError('mention/invalid', `\`mention\` must be ${hint}.`));
}
