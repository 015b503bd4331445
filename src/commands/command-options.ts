import { UserError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';
import type { CommandArgs, CommandSpec, OptionSpec, OptionValue, ResolvedChannel } from './command-spec.ts';

/**
 * Each opening quote and the marks that close it: straight quotes, English “…” and ‘…’, French and
 * Russian «…», German „…“ (and Polish „…”), Swedish ”…” and Danish »…«. `’` and `“` only close.
 */
const QUOTE_PAIRS: Readonly<Record<string, string>> = {
  '"': '"',
  "'": "'",
  '“': '”',
  '”': '”',
  '‘': '’',
  '«': '»',
  '»': '«',
  '„': '“”',
};
/** Single marks double as apostrophes (`don't`): one closes only before a space or the end. */
const APOSTROPHES = "'’";

/**
 * Splits command text the way a chat user types it: `name:value` or `name:"a quoted value"` for
 * named options, and any other text for the command's `rest` option (`/search attention is all you need`).
 * Names that are not options stay part of the text (`author:` is search syntax, not an option).
 */
export function splitCommandText(spec: CommandSpec, input: string): Result<Record<string, string>, UserError> {
  const names = new Set(spec.options.map((o) => o.name));
  const rest = spec.options.find((o) => o.rest) ?? spec.options[0];
  const syntax = new Set((rest?.syntax ?? []).map((s) => s.toLowerCase()));
  const values: Record<string, string> = {};
  const loose: string[] = [];
  let i = 0;
  const source = input.trim();
  while (i < source.length) {
    while (i < source.length && /\s/.test(source[i]!)) i++;
    if (i >= source.length) break;
    const named = /^([a-z][a-z0-9_-]*):(?!\/\/)/i.exec(source.slice(i));
    // Only `name:value` (no space after the colon) reads as an option: "transformers: a survey" is text.
    if (named && /\S/.test(source[i + named[0].length] ?? ' ') && !names.has(named[1]!.toLowerCase()) && !syntax.has(named[1]!.toLowerCase())) {
      // `bogus:1` is a mistake, not search text: say so, and name what the command does take.
      return err(new UserError('command/unknown-option', `\`/${spec.name}\` has no option \`${named[1]!.toLowerCase()}\`. ${usage(spec)}`));
    }
    if (named && names.has(named[1]!.toLowerCase())) {
      i += named[0].length;
      const name = named[1]!.toLowerCase();
      const option = spec.options.find((o) => o.name === name);
      let value: string;
      const quoted = quotedAt(source, i);
      if (quoted === 'unclosed') return err(unclosedQuote(spec, source, i));
      if (quoted) {
        value = option?.keepQuotes ? `"${quoted.text}"` : quoted.text;
        i = quoted.end;
      } else {
        const start = i;
        while (i < source.length && !/\s/.test(source[i]!)) i++;
        value = source.slice(start, i);
      }
      if (name in values) return err(new UserError('command/duplicate-option', `The option \`${name}\` was given twice.`));
      values[name] = value;
      continue;
    }
    const start = i;
    const quoted = quotedAt(source, i);
    if (quoted === 'unclosed') return err(unclosedQuote(spec, source, i));
    if (quoted) {
      i = quoted.end;
    } else {
      while (i < source.length && !/\s/.test(source[i]!)) i++;
    }
    loose.push(source.slice(start, i));
  }
  if (loose.length > 0) {
    if (!rest) {
      return err(new UserError('command/unexpected-text', `\`/${spec.name}\` takes no text. ${usage(spec)}`));
    }
    const follower = rest.thenRestTo ? spec.options.find((o) => o.name === rest.thenRestTo) : undefined;
    if (rest.name in values && (!follower || follower.name in values)) {
      return err(new UserError('command/unexpected-text', `\`/${spec.name}\` did not expect “${loose.join(' ').slice(0, 60)}” there. ${usage(spec)}`));
    }
    if (follower) {
      // The first word is the choice, the rest goes on (`/alerts add "KV cache"`).
      const words = rest.name in values ? loose : loose.slice(1);
      if (!(rest.name in values)) values[rest.name] = loose[0]!;
      if (words.length > 0) {
        if (follower.name in values) return err(new UserError('command/unexpected-text', `\`/${spec.name}\` did not expect “${words.join(' ').slice(0, 60)}” there. ${usage(spec)}`));
        values[follower.name] = words.join(' ');
      }
    } else {
      values[rest.name] = loose.join(' ');
    }
  }
  return ok(values);
}

/**
 * The quoted text starting at `at` and the index just past its closing mark; null when `at` opens no
 * quote, or a single mark is never closed (then it is an apostrophe: `'90s`); 'unclosed' when a double
 * mark is never closed (reading to the end would swallow every option after it).
 */
function quotedAt(source: string, at: number): { text: string; end: number } | 'unclosed' | null {
  const open = source[at] ?? '';
  const closers = QUOTE_PAIRS[open];
  if (closers === undefined) return null;
  for (let j = at + 1; j < source.length; j++) {
    if (!closers.includes(source[j]!)) continue;
    if (APOSTROPHES.includes(source[j]!) && j + 1 < source.length && !/\s/.test(source[j + 1]!)) continue;
    return { text: source.slice(at + 1, j), end: j + 1 };
  }
  return APOSTROPHES.includes(closers) ? null : 'unclosed';
}

function unclosedQuote(spec: CommandSpec, source: string, at: number): UserError {
  const open = source[at]!;
  return new UserError(
    'command/unclosed-quote',
    `The quote ${open} before “${source.slice(at + 1, at + 31)}${source.length > at + 31 ? '…' : ''}” is never closed (close it with ${QUOTE_PAIRS[open]!.split('').join(' or ')}). ${usage(spec)}`,
  );
}

/** Checks raw option values against the spec: types, limits, choices, required. Every problem is one message. */
export function validateCommandArgs(
  spec: CommandSpec,
  raw: Readonly<Record<string, string | number | boolean | undefined>>,
): Result<CommandArgs, UserError> {
  const args: Record<string, OptionValue | undefined> = {};
  const problems: string[] = [];
  for (const name of Object.keys(raw)) {
    if (!spec.options.some((o) => o.name === name)) problems.push(`unknown option \`${name}\``);
  }
  for (const option of spec.options) {
    const value = raw[option.name];
    const blank = value === undefined || (typeof value === 'string' && value.trim() === '');
    if (blank) {
      if (option.required) problems.push(`\`${option.name}\` is required`);
      continue;
    }
    const checked = checkValue(option, value);
    if (typeof checked === 'string') problems.push(checked);
    else args[option.name] = checked.value;
  }
  if (problems.length > 0) {
    return err(new UserError('command/invalid-options', `${capitalise(problems.join('; '))}. ${usage(spec)}`));
  }
  return ok(args);
}

function checkValue(option: OptionSpec, value: string | number | boolean): { value: OptionValue } | string {
  const name = `\`${option.name}\``;
  switch (option.type) {
    case 'string': {
      const v = String(value).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '').trim();
      if (option.minLength !== undefined && [...v].length < option.minLength) {
        return `${name} must be at least ${option.minLength} characters`;
      }
      if (option.maxLength !== undefined && [...v].length > option.maxLength) {
        return `${name} must be at most ${option.maxLength} characters (got ${[...v].length})`;
      }
      if (option.choices && !option.choices.some((c) => c.value === v)) {
        return `${name} must be one of ${option.choices.map((c) => c.value).join(', ')}`;
      }
      return { value: v };
    }
    case 'integer': {
      const text = String(value).trim();
      if (!/^-?\d{1,15}$/.test(text)) return `${name} must be a whole number`;
      const n = Number(text);
      if (option.min !== undefined && n < option.min) return `${name} must be at least ${option.min}`;
      if (option.max !== undefined && n > option.max) return `${name} must be at most ${option.max}`;
      if (option.choices && !option.choices.some((c) => c.value === n)) {
        return `${name} must be one of ${option.choices.map((c) => c.value).join(', ')}`;
      }
      return { value: n };
    }
    case 'channel': {
      // The platform resolves it (and checks it exists and who may manage it); here only its shape.
      const text = String(value).trim();
      if (!parseChannelReference(text)) return `${name} must be a channel, picked from the list or typed as #channel`;
      return { value: text };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      const text = String(value).trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(text)) return { value: true };
      if (['false', 'no', 'off', '0'].includes(text)) return { value: false };
      return `${name} must be true or false`;
    }
  }
}

/**
 * A channel as chat text names it: Slack's `<#C123|name>` or `<#C123>` (what Slack sends for a picked
 * channel), Discord's `<#123…>`, or a bare id; `#name` only as a name (the platform looks it up, if it can).
 */
export function parseChannelReference(text: string): { id: string | null; name: string | null } | null {
  const link = /^<#([A-Z0-9]{2,32})(?:\|([^>]*))?>$/i.exec(text);
  if (link) return { id: link[1]!, name: link[2] ? link[2] : null };
  if (/^(?:[CG][A-Z0-9]{6,31}|\d{17,20})$/.test(text)) return { id: text, name: null };
  const named = /^#([\p{L}\p{N}_-]{1,80})$/u.exec(text);
  return named ? { id: null, name: named[1]! } : null;
}

/**
 * A `channel:` option typed as text (Slack): the channel a link names, with the invoker's manage permission
 * there as the platform's own policy says. A bare `#name` cannot be resolved without listing every channel:
 * it is refused with what to do instead.
 */
export async function resolveTypedChannel(value: string, canManage: (channelId: string) => Promise<boolean>): Promise<Result<ResolvedChannel, UserError>> {
  const reference = parseChannelReference(value);
  if (!reference?.id) {
    return err(new UserError('command/unknown-channel', `Name the channel as a link: type # and pick it from the list, so that \`channel:\` gets the channel itself rather than the text “${value.slice(0, 80)}”.`));
  }
  return ok({ channelId: reference.id, name: reference.name, kind: null, canManage: await canManage(reference.id) });
}

/** `Usage: /latest [count:1-10]` */
export function usage(spec: CommandSpec): string {
  const parts = spec.options.map((o) => {
    const shape =
      o.choices?.map((c) => c.value).join('|') ??
      (o.type === 'integer' ? `${o.min ?? ''}-${o.max ?? ''}` : o.type === 'boolean' ? 'true|false' : o.type === 'channel' ? '#channel' : 'text');
    const body = o.rest ? (o.choices ? shape : o.name) : `${o.name}:${shape}`;
    return o.required ? `<${body}>` : `[${body}]`;
  });
  return `Usage: /${spec.name}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}`;
}

function capitalise(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}
