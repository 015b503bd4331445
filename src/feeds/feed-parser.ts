import Parser from 'rss-parser';
import { InkwireError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';

/** One entry of an RSS 2.0 or Atom feed, with only the fields Inkwire reads. */
export interface FeedItem {
  title: string | null;
  link: string | null;
  guid: string | null;
  /** RSS `description` / Atom `summary`: for Substack, the post's subtitle. */
  description: string | null;
  /** RSS `content:encoded` / Atom `content`: the full body HTML. */
  contentHtml: string | null;
  author: string | null;
  publishedAt: Date | null;
  enclosureUrl: string | null;
  enclosureType: string | null;
}

export interface ParsedFeed {
  title: string | null;
  siteUrl: string | null;
  generator: string | null;
  /** The channel-level author (itunes:author / copyright), a fallback for items without one. */
  author: string | null;
  items: FeedItem[];
}

type CustomItem = {
  'content:encoded'?: string;
  'dc:creator'?: string;
  summary?: string;
  author?: string;
  id?: string;
};
type CustomFeed = { generator?: string; copyright?: string };

/**
 * A new parser per feed: rss-parser reuses one xml2js/sax parser, and after a parse error that parser
 * keeps stale state, so a malformed feed could make the next, unrelated feed parse wrongly.
 */
function newParser() {
  return new Parser<CustomFeed, CustomItem>({
    customFields: { feed: ['generator', 'copyright'], item: ['summary', 'author', 'id'] },
  });
}

const LOOKS_LIKE_HTML = /^\s*(?:<!--[\s\S]{0,2000}?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i;
const LOOKS_LIKE_XML = /^\s*(?:\uFEFF)?(?:<\?xml|<rss[\s>]|<feed[\s>]|<rdf:RDF[\s>]|<!--)/;

/**
 * Parses RSS 2.0 or Atom text. HTML pages (a Cloudflare challenge, a login wall) are reported as
 * `feed/not-a-feed`; anything sax cannot read, including DTD entity bombs and XXE, as `feed/malformed`.
 */
export async function parseFeedXml(text: string): Promise<Result<ParsedFeed, InkwireError>> {
  if (LOOKS_LIKE_HTML.test(text)) {
    const title = /<title[^>]*>([^<]{0,120})/i.exec(text)?.[1]?.trim();
    return err(
      new InkwireError(
        'feed/not-a-feed',
        `the server returned an HTML page${title ? ` ("${title}")` : ''}, not a feed — perhaps a bot challenge or a wrong URL`,
      ),
    );
  }
  if (!LOOKS_LIKE_XML.test(text)) {
    return err(new InkwireError('feed/not-a-feed', 'the response is not XML, so it is not an RSS or Atom feed'));
  }
  let raw: Awaited<ReturnType<ReturnType<typeof newParser>['parseString']>>;
  try {
    raw = await newParser().parseString(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error);
    if (/not recognized as RSS/i.test(message)) {
      return err(new InkwireError('feed/not-a-feed', 'the XML is neither RSS nor Atom'));
    }
    return err(new InkwireError('feed/malformed', `the feed's XML cannot be read: ${message}`, { cause: error }));
  }
  const items: FeedItem[] = (raw.items ?? []).map((item) => {
    const encoded = str(item['content:encoded']);
    // rss-parser maps RSS <description> and Atom <content> both to `content`.
    const isAtom = encoded === null && item.summary !== undefined;
    return {
      title: str(item.title),
      link: str(item.link),
      guid: str(item.guid) ?? str(item.id),
      description: isAtom ? str(item.summary) : encoded !== null ? str(item.content) : null,
      contentHtml: encoded ?? str(item.content),
      author: str(item.creator) ?? str(item['dc:creator']) ?? authorName(item.author),
      publishedAt: date(item.isoDate ?? item.pubDate),
      enclosureUrl: str(item.enclosure?.url),
      enclosureType: str(item.enclosure?.type),
    };
  });
  return ok({
    title: str(raw.title),
    siteUrl: str(raw.link),
    generator: str(raw.generator),
    author: str(raw.itunes?.author) ?? str(raw.copyright),
    items,
  });
}

function str(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function authorName(value: unknown): string | null {
  if (typeof value === 'string') return str(value);
  if (value && typeof value === 'object' && 'name' in value) {
    const name = (value as { name: unknown }).name;
    return Array.isArray(name) ? str(name[0]) : str(name);
  }
  return null;
}

function date(value: string | undefined): Date | null {
  if (!value) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}
