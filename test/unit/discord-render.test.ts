import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applicationCommands } from '../../adapters/discord/discord-commands.ts';
import { clip, escapeDiscord } from '../../adapters/discord/discord-markdown.ts';
import { cardEmbed, deliveryMessage, nonceFor, replyData } from '../../adapters/discord/discord-render.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import type { PostCard } from '../../src/cards/post-card.ts';

const card = (overrides: Partial<PostCard> = {}): PostCard => ({
  postId: 1, title: 'T', url: 'https://dailyink.substack.com/p/t', subtitle: null, author: null, publishedAt: null, readingMinutes: 3,
  tldr: null, coverImageUrl: null, papers: [], previewOnly: false, feedTitle: 'The Daily Ink', ...overrides,
});

const total = (e: ReturnType<typeof cardEmbed>) =>
  (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.author?.name.length ?? 0) + (e.footer?.text.length ?? 0) +
  (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0);

describe('Discord rendering', () => {
  it('GIVEN a post URL over 512 characters THEN the card has no link button (Discord would answer 50035), and one at 512 keeps it', () => {
    const long = `https://dailyink.substack.com/p/${'a'.repeat(600)}`;
    expect(deliveryMessage({ kind: 'post', card: card({ url: long }) }, 'p1-s1').components).toEqual([]);
    const fits = `https://dailyink.substack.com/p/${'a'.repeat(512 - 'https://dailyink.substack.com/p/'.length)}`;
    expect(fits).toHaveLength(512);
    expect(deliveryMessage({ kind: 'post', card: card({ url: fits }) }, 'p1-s1').components).toHaveLength(1);
  });

  it('GIVEN any feed text THEN the embed stays within every Discord limit', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 7000 }), fc.string({ maxLength: 7000 }), fc.string({ maxLength: 400 }), (title, tldr, author) => {
        const embed = cardEmbed(card({ title: title || 'x', tldr, subtitle: tldr, author: author || null }));
        expect(embed.title!.length).toBeLessThanOrEqual(256);
        expect(embed.description!.length).toBeLessThanOrEqual(4096);
        expect(embed.author?.name.length ?? 0).toBeLessThanOrEqual(256);
        expect(total(embed)).toBeLessThanOrEqual(6000);
      }),
      { numRuns: 200 },
    );
  });

  it('GIVEN mentions, masked links and markdown in feed text THEN they are inert', () => {
    const text = escapeDiscord('@everyone @here <@&123456789012345678> <#123456789012345678> [click](http://evil) **b** # H\n1. item');
    expect(text).toContain('@\u200beveryone');
    expect(text).toContain('@\u200bhere');
    expect(text).not.toMatch(/(?<!\\)<@&/);
    expect(text).not.toMatch(/(?<!\\)\[click(?<!\\)\]/);
    expect(text).toContain('\\*\\*b\\*\\*');
    expect(text).toContain('\\# H');
  });

  it('GIVEN a cut THEN it never leaves a dangling escape or half a surrogate pair', () => {
    expect(clip('abc \\*def', 6)).not.toMatch(/\\…$/);
    expect(clip('ab😀😀😀', 4)).not.toMatch(/[\uD800-\uDBFF]…$/);
  });

  it('GIVEN a subscription role THEN only that role may be pinged; otherwise nobody', () => {
    const plain = deliveryMessage({ kind: 'post', card: card() }, 'p1-s2');
    expect(plain.allowed_mentions).toEqual({ parse: [] });
    expect(plain.content).toBeUndefined();
    const role = deliveryMessage({ kind: 'post', card: card(), mentionId: '123456789012345678' }, 'p1-s2');
    expect(role.content).toBe('<@&123456789012345678>');
    expect(role.allowed_mentions).toEqual({ parse: [], roles: ['123456789012345678'] });
    expect(role).toMatchObject({ nonce: 'p1-s2', enforce_nonce: true });
  });

  it('GIVEN a long idempotency key THEN the nonce still fits 25 characters and stays stable', () => {
    const key = 'd123456789-2024-W52-extra-long';
    expect(nonceFor(key).length).toBeLessThanOrEqual(25);
    expect(nonceFor(key)).toBe(nonceFor(key));
  });

  it('GIVEN a private reply THEN it is ephemeral with mentions disabled and buttons as components', () => {
    const data = replyData({ visibility: 'private', blocks: [{ kind: 'text', spans: [{ text: 'hi @everyone' }] }], buttons: [{ label: 'Share in channel', action: 'share' }] });
    expect(data).toMatchObject({ flags: 64, allowed_mentions: { parse: [] } });
    expect(data.content).toBe('hi @\u200beveryone');
  });

  it('GIVEN the command specs THEN every command has required options first and manage commands are guild-only', () => {
    for (const command of applicationCommands(ALL_COMMANDS)) {
      const firstOptional = command.options.findIndex((o) => !o.required);
      if (firstOptional !== -1) expect(command.options.slice(firstOptional).every((o) => !o.required)).toBe(true);
      if (command.default_member_permissions !== undefined) expect(command.contexts).toEqual([0]);
    }
  });
});
