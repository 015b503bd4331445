import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { looksSecret, redactUrl, redactUrlsIn } from '../../src/feeds/url-secrets.ts';

// A fixed seed: the same cases on every run (a failure names its counterexample and reproduces).
const RUNS = { seed: 19, numRuns: 400 } as const;

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const chars = (alphabet: string, minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet.split('')), minLength, maxLength });

/** The secret itself: a random core (what must never appear) and, in user info, query and fragment, any characters around it. */
const core = chars(BASE62, 12, 40).map((s) => `Z${s}`); // never a substring of the fixed parts below (none holds a Z)
const anyText = fc.string({ maxLength: 6, unit: 'binary' });
const planted = fc.tuple(anyText, core, anyText);

/** Path secrets in the shapes real ones take: the predicate is documented, a plain word is not a secret. */
const pathSecret = fc.oneof(
  chars('0123456789abcdef', 32, 64).filter((s) => /[a-f]/.test(s)), // hex digests, API keys
  fc.uuid(), // Substack private podcast feeds, calendar feeds
  chars(`${BASE62}-_`, 43, 86), // base64url (Discord webhook tokens, signed capability URLs)
  chars(BASE62, 24, 24), // Slack webhook tokens
  fc.tuple(fc.constantFrom('capability', 'feed', 'rss'), fc.constantFrom('secret', 'token'), chars(BASE62, 1, 20)).map(([a, b, c]) => `${a}-${b}-${c}.rss`),
);

const host = fc.oneof(fc.domain(), fc.ipV4(), fc.constant('127.0.0.1'), fc.constant('[::1]'));
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const slug = fc.constantFrom('feed', 'rss', 'p', 'attention-is-all-you-need', '2024-05-15-my-first-post', 'api', 'v10', 'podcast', 'episodes.xml', 'cs.LG');
const paramName = fc.constantFrom('k', 'token', 'utm_source', 'format', 'sslmode', 'page', 'x-amz-signature');
const enc = encodeURIComponent;

type Part = 'user' | 'password' | 'query' | 'path' | 'fragment';

/** A URL of one kind with the secret planted in one part, and ordinary values everywhere else. */
function urlWith(kind: 'feed' | 'database' | 'discord' | 'slack', part: Part, secret: string, ctx: { host: string; port: number | undefined; slugs: string[]; names: string[] }) {
  const authority = `${ctx.host}${ctx.port ? `:${ctx.port}` : ''}`;
  const user = part === 'user' ? enc(secret) : 'reader';
  const password = part === 'password' ? enc(secret) : 'pw';
  const userInfo = part === 'user' || part === 'password' || kind === 'database' ? `${user}:${password}@` : '';
  const query = ctx.names.map((name, i) => `${name}=${part === 'query' && i === ctx.names.length - 1 ? enc(secret) : 'rss'}`).join('&');
  const fragment = part === 'fragment' ? `#${enc(secret)}` : '';
  const secretSegment = part === 'path' ? [secret] : [];
  switch (kind) {
    case 'feed':
      return `https://${userInfo}${authority}/${[...ctx.slugs, ...secretSegment].join('/')}${query || part === 'query' ? `?${query || `k=${enc(secret)}`}` : ''}${fragment}`;
    case 'database':
      return `${ctx.slugs.length % 2 ? 'postgres' : 'postgresql'}://${userInfo}${authority}/inkwire${part === 'path' ? `/${secret}` : ''}${query || part === 'query' ? `?${query || `sslmode=${enc(secret)}`}` : ''}${fragment}`;
    case 'discord':
      // DISCORD_API_URL and webhook URLs: /api/webhooks/<id>/<token>
      return `https://${userInfo}${authority}/api/webhooks/123456789012345678/${part === 'path' ? secret : 'x'}${query || part === 'query' ? `?${query || `wait=${enc(secret)}`}` : ''}${fragment}`;
    case 'slack':
      // SLACK_API_URL and incoming webhooks: /services/T…/B…/<token>
      return `https://${userInfo}${authority}/services/T0123ABCD/B0123ABCD/${part === 'path' ? secret : 'api'}${query || part === 'query' ? `?${query || `token=${enc(secret)}`}` : ''}${fragment}`;
  }
}

const context = fc.record({ host, port, slugs: fc.array(slug, { maxLength: 3 }), names: fc.array(paramName, { maxLength: 3 }) });
const kind = fc.constantFrom('feed', 'database', 'discord', 'slack') as fc.Arbitrary<'feed' | 'database' | 'discord' | 'slack'>;

/** Whether `output` shows the secret, as given or percent-encoded. */
const shows = (output: string, secret: string) => output.includes(secret) || output.includes(enc(secret));
const visibleHost = (h: string) => (h.startsWith('[') ? h : h.toLowerCase());

describe('redactUrl and redactUrlsIn: a secret planted in any part of any URL never comes out', () => {
  it('GIVEN a secret in the user, the password, any query value or the fragment of a feed, database, Discord or Slack URL THEN neither function shows it, the host stays visible, and redacting again changes nothing', () => {
    fc.assert(
      fc.property(kind, fc.constantFrom<Part>('user', 'password', 'query', 'fragment'), planted, context, (k, part, [before, secret, after], ctx) => {
        const url = urlWith(k, part, `${before}${secret}${after}`, ctx);
        const redacted = redactUrl(url);
        const inText = redactUrlsIn(`poll failed for ${url} (retrying) and "${url}"`);
        expect(shows(redacted, secret), redacted).toBe(false);
        expect(shows(inText, secret), inText).toBe(false);
        expect(redacted).toContain(visibleHost(ctx.host));
        expect(inText).toContain(visibleHost(ctx.host));
        expect(redactUrl(redacted)).toBe(redacted);
      }),
      RUNS,
    );
  });

  it('GIVEN a token-shaped secret as a path segment (hex, UUID, base64url, a Slack token, `…-secret-….rss`) THEN it is replaced by *** and the host stays visible', () => {
    fc.assert(
      fc.property(kind, pathSecret, context, (k, secret, ctx) => {
        const url = urlWith(k, 'path', secret, ctx);
        const redacted = redactUrl(url);
        const inText = redactUrlsIn(`GET ${url}: HTTP 500`);
        expect(shows(redacted, secret), redacted).toBe(false);
        expect(shows(inText, secret), inText).toBe(false);
        expect(redacted).toContain(visibleHost(ctx.host));
        expect(redacted).toContain('/***');
      }),
      RUNS,
    );
  });

  it('GIVEN any segment after /private/, /token/ or /key/ THEN it is hidden, whatever it looks like', () => {
    fc.assert(
      fc.property(fc.constantFrom('private', 'token', 'key', 'secret', 'capability'), core, (directory, secret) => {
        expect(redactUrl(`https://pod.example.com/${directory}/${secret.toLowerCase()}/feed`)).not.toContain(secret.toLowerCase());
      }),
      RUNS,
    );
  });

  it('GIVEN a URL without credentials, query or secret-looking segments THEN it is shown unchanged', () => {
    fc.assert(
      fc.property(host, port, fc.array(slug, { minLength: 1, maxLength: 4 }), (h, p, slugs) => {
        const url = `https://${h}${p ? `:${p}` : ''}/${slugs.join('/')}`;
        expect(redactUrl(url)).toBe(new URL(url).href);
      }),
      RUNS,
    );
  });
});

describe('the redaction rules, by example', () => {
  it('GIVEN the URL from issue 19 THEN only the scheme, host and the plain directory stay', () => {
    expect(redactUrl('http://127.0.0.1:4000/private/x9f8e7d6c5b4a3f2e1/capability-secret.rss?k=PRIVATEKEY123#frag')).toBe('http://127.0.0.1:4000/private/***/***?k=***');
  });

  it('GIVEN database URLs THEN user and password go (postgres and postgresql, parseable or not), the host, port and database stay', () => {
    expect(redactUrl('postgres://postgres:s3cretpw@db.internal:5432/inkwire')).toBe('postgres://***@db.internal:5432/inkwire');
    expect(redactUrl('postgresql://u:p@db.example.com/inkwire?sslmode=require')).toBe('postgresql://***@db.example.com/inkwire?sslmode=***');
    // A `#` in an unencoded password makes it no URL for the parser: the text rules still hide it.
    expect(redactUrl('postgres://u:p#ss@host/db')).toBe('postgres://***@host/db');
    expect(redactUrlsIn('the PostgreSQL database postgres://postgres:s3cretpw@127.0.0.1:5432/test already has rows')).toBe('the PostgreSQL database postgres://***@127.0.0.1:5432/test already has rows');
  });

  it('GIVEN Discord and Slack endpoints THEN webhook tokens go, ids and hosts stay', () => {
    expect(redactUrl('https://discord.com/api/webhooks/123456789012345678/Ab3_dEf9-GhIjKlMnOpQrStUvWxYz0123456789abcdefABCDEF_-ghijklmnopq')).toBe('https://discord.com/api/webhooks/123456789012345678/***');
    expect(redactUrl('https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcDEF123ghiJKL456mnoPQR')).toBe('https://hooks.slack.com/services/T0123ABCD/B0123ABCD/***');
    expect(redactUrl('https://slack.com/api/')).toBe('https://slack.com/api/');
    expect(redactUrl('https://bot:pw@discord.com/api?token=t')).toBe('https://***@discord.com/api?token=***');
  });

  it('GIVEN ordinary slugs and file names THEN they are no secret; secret words, UUIDs and keyed values are', () => {
    for (const plain of ['feed', 'rss.xml', 'attention-is-all-you-need', '2024-05-15-my-first-post', 'AttentionIsAllYouNeed', 'the-key-to-success', 'keyboard-reviews', 'gpt-4o-mini-vs-claude-3-haiku', '123456789012345678', 'T0123ABCD', 'cs.LG']) {
      expect(looksSecret(plain), plain).toBe(false);
    }
    for (const secret of ['capability-secret.rss', 'api-token-abc', 'accessToken', 'key-9f3a', 'auth:xyz123', 'sid=abc', '0f9e8d7c-1234-4abc-9def-0123456789ab.rss', 'deadbeefcafebabe1234', 'abcDEF123ghiJKL456mnoPQR']) {
      expect(looksSecret(secret), secret).toBe(true);
    }
  });

  it('GIVEN text that is no URL with an authority THEN it is returned as is', () => {
    for (const text of ['not a url', './data/inkwire.db', 'C:\\data\\inkwire.db', 'mailto:someone@example.com', '']) expect(redactUrl(text)).toBe(text);
  });
});
