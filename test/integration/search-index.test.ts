import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createSearchService, type SearchService } from '../../src/search/search-service.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { draftFromSubstackPost } from '../../src/backfill/substack-post.ts';
import { loadSearchCorpus } from '../fakes/search-corpus.ts';

describe('the SQLite search index', () => {
  let store: Store;
  let service: SearchService;
  let feedId: number;

  beforeEach(async () => {
    store = openSqliteStore(':memory:', { clock: createManualClock(new Date('2025-01-01T00:00:00Z')) });
    feedId = await loadSearchCorpus(store);
    service = createSearchService({ index: store.search, logger: createSilentLogger() });
  });
  afterEach(async () => store.close());

  const search = async (text: string, options?: { limit?: number; offset?: number }) => {
    const result = await service.search(text, options);
    if (!result.ok) throw result.error;
    return result.value;
  };

  it('GIVEN a match THEN the snippet marks the matched terms bold and has no markers left', async () => {
    const result = await search('tiling sram');
    const snippet = result.hits[0]!.snippet;
    expect(snippet.some((span) => span.bold && /tiling|sram/i.test(span.text))).toBe(true);
    expect(snippet.map((s) => s.text).join('')).not.toMatch(/[\uE000\uE001]/);
  });

  it('GIVEN every word required and none matching together THEN falls back to any word and says so', async () => {
    const result = await search('flashattention xylophone');
    expect(result.fallback).toBe(true);
    expect(result.hits[0]!.post.url).toContain('flashattention');
  });

  it('GIVEN limit and offset THEN pages through results with a stable total', async () => {
    const first = await search('model', { limit: 3 });
    const second = await search('model', { limit: 3, offset: 3 });
    expect(first.total).toBe(second.total);
    expect(first.total).toBeGreaterThan(6);
    const ids = [...first.hits, ...second.hits].map((h) => h.post.id);
    expect(new Set(ids).size).toBe(6);
  });

  it('GIVEN an arXiv id, URL or DOI THEN the post that cites it comes first, marked as a paper match', async () => {
    for (const query of ['2205.14135', 'https://arxiv.org/abs/2205.14135v2', 'arxiv.org/pdf/2205.14135']) {
      const result = await search(query);
      expect(result.hits[0]!.matchedBy).toBe('paper');
      expect(result.hits[0]!.post.url).toContain('flashattention');
    }
  });

  it('GIVEN an edited post THEN the index follows in the same transaction', async () => {
    const draft = draftFromSubstackPost(
      { slug: 'flashattention-challenges-ml-researchers', title: 'Zanzibar kernels', subtitle: null, body_html: '<p>Completely new text about zanzibar.</p>', post_date: '2023-01-01T00:00:00Z' },
      'https://dailyink.substack.com',
    );
    await store.posts.ingest({ feedId, at: new Date(), drafts: [draft], announceKeys: new Set() });
    expect((await search('zanzibar')).hits.map((h) => h.post.title)).toEqual(['Zanzibar kernels']);
    expect((await search('flashattention')).hits.every((h) => h.post.title !== 'Zanzibar kernels')).toBe(true);
  });

  it('GIVEN partial input THEN autocomplete suggests titles by prefix, at most 25, each at most 100 characters', async () => {
    const suggestions = await store.search.autocomplete('flash', 25);
    expect(suggestions[0]!.label).toMatch(/^FlashAttention/);
    const many = await store.search.autocomplete('t', 25);
    expect(many.length).toBeLessThanOrEqual(25);
    for (const s of many) expect(s.label.length).toBeLessThanOrEqual(100);
    expect(await store.search.autocomplete('learnin', 25)).toEqual(expect.any(Array));
    expect(await store.search.autocomplete('   ', 25)).toEqual([]);
  });

  it('GIVEN reindex THEN rebuilds from stored posts and search still works', async () => {
    const stats = await store.search.reindex();
    expect(stats.posts).toBeGreaterThanOrEqual(40);
    expect((await search('flashattention')).hits[0]!.post.url).toContain('flashattention');
  });

  it('GIVEN a common word beyond the candidate cap THEN results are still ranked, with the total marked as a lower bound', async () => {
    const capped = openSqliteStore(':memory:', { clock: createManualClock(new Date('2025-01-01T00:00:00Z')), candidateCap: 5 });
    await loadSearchCorpus(capped);
    const cappedService = createSearchService({ index: capped.search, logger: createSilentLogger() });
    const result = await cappedService.search('attention', { limit: 5 });
    if (!result.ok) throw result.error;
    expect(result.value.totalIsLowerBound).toBe(true);
    // The title match from any time joins the candidates, so the best post is still first.
    expect(result.value.hits[0]!.post.url).toContain('transformer-attention-replaced-recurrence');
    await capped.close();
  });

  it('GIVEN only an author THEN that author\'s posts, newest first', async () => {
    const any = (await search('attention', { limit: 1 })).hits[0]!.post.author!;
    const result = await search(`author:${any.split(' ')[0]!.toLowerCase()}`, { limit: 10 });
    expect(result.hits.length).toBeGreaterThan(1);
    const dates = result.hits.map((h) => h.post.publishedAt!.getTime());
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
  });

  it('GIVEN an exclusion on the capped path (the head index answers first) THEN no result contains the excluded word', async () => {
    const capped = openSqliteStore(':memory:', { clock: createManualClock(new Date('2025-01-01T00:00:00Z')), candidateCap: 3 });
    await loadSearchCorpus(capped);
    const cappedService = createSearchService({ index: capped.search, logger: createSilentLogger() });
    const all = await cappedService.search('attention', { limit: 10 });
    const without = await cappedService.search('attention -flashattention', { limit: 10 });
    if (!all.ok || !without.ok) throw new Error('search failed');
    expect(all.value.hits.some((h) => /flashattention/i.test(`${h.post.title} ${h.post.text}`))).toBe(true);
    for (const hit of without.value.hits) expect(`${hit.post.title} ${hit.post.subtitle ?? ''} ${hit.post.text}`).not.toMatch(/flashattention/i);
    await capped.close();
  });

  it('GIVEN snippets rendered on every platform and the CLI THEN never a doubled ellipsis, and CLI snippet lines stay indented', async () => {
    const { replyData } = await import('../../adapters/discord/discord-render.ts');
    const { replyPayload } = await import('../../adapters/slack/slack-render.ts');
    const { formatSearchResults } = await import('../../src/cli/search-output.ts');
    const { searchCommand } = await import('../../commands/search.ts');
    const { createCoreFixture } = await import('../fakes/core-fixture.ts');
    const fixture = createCoreFixture();
    await loadSearchCorpus(fixture.store);
    const reply = await searchCommand.handle({ invoker: { userId: 'u', displayName: 'u', canManage: false }, place: { platform: 'console', workspaceId: null, channelId: 'c', isDirect: false }, services: fixture.core.commandServices }, { query: 'attention', limit: 5 });
    for (const rendered of [JSON.stringify(replyData(reply)), JSON.stringify(replyPayload(reply))]) expect(rendered).not.toMatch(/……|…\s…|… …/);
    const cli = formatSearchResults((await search('attention')));
    expect(cli).not.toMatch(/……/);
    for (const line of cli.split('\n').filter((l) => l.length > 0 && !/^\d/.test(l))) expect(line).toMatch(/^ {2}\S|^\d/);
    await fixture.store.close();
  });
});
