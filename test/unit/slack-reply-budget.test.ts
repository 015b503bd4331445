import { describe, expect, it } from 'vitest';
import { replyPayload } from '../../adapters/slack/slack-render.ts';
import { replyData } from '../../adapters/discord/discord-render.ts';
import type { PostCard } from '../../src/cards/post-card.ts';
import type { Reply } from '../../src/commands/reply.ts';
import { validateBlocks } from '../fakes/slack/fake-slack.ts';
import { validate } from '../fakes/discord/discord-schemas.ts';

const card = (i: number): PostCard => ({
  postId: i, title: `Explainer ${i}: ${'a long title '.repeat(8)}`, url: `https://dailyink.substack.com/p/e${i}`, subtitle: 'Subtitle '.repeat(20),
  author: 'A. Author', publishedAt: new Date('2023-03-10T00:00:00Z'), readingMinutes: 7, tldr: 'tl;dr '.repeat(50),
  coverImageUrl: 'https://substackcdn.com/cover.png', papers: [{ label: 'arXiv:2205.14135', url: 'https://arxiv.org/abs/2205.14135' }],
  previewOnly: false, feedTitle: 'The Daily Ink',
});

const reply = (cards: number): Reply => ({
  visibility: 'private',
  summary: `Results 1–${cards} of ${cards} for “attention”`,
  moreHint: 'add `page:2` for more',
  blocks: [{ kind: 'text', spans: [{ text: 'Results for attention' }] }, ...Array.from({ length: cards }, (_, i) => ({ kind: 'card' as const, card: card(i) }))],
  buttons: [{ label: 'Share in channel', action: 'share:10:1:attention' }],
});

const headers = (blocks: Array<Record<string, unknown>>) => blocks.filter((b) => b.type === 'header').length;

describe('replies that fit every platform', () => {
  it('GIVEN 10 cards on Slack THEN all 10 whole cards, the share button and a fallback text that names the reply, within 50 blocks', () => {
    const payload = replyPayload(reply(10));
    expect(payload.blocks.length).toBeLessThanOrEqual(50);
    expect(headers(payload.blocks)).toBe(10);
    // Every card is whole: its header is followed by its section with the link.
    payload.blocks.forEach((b, i) => {
      if (b.type === 'header') expect((payload.blocks[i + 1] as { accessory?: { url?: string } }).accessory?.url).toMatch(/^https:\/\/dailyink/);
    });
    expect(payload.blocks.at(-1)).toMatchObject({ type: 'actions', elements: [expect.objectContaining({ value: 'share:10:1:attention' })] });
    expect(payload.text).toBe('Results 1–10 of 10 for “attention”');
    expect(validateBlocks(payload.blocks)).toEqual([]);
  });

  it('GIVEN more cards than fit THEN whole cards are dropped with a note saying how many and what to type; the buttons stay', () => {
    const payload = replyPayload(reply(20));
    expect(payload.blocks.length).toBeLessThanOrEqual(50);
    const shown = headers(payload.blocks);
    expect(shown).toBeLessThan(20);
    const note = payload.blocks.find((b) => b.type === 'context' && JSON.stringify(b).includes('more not shown'));
    expect(JSON.stringify(note)).toContain(`${20 - shown} more not shown here — add \`page:2\` for more`);
    expect(payload.blocks.at(-1)).toMatchObject({ type: 'actions' });
    expect(validateBlocks(payload.blocks)).toEqual([]);
  });

  it('GIVEN 10 long cards on Discord THEN only whole embeds under 6,000 characters, and a line says how many more and how', () => {
    const data = replyData(reply(10)) as { embeds: unknown[]; content: string; components: unknown[] };
    expect(validate.callback({ type: 4, data })).toEqual([]);
    expect(data.content).toMatch(new RegExp(`${10 - data.embeds.length} more not shown here — add \`page:2\` for more`));
    expect(data.components).toHaveLength(1);
  });
});
