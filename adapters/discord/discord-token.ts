import { DiscordAPIError } from 'discord.js';

/**
 * Whether Discord refused the bot token: a 401 from REST, or discord.js's own `TokenInvalid` (a token that
 * is not one, or the gateway closing with 4004 Authentication failed). A misconfiguration, not an outage.
 */
export function isTokenRejected(error: unknown): boolean {
  if (error instanceof DiscordAPIError) return error.status === 401;
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'TokenInvalid' || code === 4004;
}
