import { readFileSync } from 'node:fs';
import { draftFromSubstackPost } from '../../src/backfill/substack-post.ts';
import type { Store } from '../../src/storage/store.ts';

export interface CorpusPost {
  slug: string;
  title: string;
  subtitle: string;
  author: string | null;
  publishedAt: string;
  audience: string;
  html: string;
}

export interface CorpusCase {
  query: string;
  category: string;
  expectTop1?: string;
  expectInTop5?: string[];
  expectNone?: boolean;
  note?: string;
}

export const searchCorpus = JSON.parse(
  readFileSync(new URL('../fixtures/search-corpus.json', import.meta.url), 'utf8'),
) as { posts: CorpusPost[]; cases: CorpusCase[] };

/** Loads the relevance corpus as if backfilled from Substack's archive API. */
export async function loadSearchCorpus(store: Store, feedUrl = 'https://dailyink.substack.com/feed'): Promise<number> {
  const feed = await store.feeds.ensure(feedUrl, new Date('2025-01-01T00:00:00Z'));
  const drafts = searchCorpus.posts.map((post) =>
    draftFromSubstackPost(
      {
        slug: post.slug,
        title: post.title,
        subtitle: post.subtitle,
        post_date: post.publishedAt,
        canonical_url: `https://dailyink.substack.com/p/${post.slug}`,
        audience: post.audience,
        body_html: post.html,
        publishedBylines: post.author ? [{ name: post.author }] : [],
      },
      'https://dailyink.substack.com',
    ),
  );
  await store.posts.ingest({ feedId: feed.id, at: new Date('2025-01-01T00:00:00Z'), drafts, announceKeys: new Set() });
  return feed.id;
}
