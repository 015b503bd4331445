import { describe, expect, it } from 'vitest';
import { parseArchivePage, parseSubstackPost } from '../../src/backfill/substack-post.ts';

describe('parseSubstackPost: Substack API objects as Inkwire reads them', () => {
  it('GIVEN a full post THEN the fields Inkwire reads are kept and nothing else', () => {
    expect(parseSubstackPost({
      id: 7, slug: 'moe', title: 'MoE', subtitle: 's', post_date: '2024-01-01T00:00:00Z', audience: 'everyone', body_html: '<p>x</p>',
      wordcount: 120, publishedBylines: [{ name: 'Ada', id: 3 }], reactions: { '❤': 4 }, secret_internal: true,
    })).toEqual({ id: 7, slug: 'moe', title: 'MoE', subtitle: 's', post_date: '2024-01-01T00:00:00Z', audience: 'everyone', body_html: '<p>x</p>', wordcount: 120, publishedBylines: [{ name: 'Ada', id: 3 }] });
  });

  it('GIVEN what is not a post THEN null: no slug, an empty or 301-character slug, an id or title or date of the wrong type, not an object', () => {
    for (const bad of [{}, { slug: '' }, { slug: 'x'.repeat(301) }, { slug: 'a', id: '7' }, { slug: 'a', title: 5 }, { slug: 'a', post_date: 20240101 }, null, [], 'moe', 42]) {
      expect(parseSubstackPost(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('GIVEN lenient fields of another type THEN they are null; absent fields stay absent (so a full post can be laid over its archive row)', () => {
    const post = parseSubstackPost({ slug: 'a', subtitle: 3, body_html: { html: 'x' }, wordcount: 'many', publishedBylines: [{ name: 9 }], title: null });
    expect(post).toEqual({ slug: 'a', title: null, subtitle: null, body_html: null, wordcount: null, publishedBylines: null });
    expect(Object.keys(parseSubstackPost({ slug: 'b' })!)).toEqual(['slug']);
    expect({ ...{ slug: 'b', body_html: '<p>from the archive</p>' }, ...parseSubstackPost({ slug: 'b', title: 'T' })! }).toEqual({ slug: 'b', body_html: '<p>from the archive</p>', title: 'T' });
  });

  it('GIVEN an archive page THEN rows that do not fit are counted and dropped, not fatal; a page that is not an array is null', () => {
    expect(parseArchivePage([{ slug: 'a' }, { title: 'no slug' }, { slug: 'b', id: 'x' }])).toEqual({ posts: [{ slug: 'a' }], rejected: 2 });
    expect(parseArchivePage({ posts: [] })).toBeNull();
  });
});
