// Request bodies are checked against the official Discord OpenAPI schemas (npm `discord-api-spec`),
// plus the limits the spec misses. A violation is recorded and answered like Discord: 400, code 50035.
// @ts-expect-error -- the package's `./zod` types entry points at a .js file (no declarations)
import * as spec from 'discord-api-spec/zod';
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());

type Schema = { safeParse(value: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } };
const schemas = spec as Record<string, Schema>;

function check(schemaName: string, body: unknown): string[] {
  const result = schemas[schemaName]!.safeParse(body);
  return result.success ? [] : (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

interface MessageLike {
  content?: string;
  embeds?: Array<Record<string, unknown>>;
  components?: unknown[];
  allowed_mentions?: { parse?: string[]; users?: string[]; roles?: string[] };
}

/** Link buttons: Discord answers 50035 past 512 characters (the spec's `uri` format has no length). */
function buttonChecks(components: unknown[] | undefined): string[] {
  const problems: string[] = [];
  for (const [r, row] of (components ?? []).entries()) {
    for (const [c, button] of ((row as { components?: Array<{ url?: unknown }> }).components ?? []).entries()) {
      if (typeof button.url === 'string' && button.url.length > 512) problems.push(`components.${r}.components.${c}.url: ${button.url.length} characters (limit 512)`);
    }
  }
  return problems;
}

/** What the spec misses: content ≤ 2000 for bots, 6000 across embeds, non-empty, allowed_mentions rules, button URLs ≤ 512. */
function extraMessageChecks(body: MessageLike, requireContent: boolean): string[] {
  const problems: string[] = [...buttonChecks(body.components)];
  if (typeof body.content === 'string' && body.content.length > 2000) problems.push(`content: ${body.content.length} characters (bots may send 2000)`);
  const embeds = body.embeds ?? [];
  let total = 0;
  for (const embed of embeds) {
    const text = (v: unknown) => (typeof v === 'string' ? v.trim().length : 0);
    total += text(embed.title) + text(embed.description) + text((embed.author as { name?: string } | undefined)?.name) + text((embed.footer as { text?: string } | undefined)?.text);
    for (const field of (embed.fields as Array<{ name: string; value: string }> | undefined) ?? []) total += text(field.name) + text(field.value);
  }
  if (total > 6000) problems.push(`embeds: ${total} characters in total (limit 6000)`);
  if (requireContent && !body.content && embeds.length === 0 && !(body.components?.length)) problems.push('message: cannot send an empty message');
  const am = body.allowed_mentions;
  if (!am) problems.push('allowed_mentions: missing (Inkwire must always send it)');
  else {
    if (am.parse?.includes('roles') && am.roles) problems.push('allowed_mentions: parse roles with roles list');
    if (am.parse?.includes('users') && am.users) problems.push('allowed_mentions: parse users with users list');
    if (am.parse?.includes('everyone')) problems.push('allowed_mentions: Inkwire must never allow @everyone');
  }
  return problems;
}

export const validate = {
  messageCreate: (body: unknown) => [...check('MessageCreateRequestSchema', body), ...extraMessageChecks(body as MessageLike, true)],
  messageEdit: (body: unknown) => [...check('MessageEditRequestPartialSchema', body), ...extraMessageChecks(body as MessageLike, false)],
  commands: (body: unknown) => (Array.isArray(body) ? body.flatMap((c, i) => check('ApplicationCommandUpdateRequestSchema', c).map((p) => `[${i}] ${p}`)) : ['body: expected an array']),
  callback(body: unknown): string[] {
    const type = (body as { type?: number }).type;
    if (type === 4 || type === 5) {
      const data = (body as { data?: MessageLike }).data;
      return [...check('CreateMessageInteractionCallbackRequestSchema', body), ...(type === 4 && data ? extraMessageChecks(data, true) : [])];
    }
    if (type === 6 || type === 7) return check('UpdateMessageInteractionCallbackRequestSchema', body);
    if (type === 8) return check('ApplicationCommandAutocompleteCallbackRequestSchema', body);
    return [`type: unexpected interaction callback type ${type}`];
  },
  webhookEdit: (body: unknown) => [...check('IncomingWebhookUpdateRequestPartialSchema', body), ...extraMessageChecks(body as MessageLike, false)],
  threadFromMessage: (body: unknown) => check('CreateTextThreadWithMessageRequestSchema', body),
  forumThread: (body: unknown) => {
    const message = (body as { message?: MessageLike } | undefined)?.message;
    return [...check('CreateForumThreadRequestSchema', body), ...(message ? extraMessageChecks(message, true) : ['message: a forum post needs its first message'])];
  },
  followup: (body: unknown) => [...check('IncomingWebhookRequestPartialSchema', body), ...extraMessageChecks(body as MessageLike, true)],
};
