import { describe, expect, it } from 'vitest';
import { decodeFeedBody } from '../../src/feeds/charset.ts';
import { feedOrder, newestItems } from '../../src/feeds/feed-items-cap.ts';
import type { FeedItem } from '../../src/feeds/feed-parser.ts';
import { clampFutureDate, FUTURE_DATE_TOLERANCE_MS } from '../../src/posts/post-dates.ts';
import { storableDraft, storableText } from '../../src/posts/stored-text.ts';
import { makeDraft } from '../fakes/post-drafts.ts';

const FETCHED = new Date('2026-03-09T12:00:00Z');

describe('clampFutureDate', () => {
  it('GIVEN a date beyond the tolerance THEN the fetch time is used and the claim kept', () => {
    const claimed = new Date(FETCHED.getTime() + FUTURE_DATE_TOLERANCE_MS + 1);
    const draft = clampFutureDate(makeDraft('a', { publishedAt: claimed }), FETCHED);
    expect(draft.publishedAt).toEqual(FETCHED);
    expect(draft.claimedPublishedAt).toEqual(claimed);
  });

  it.each([
    ['at the tolerance', FUTURE_DATE_TOLERANCE_MS],
    ['in the past', -86_400_000],
  ])('GIVEN a date %s THEN it is kept as given', (_label, offset) => {
    const date = new Date(FETCHED.getTime() + offset);
    const draft = clampFutureDate(makeDraft('a', { publishedAt: date }), FETCHED);
    expect(draft.publishedAt).toEqual(date);
    expect(draft.claimedPublishedAt ?? null).toBeNull();
  });

  it('GIVEN no date THEN none is invented', () => {
    expect(clampFutureDate(makeDraft('a', { publishedAt: null }), FETCHED).publishedAt).toBeNull();
  });
});

describe('storableText', () => {
  it('GIVEN NUL, other C0 controls, tab, newline, CR and lone surrogates THEN keeps tab/newline/CR, drops the controls and replaces the lone surrogates', () => {
    expect(storableText('a\u0000b\u0001c\u001fd\te\nf\rg\u007fh')).toBe('abcd\te\nf\rg\u007fh');
    expect(storableText('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(storableText('emoji \uD83D\uDE00 stays')).toBe('emoji \uD83D\uDE00 stays');
  });

  it('GIVEN a draft THEN every text field, papers included, is made storable', () => {
    const draft = storableDraft(makeDraft('a', { title: 't\u0000', subtitle: 's\u0000', author: '\u0000a', html: '<p>\u0000</p>', text: '\u0000x', tldr: 'y\u0000', papers: [{ kind: 'arxiv', id: '2205.14135', title: 'Flash\u0000' }] }));
    expect(JSON.stringify(draft)).not.toContain('\\u0000');
    expect(draft.papers[0]!.title).toBe('Flash');
  });
});

const item = (n: number, date: string | null): FeedItem => ({
  title: `item ${n}`, link: `https://x.example/${n}`, guid: null, description: null, contentHtml: null, author: null,
  publishedAt: date === null ? null : new Date(date), enclosureUrl: null, enclosureType: null,
});
const titles = (items: FeedItem[]) => items.map((i) => i.title);

describe('newestItems', () => {
  it('GIVEN dated items THEN keeps the newest by date, in document order', () => {
    const items = [item(1, '2026-01-01'), item(3, '2026-01-03'), item(2, '2026-01-02'), item(4, '2026-01-04')];
    expect(titles(newestItems(items, 2))).toEqual(['item 3', 'item 4']);
  });

  it('GIVEN undated items listed oldest first after dated ones that show that order THEN the last (newest) are kept', () => {
    const items = [item(1, '2026-01-01'), item(2, '2026-01-02'), item(3, '2026-01-03'), item(4, null), item(5, null), item(6, null)];
    expect(feedOrder(items)).toBe('oldest-first');
    expect(titles(newestItems(items, 2))).toEqual(['item 5', 'item 6']);
  });

  it('GIVEN undated items in a newest-first feed THEN the first are kept', () => {
    const items = [item(6, null), item(5, null), item(4, null), item(3, '2026-01-03'), item(2, '2026-01-02'), item(1, '2026-01-01')];
    expect(feedOrder(items)).toBe('newest-first');
    expect(titles(newestItems(items, 2))).toEqual(['item 6', 'item 5']);
  });

  it('GIVEN no dates at all THEN both ends are kept, so a new item is read at either end', () => {
    const items = [1, 2, 3, 4, 5, 6, 7].map((n) => item(n, null));
    expect(feedOrder(items)).toBe('unknown');
    expect(titles(newestItems(items, 4))).toEqual(['item 1', 'item 2', 'item 6', 'item 7']);
    expect(titles(newestItems(items, 3))).toEqual(['item 1', 'item 2', 'item 7']);
  });
});

describe('decodeFeedBody', () => {
  const xml = '<?xml version="1.0"?><rss><channel><title>Café</title></channel></rss>';
  it.each([
    ['UTF-8', [0xef, 0xbb, 0xbf], Buffer.from(xml, 'utf8')],
    ['UTF-16LE', [0xff, 0xfe], Buffer.from(xml, 'utf16le')],
    ['UTF-16BE', [0xfe, 0xff], Buffer.from(xml, 'utf16le').swap16()],
  ])('GIVEN a %s BOM and a Content-Type naming ISO-8859-1 THEN the BOM decides, and is not part of the text', (_name, bom, body) => {
    const text = decodeFeedBody(Buffer.concat([Buffer.from(bom), body]), 'application/rss+xml; charset=ISO-8859-1');
    expect(text).toBe(xml);
  });

  it('GIVEN no BOM THEN the Content-Type charset still decides', () => {
    expect(decodeFeedBody(Buffer.from('<rss>Caf\xe9</rss>', 'latin1'), 'text/xml; charset=ISO-8859-1')).toBe('<rss>Café</rss>');
  });
});
