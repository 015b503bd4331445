import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliveryMessage } from '../../adapters/discord/discord-render.ts';
import { deliveryPayload } from '../../adapters/slack/slack-render.ts';
import { buildPostCard, type PostCard } from '../../src/cards/post-card.ts';
import { safeLinkUrl } from '../../src/cards/safe-url.ts';
import { extractPaperRefs } from '../../src/content/paper-refs.ts';
import type { Post } from '../../src/posts/post.ts';
import { validate } from '../fakes/discord/discord-schemas.ts';
import { validateBlocks } from '../fakes/slack/fake-slack.ts';

/** What hostile feed text looks like: mentions, links in both markups, markdown, DOIs, RTL, zero-width, emoji. */
const HOSTILE = [
  '@everyone', '@here', '<@&123456789012345678>', '<@123456789012345678>', '<#123456789012345678>', '<!channel>', '<!here>',
  '<@U12345>', '<!subteam^S0123456>', '<http://evil.example|click here>', '[verify](https://evil.example/login)', '](https://evil.example)',
  '10.1234/a)[verify-your-account](https://evil.example/login', '10.1002/(SICI)1097-4636(199706)35:4<475::AID-JBM6>3.0.CO;2-I',
  'doi:10.1038/nature14539', 'arXiv:2205.14135', 'https://arxiv.org/abs/2106.09685v2', '**bold**', '`code`', '||spoiler||',
  '> quote', '# heading', '- list', '1. item', '\u200b', '\u202e', '\u2066', '🧠', 'שלום', 'مرحبا', '&amp;', '&lt;', '<', '>', '|',
  '\\', '\\<@&123456789012345678>', 'javascript:alert(1)', '\n', '***', '~~', '_', '[', ']', '(', ')',
];
const fragment = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 12 }));
const hostileText = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(' '));
/** Mostly short, sometimes a 100 KB field. */
const field = fc.oneof({ weight: 9, arbitrary: hostileText }, { weight: 1, arbitrary: hostileText.map((t) => (t || 'x').repeat(Math.ceil(100_000 / Math.max(1, (t || 'x').length))).slice(0, 100_000)) });
const link = fc.oneof(
  fc.constant('https://dailyink.substack.com/p/mixture-of-experts'),
  fc.constant('javascript:alert(1)'),
  fc.constant('https://evil.example/a)[b](https://x.example'),
  fc.constant(`https://dailyink.substack.com/p/${'a'.repeat(600)}`),
  fc.constant('http://user:pw@host.example/<x>|y'),
  hostileText.map((t) => `https://host.example/${t}`),
);

const postOf = (title: string, subtitle: string, body: string, tldr: string, url: string, cover: string): Post => ({
  id: 7, feedId: 1, feedUrl: 'https://dailyink.substack.com/feed', feedTitle: subtitle.slice(0, 40) || 'The Daily Ink', key: 'slug:x', guid: null,
  url, title: title || 'untitled', subtitle: subtitle || null, author: subtitle.slice(0, 60) || null, publishedAt: new Date('2023-03-10T00:00:00Z'),
  coverImageUrl: cover, html: '', text: body, wordCount: 1, readingMinutes: 3, tldr: tldr || null, previewOnly: body.length % 2 === 0,
  papers: extractPaperRefs([body, title]), firstSeenAt: new Date(), updatedAt: new Date(), announced: true,
});

/** Positions of `token` in `text` not escaped by an odd run of backslashes. */
function unescaped(text: string, token: string): number[] {
  const found: number[] = [];
  for (let i = text.indexOf(token); i !== -1; i = text.indexOf(token, i + 1)) {
    let slashes = 0;
    for (let j = i - 1; j >= 0 && text[j] === '\\'; j--) slashes++;
    if (slashes % 2 === 0) found.push(i);
  }
  return found;
}

const allowedUrls = (card: PostCard) => new Set([card.url, card.coverImageUrl, ...card.papers.map((p) => p.url)].filter((u): u is string => !!u));

function discordProblems(card: PostCard, asDigest = false): string[] {
  const message = asDigest ? { kind: 'digest' as const, title: `Digest: ${card.title}`, cards: [card, card] } : { kind: 'post' as const, card };
  const body = deliveryMessage(message, 'p7-s1') as unknown as { embeds: Array<Record<string, unknown>>; components: unknown[]; content?: string };
  const problems = [...validate.messageCreate(body)];
  const allowed = allowedUrls(card);
  const embed = body.embeds[0]!;
  // Author and footer are plain text in Discord (no markdown, no mentions); the rest is markdown.
  const plain = [(embed.footer as { text?: string } | undefined)?.text, (embed.author as { name?: string } | undefined)?.name].filter((t): t is string => typeof t === 'string');
  const markdown = [embed.title, embed.description, ...((embed.fields as Array<{ name: string; value: string }> | undefined) ?? []).flatMap((f) => [f.name, f.value]), body.content]
    .filter((t): t is string => typeof t === 'string');
  for (const text of [...plain, ...markdown]) {
    if (/@(everyone|here)/i.test(text)) problems.push(`a live @everyone/@here in ${JSON.stringify(text.slice(0, 80))}`);
  }
  for (const text of markdown) {
    for (const at of unescaped(text, '<')) problems.push(`an unescaped "<" (a mention) at ${at}: ${JSON.stringify(text.slice(at, at + 30))}`);
    // Every live masked link `](url)` must be one Inkwire made, to a URL of this card.
    for (const at of unescaped(text, '](')) {
      const end = text.indexOf(')', at + 2);
      const url = end === -1 ? '' : text.slice(at + 2, end);
      if (!allowed.has(url)) problems.push(`a masked link Inkwire did not make: ${JSON.stringify(text.slice(Math.max(0, at - 20), at + 60))}`);
    }
  }
  if (embed.url !== undefined && !allowed.has(String(embed.url))) problems.push(`embed url ${String(embed.url).slice(0, 60)}`);
  return problems;
}

function slackProblems(card: PostCard, asDigest = false): string[] {
  const payload = deliveryPayload(asDigest ? { kind: 'digest', title: `Digest: ${card.title}`, cards: [card, card] } : { kind: 'post', card });
  const problems = validateBlocks(payload.blocks);
  if (payload.text.includes('<')) problems.push('a "<" in the fallback text');
  const allowed = allowedUrls(card);
  // Only mrkdwn renders links and mentions; plain_text (header, alt text, buttons) is shown as typed.
  const mrkdwn: string[] = [];
  for (const block of payload.blocks as Array<{ text?: { type: string; text: string }; elements?: Array<{ type: string; text?: unknown }> }>) {
    if (block.text?.type === 'mrkdwn') mrkdwn.push(block.text.text);
    for (const element of block.elements ?? []) if (element.type === 'mrkdwn') mrkdwn.push(String(element.text));
  }
  for (const text of mrkdwn) {
    for (const match of text.matchAll(/<([^|>]*)\|/g)) {
      if (!allowed.has(match[1]!.replace(/&amp;/g, '&'))) problems.push(`a link Inkwire did not make: ${match[1]!.slice(0, 60)}`);
    }
    if (/(^|[^\u200b@])@(channel|here|everyone)\b/i.test(text.replace(/@\u200b/g, ''))) problems.push(`a live @channel/@here in ${JSON.stringify(text.slice(0, 60))}`);
  }
  return problems;
}

describe('hostile feed text renders as inert text on every platform (property tests)', () => {
  const posts = fc.tuple(field, field, field, field, link, link).map(([title, subtitle, body, tldr, url, cover]) => buildPostCard(postOf(title, subtitle, body, tldr, url, cover)));

  it('GIVEN any post THEN the Discord payload passes the official schemas and limits, with no mention, @everyone or link Inkwire did not put there', () => {
    fc.assert(fc.property(posts, (card) => {
      expect(discordProblems(card)).toEqual([]);
    }), { numRuns: 300 });
  });

  it('GIVEN any post THEN the Slack blocks pass Block Kit limits and every "<" opens a link Inkwire made', () => {
    fc.assert(fc.property(posts, (card) => {
      expect(slackProblems(card)).toEqual([]);
    }), { numRuns: 300 });
  });

  it('GIVEN any post in a digest THEN the same holds for the digest message on both platforms', () => {
    fc.assert(fc.property(posts, (card) => {
      expect(discordProblems(card, true)).toEqual([]);
      expect(slackProblems(card, true)).toEqual([]);
    }), { numRuns: 150 });
  });

  it('GIVEN the DOI from the report THEN Discord shows no phishing link and Slack no raw "<" inside a link', () => {
    const card = buildPostCard(postOf('T', '', 'cites 10.1234/a)[verify-your-account](https://evil.example/login and 10.1002/(SICI)1097-4636(199706)35:4<475::AID-JBM6>3.0.CO;2-I', '', 'https://dailyink.substack.com/p/t', ''));
    expect(card.papers.map((p) => p.url)).toEqual([
      'https://doi.org/10.1234/a',
      'https://doi.org/10.1002/%28sici%291097-4636%28199706%2935:4%3C475::aid-jbm6%3E3.0.co;2-i',
    ]);
    expect(discordProblems(card)).toEqual([]);
    expect(slackProblems(card)).toEqual([]);
    expect(JSON.stringify(deliveryMessage({ kind: 'post', card }, 'k'))).not.toContain('evil.example');
  });

  it('GIVEN safeLinkUrl THEN only http(s), credentials dropped, markup characters encoded, length capped', () => {
    expect(safeLinkUrl('javascript:alert(1)')).toBeNull();
    expect(safeLinkUrl('https://a:b@host.example/x(y)|<z>')).toBe('https://host.example/x%28y%29%7C%3Cz%3E');
    expect(safeLinkUrl(`https://host.example/${'a'.repeat(3000)}`)).toBeNull();
  });
});
