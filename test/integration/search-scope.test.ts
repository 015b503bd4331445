import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createSilentLogger } from '../../src/logger.ts';
import type { PostDraft } from '../../src/posts/post.ts';
import { createSearchService, type SearchResults, type SearchService } from '../../src/search/search-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { makeDraft } from '../fakes/post-drafts.ts';
import { STORE_BACKENDS, type StoreBackend } from '../fakes/store-backends.ts';

const NOW = new Date('2025-01-01T00:00:00Z');
/** Feed A, ingested last (newest rowids): this many posts say "attention". */
const A_MATCHES = 30;
/** Feed B, ingested first: this many posts say "attention" (3 of them in 2024, the rest in 2022). */
const B_MATCHES = 7;
const PAPER = '2205.14135';

const draft = (feed: 'alpha' | 'beta', slug: string, title: string, text: string, publishedAt: string, overrides: Partial<PostDraft> = {}) =>
  makeDraft(slug, { url: `https://${feed}.example/p/${slug}`, title, text, html: `<p>${text}</p>`, publishedAt: new Date(publishedAt), ...overrides });

/**
 * Two feeds in one store: B's few posts first (older rowids), then A's many, so every "newest first"
 * candidate window and every unscoped top 10 is A's. Both say "attention heads"; a paper both feeds cite;
 * a post in A that has "attention" together with "xylophone" (so the all-words search matches only in A).
 */
async function seedTwoFeeds(store: Store): Promise<{ a: number; b: number }> {
  const b = (await store.feeds.ensure('https://beta.example/feed', NOW)).id;
  const a = (await store.feeds.ensure('https://alpha.example/feed', NOW)).id;
  const beta = [
    ...Array.from({ length: B_MATCHES }, (_, i) =>
      draft('beta', `b-${i}`, `Attention beta ${i}`, `Beta note ${i} on attention heads and kernels.`, i < 4 ? `2022-0${i + 1}-10T00:00:00Z` : `2024-0${i - 3}-10T00:00:00Z`),
    ),
    draft('beta', 'b-paper', 'Kernel notes beta', 'Beta on tiled kernels.', '2022-06-01T00:00:00Z', { papers: [{ kind: 'arxiv', id: PAPER }] }),
  ];
  const alpha = [
    ...Array.from({ length: A_MATCHES }, (_, i) =>
      draft('alpha', `a-${i}`, `Attention alpha ${i}`, `Alpha essay ${i} on attention heads${i === 0 ? ' and the xylophone' : ''}.`, `2024-0${(i % 9) + 1}-15T00:00:00Z`),
    ),
    draft('alpha', 'a-paper', 'Kernel notes alpha', 'Alpha on tiled kernels.', '2024-06-01T00:00:00Z', { papers: [{ kind: 'arxiv', id: PAPER }] }),
    draft('alpha', 'a-mention', 'Reading list alpha', `Alpha mentions ${PAPER} in passing.`, '2024-07-01T00:00:00Z'),
  ];
  await store.posts.ingest({ feedId: b, at: NOW, drafts: beta, announceKeys: new Set() });
  await store.posts.ingest({ feedId: a, at: NOW, drafts: alpha, announceKeys: new Set() });
  return { a, b };
}

const searchOk = async (service: SearchService, text: string, options: Parameters<SearchService['search']>[1]): Promise<SearchResults> => {
  const result = await service.search(text, options);
  if (!result.ok) throw result.error;
  return result.value;
};

/** The same rules on both stores: the scope is part of the index query, so pages are full and totals exact. */
describe.each(STORE_BACKENDS)('search scoped to the asker’s feeds on %s', (_name, makeBackend, skip) => {
  let backend: StoreBackend;
  let store: Store;
  let service: SearchService;
  let feeds: { a: number; b: number };
  const search = (text: string, options: Parameters<SearchService['search']>[1] = {}) => searchOk(service, text, options);

  beforeEach(async (context) => {
    if (skip) return context.skip('TEST_DATABASE_URL is not set (see the warning above)');
    backend ??= makeBackend();
    store = await backend.open({ clock: createManualClock(NOW) });
    feeds = await seedTwoFeeds(store);
    service = createSearchService({ index: store.search, logger: createSilentLogger() });
  });
  afterAll(async () => backend?.cleanup());

  it('GIVEN many matches in feed A and a few in B WHEN scoped to B THEN full pages of only B’s posts and B’s exact total', async () => {
    const unscoped = await search('attention', { limit: 5 });
    expect(unscoped.total).toBe(A_MATCHES + B_MATCHES);
    expect(unscoped.hits.every((h) => h.post.feedId === feeds.a)).toBe(true);

    const first = await search('attention', { limit: 5, feedIds: [feeds.b] });
    expect(first.hits.map((h) => h.post.feedId)).toEqual(Array(5).fill(feeds.b));
    expect(first).toMatchObject({ total: B_MATCHES, totalIsLowerBound: false, fallback: false });

    const second = await search('attention', { limit: 5, offset: 5, feedIds: [feeds.b] });
    expect(second.hits.map((h) => h.post.feedId)).toEqual(Array(B_MATCHES - 5).fill(feeds.b));
    expect(second.total).toBe(B_MATCHES);
    const seen = [...first.hits, ...second.hits].map((h) => h.post.url);
    expect(new Set(seen).size).toBe(B_MATCHES);

    const both = await search('attention', { limit: 5, feedIds: [feeds.a, feeds.b] });
    expect(both.total).toBe(A_MATCHES + B_MATCHES);
  });

  it('GIVEN an empty scope THEN search, suggestions and paper look-up find nothing', async () => {
    expect(await search('attention', { feedIds: [] })).toMatchObject({ hits: [], total: 0, totalIsLowerBound: false, fallback: false });
    expect(await search(PAPER, { feedIds: [] })).toMatchObject({ hits: [], total: 0 });
    expect(await search('after:2020-01-01', { feedIds: [] })).toMatchObject({ hits: [], total: 0 });
    expect(await service.suggest('atten', { feedIds: [] })).toEqual([]);
    expect(await store.search.postsCitingPaper({ kind: 'arxiv', id: PAPER }, 10, { feedIds: [] })).toEqual([]);
  });

  it('GIVEN every word matching only in A WHEN scoped to B THEN the any-word fallback runs inside B', async () => {
    expect((await search('attention xylophone')).hits.map((h) => h.post.title)).toEqual(['Attention alpha 0']);
    const scoped = await search('attention xylophone', { limit: 10, feedIds: [feeds.b] });
    expect(scoped.fallback).toBe(true);
    expect(scoped.total).toBe(B_MATCHES);
    expect(scoped.hits.map((h) => h.post.feedId)).toEqual(Array(B_MATCHES).fill(feeds.b));
  });

  it('GIVEN a date filter WHEN scoped to B THEN both hold inside the query', async () => {
    const scoped = await search('attention after:2023-12-31', { limit: 10, feedIds: [feeds.b] });
    expect(scoped.hits.map((h) => h.post.title).sort()).toEqual(['Attention beta 4', 'Attention beta 5', 'Attention beta 6']);
    expect(scoped.total).toBe(3);
    const datesOnly = await search('before:2023-01-01', { limit: 25, feedIds: [feeds.a] });
    expect(datesOnly).toMatchObject({ hits: [], total: 0 });
    expect((await search('before:2023-01-01', { limit: 25, feedIds: [feeds.b] })).total).toBe(5);
  });

  it('GIVEN partial input WHEN scoped to B THEN autocomplete suggests only B’s titles', async () => {
    const unscoped = await service.suggest('atten');
    expect(unscoped.length).toBe(25);
    const scoped = await service.suggest('atten', { feedIds: [feeds.b] });
    expect(scoped.map((s) => s.label).sort()).toEqual(Array.from({ length: B_MATCHES }, (_, i) => `Attention beta ${i}`));
    expect(await store.search.autocomplete('attention be', 25, { feedIds: [feeds.a] })).toEqual([]);
  });

  it('GIVEN an arXiv id both feeds cite WHEN scoped to B THEN the paper look-up and the mention search find only B’s post', async () => {
    const unscoped = await search(PAPER, { limit: 10 });
    // (SQLite also finds A's post that mentions the id in its text; PostgreSQL's parser reads `2205.14135` as one number.)
    expect(unscoped.hits.map((h) => h.post.title)).toEqual(expect.arrayContaining(['Kernel notes alpha', 'Kernel notes beta']));
    const scoped = await search(PAPER, { limit: 10, feedIds: [feeds.b] });
    expect(scoped.hits.map((h) => [h.post.title, h.matchedBy])).toEqual([['Kernel notes beta', 'paper']]);
    expect(scoped.total).toBe(1);
    expect((await store.search.postsCitingPaper({ kind: 'arxiv', id: PAPER }, 10, { feedIds: [feeds.a] })).map((p) => p.title)).toEqual(['Kernel notes alpha']);
  });
});

/**
 * SQLite's candidate cap (PostgreSQL has none: it always ranks every match, which the tests above cover).
 * The scope must count before the cap: here feed A alone has more matches than the cap, all newer than B's.
 * Ranking the newest `cap` candidates of every feed and filtering afterwards would leave B with nothing.
 */
describe('search scope and the SQLite candidate cap', () => {
  let store: ReturnType<typeof openSqliteStore>;
  let service: SearchService;
  let feeds: { a: number; b: number };
  const open = async (candidateCap: number) => {
    store = openSqliteStore(':memory:', { clock: createManualClock(NOW), candidateCap });
    feeds = await seedTwoFeeds(store);
    service = createSearchService({ index: store.search, logger: createSilentLogger() });
  };
  afterEach(async () => store.close());

  it('GIVEN A alone over the cap and B under it WHEN scoped to B THEN B is ranked exactly, with its exact total', async () => {
    await open(10);
    const unscoped = await searchOk(service, 'attention', { limit: 5 });
    expect(unscoped.totalIsLowerBound).toBe(true);

    const first = await searchOk(service, 'attention', { limit: 5, feedIds: [feeds.b] });
    expect(first.hits.map((h) => h.post.feedId)).toEqual(Array(5).fill(feeds.b));
    expect(first).toMatchObject({ total: B_MATCHES, totalIsLowerBound: false });
    const second = await searchOk(service, 'attention', { limit: 5, offset: 5, feedIds: [feeds.b] });
    expect(second.hits.map((h) => h.post.feedId)).toEqual(Array(B_MATCHES - 5).fill(feeds.b));
    expect(second.total).toBe(B_MATCHES);
  });

  it('GIVEN B itself over the cap WHEN scoped to B THEN pages within the cap are full of B’s posts and the total is a lower bound over B', async () => {
    await open(3);
    const seen = new Set<string>();
    // The capped path ranks a window of about `cap` candidates, scoped or not: pages are taken within it.
    for (const offset of [0, 1, 2]) {
      const page = await searchOk(service, 'attention', { limit: 1, offset, feedIds: [feeds.b] });
      expect(page.hits.map((h) => h.post.feedId)).toEqual([feeds.b]);
      expect(page).toMatchObject({ total: 4, totalIsLowerBound: true });
      seen.add(page.hits[0]!.post.url);
    }
    expect(seen.size).toBe(3);
    // A phrase of words that are all over the cap takes the newest-bodies path: scoped too.
    const phrase = await searchOk(service, '"attention heads"', { limit: 3, feedIds: [feeds.b] });
    expect(phrase.hits.map((h) => h.post.feedId)).toEqual(Array(3).fill(feeds.b));
  });
});
