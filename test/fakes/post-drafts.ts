import type { PostDraft } from '../../src/posts/post.ts';

/** A Substack-shaped post draft for tests: `slug` gives its key and URL; anything else can be overridden. */
export function makeDraft(slug: string, overrides: Partial<PostDraft> = {}): PostDraft {
  return {
    key: `slug:${slug}`,
    guid: `guid-${slug}`,
    url: `https://dailyink.substack.com/p/${slug}`,
    title: slug.replace(/-/g, ' '),
    subtitle: null,
    author: 'A',
    publishedAt: new Date('2023-03-10T00:00:00Z'),
    coverImageUrl: null,
    html: `<p>${slug}</p>`,
    text: slug.replace(/-/g, ' '),
    wordCount: 10,
    readingMinutes: 1,
    tldr: null,
    previewOnly: false,
    papers: [],
    ...overrides,
  };
}
