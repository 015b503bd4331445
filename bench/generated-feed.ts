/** One item of a generated feed. */
export interface FeedItem {
  slug: string;
  title: string;
  publishedAt: Date;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An RSS 2.0 feed of these items (newest first), each with a short HTML body, as a newsletter serves it. */
export function rssFeed(title: string, items: readonly FeedItem[]): string {
  const sorted = [...items].sort((a, b) => b.publishedAt.getTime() - a.publishedAt.getTime());
  const entries = sorted.map((item) => {
    const link = `https://news.example/p/${item.slug}`;
    return `<item><title>${escapeXml(item.title)}</title><description>${escapeXml(`What ${item.title} is about`)}</description>` +
      `<link>${link}</link><guid isPermaLink="false">${link}</guid><dc:creator>Bench</dc:creator><pubDate>${item.publishedAt.toUTCString()}</pubDate>` +
      `<content:encoded><![CDATA[<p>${escapeXml(item.title)}: a short explainer with a <a href="https://arxiv.org/abs/1701.06538">paper</a>.</p>]]></content:encoded></item>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">` +
    `<channel><title>${escapeXml(title)}</title><link>https://news.example</link><description>Generated for a benchmark</description>${entries.join('')}</channel></rss>`;
}
