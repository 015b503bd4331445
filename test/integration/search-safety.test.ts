import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { parseSearchQuery } from '../../src/search/search-query.ts';
import { createSearchService, type SearchService } from '../../src/search/search-service.ts';
import { buildMatchExpression } from '../../src/storage/sqlite/fts5-expression.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { loadSearchCorpus } from '../fakes/search-corpus.ts';

const SYNTAX = ['"', '*', '(', ')', ':', '^', '-', '+', '{', '}', 'AND', 'OR', 'NOT', 'NEAR(', 'title:', 'author:', 'before:', 'after:', 'col:', "'", '’', '“', '\u0000', '\u001b', '😀', '注意力', ' ', '  ', '2205.14135', 'arxiv.org/abs/', '10.1038/', "'; DROP TABLE posts; --"];

describe('search is safe for any input', () => {
  let store: Store;
  let service: SearchService;

  beforeAll(async () => {
    store = openSqliteStore(':memory:', { clock: createManualClock(new Date('2025-01-01T00:00:00Z')), candidateCap: 5 });
    await loadSearchCorpus(store);
    service = createSearchService({ index: store.search, logger: createSilentLogger() });
  });
  afterAll(async () => store.close());

  const neverFails = async (input: string) => {
    const result = await service.search(input, { limit: 5 });
    if (!result.ok) {
      expect(result.error.identifier).not.toBe('search/failed');
      expect(result.error.message.length).toBeGreaterThan(0);
    }
    await store.search.autocomplete(input, 25);
  };

  it('GIVEN random Unicode strings THEN every query answers or explains, never an SQL error', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 320 }), neverFails), { numRuns: 1500 });
  });

  it('GIVEN strings built from FTS5 syntax, filters and hostile fragments THEN never an SQL error', async () => {
    const hostile = fc.array(fc.constantFrom(...SYNTAX, 'attention', 'lora', 'fine-tuning', 'x'), { maxLength: 40 }).map((parts) => parts.join(''));
    const spaced = fc.array(fc.constantFrom(...SYNTAX, 'attention', 'lora'), { maxLength: 20 }).map((parts) => parts.join(' '));
    await fc.assert(fc.asyncProperty(fc.oneof(hostile, spaced), neverFails), { numRuns: 3000 });
  });

  it('GIVEN any parsed query THEN the match expression only ever quotes tokens', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (input) => {
        const parsed = parseSearchQuery(input);
        if (!parsed.ok) return;
        for (const anyWord of [false, true]) {
          const expression = buildMatchExpression(parsed.value, { anyWord }) ?? '';
          const outsideQuotes = expression.replace(/"[^"]*"/g, '');
          expect(outsideQuotes).toMatch(/^[\s()*{}:^a-zA-Z_]*$/);
          expect(outsideQuotes.replace(/\b(AND|OR|NOT|author)\b/g, '')).not.toMatch(/[a-z]/i);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['x'.repeat(301), 'search/query-too-long', /limit is 300/],
    ['***', 'search/nothing-searchable', /at least one word/],
    ['"" () :: ^^', 'search/nothing-searchable', /at least one word/],
    ['-attention', 'search/only-exclusions', /only excludes/],
    ['attention before:yesterday', 'search/bad-date', /before:2024-01-31/],
    ['after:2024-02-30 lora', 'search/bad-date', /after:/],
    ['author:', 'search/bad-author', /author:somani/],
  ])('GIVEN %j THEN a clear message (%s)', async (input, identifier, message) => {
    const result = await service.search(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.identifier).toBe(identifier);
      expect(result.error.message).toMatch(message);
    }
  });

  it('GIVEN quotes, asterisks and operators mixed into real words THEN still finds the post', async () => {
    const result = await service.search('"flash" AND attention* OR NEAR(sram');
    expect(result.ok && result.value.hits.length).toBeGreaterThan(0);
  });
});
