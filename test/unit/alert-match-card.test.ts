import { describe, expect, it } from 'vitest';
import { plainStyle, renderCard } from '../../adapters/console/console-text.ts';
import { cardEmbed } from '../../adapters/discord/discord-render.ts';
import { cardBlocks, deliveryPayload } from '../../adapters/slack/slack-render.ts';
import { withAlertMatches, type PostCard } from '../../src/cards/post-card.ts';

const card: PostCard = {
  postId: 1, title: 'Serving long contexts', url: 'https://dailyink.substack.com/p/long-contexts', subtitle: null, author: null, publishedAt: null,
  readingMinutes: 3, tldr: 'Why the cache grows.', coverImageUrl: null, papers: [], previewOnly: false, feedTitle: 'The Daily Ink',
};
const dm = withAlertMatches(card, ['kv cache', 'mamba']);

describe('an alert direct message names the keywords that matched, on every platform', () => {
  it('GIVEN matched keywords THEN the card carries them; none leaves the card as it was', () => {
    expect(dm.matched).toEqual(['kv cache', 'mamba']);
    expect(withAlertMatches(card, [])).toBe(card);
    expect(withAlertMatches(card, undefined)).toBe(card);
  });

  it('GIVEN the console THEN a line under the title names them', () => {
    expect(renderCard(dm, plainStyle).split('\n').slice(0, 2)).toEqual(['Serving long contexts', 'Matched your alert: kv cache, mamba']);
    expect(renderCard(card, plainStyle)).not.toContain('Matched your alert');
  });

  it('GIVEN Discord THEN the embed opens with them, in bold', () => {
    expect(cardEmbed(dm).description!.split('\n\n')[0]).toBe('🔔 Matched your alert: **kv cache**, **mamba**');
    expect(cardEmbed(card).description).not.toContain('Matched your alert');
  });

  it('GIVEN Slack THEN the card section opens with them, in bold', () => {
    const section = cardBlocks(dm)[1] as { text: { text: string } };
    expect(section.text.text.split('\n\n')[0]).toBe(':bell: Matched your alert: *kv cache*, *mamba*');
    expect(JSON.stringify(deliveryPayload({ kind: 'post', card }))).not.toContain('Matched your alert');
  });
});
