import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFeedXml } from '../../src/feeds/feed-parser.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

describe('parseFeedXml', () => {
  it('GIVEN a Substack feed THEN the body comes from content:encoded and the subtitle from description', async () => {
    const result = await parseFeedXml(fixture('dailyink-feed-v1.xml'));
    if (!result.ok) throw result.error;
    expect(result.value.generator).toBe('Substack');
    const lora = result.value.items[0]!;
    expect(lora.description).toBe('Low-rank adapters make fine-tuning cheap');
    expect(lora.contentHtml).toContain('<p>LoRA freezes');
    expect(lora.enclosureUrl).toMatch(/^https:\/\//);
    const rlhf = result.value.items.find((item) => item.link?.endsWith('rlhf-explained'))!;
    expect(rlhf.author).toBeNull();
    expect(result.value.author).toBe('Arushi Somani');
  });

  it('GIVEN an Atom feed THEN reads entries, summary as subtitle and content as body', async () => {
    const atom = `<?xml version="1.0" encoding="utf-8"?>
      <feed xmlns="http://www.w3.org/2005/Atom"><title>Lab notes</title><link href="https://lab.example/"/>
      <entry><title>Sparse attention</title><id>tag:lab.example,2024:1</id><link href="https://lab.example/posts/1"/>
      <published>2024-01-02T03:04:05Z</published><summary>Short version</summary>
      <content type="html">&lt;p&gt;Long version with arXiv:2205.14135&lt;/p&gt;</content><author><name>Ada</name></author></entry></feed>`;
    const result = await parseFeedXml(atom);
    if (!result.ok) throw result.error;
    expect(result.value.items).toEqual([
      expect.objectContaining({
        title: 'Sparse attention',
        guid: 'tag:lab.example,2024:1',
        link: 'https://lab.example/posts/1',
        description: 'Short version',
        contentHtml: '<p>Long version with arXiv:2205.14135</p>',
        author: 'Ada',
        publishedAt: new Date('2024-01-02T03:04:05Z'),
      }),
    ]);
  });

  it('GIVEN a malformed feed and then a valid one THEN the second still parses (no parser state leaks)', async () => {
    const bad = await parseFeedXml('<?xml version="1.0"?><rss><channel><item><title>x</title></chan');
    expect(bad.ok).toBe(false);
    const good = await parseFeedXml(fixture('dailyink-feed-v1.xml'));
    expect(good.ok && good.value.items.length).toBe(6);
  });

  it.each([
    ['billion-laughs.xml', 'feed/malformed', /Invalid character entity/],
    ['xxe.xml', 'feed/malformed', /Invalid character entity/],
    ['not-a-feed-cloudflare.html', 'feed/not-a-feed', /HTML page/],
  ])('GIVEN %s THEN rejects it as %s without expanding or fetching anything', async (name, code, why) => {
    // The mechanism that keeps this cheap: the parser refuses the first entity the document declared itself
    // (it expands none, so an entity bomb never grows and an external entity is never fetched), and an HTML
    // page is told apart before any XML parsing.
    const result = await parseFeedXml(fixture(name));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe(code);
      expect(result.error.message).toMatch(why);
    }
  });

  it('GIVEN JSON or plain text THEN says it is not a feed', async () => {
    const result = await parseFeedXml('{"posts": []}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/not XML/);
  });
});
