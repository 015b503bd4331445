/**
 * Secrets in URLs. Feed URLs (Substack's paid feeds, private podcast feeds), `DATABASE_URL` and the Slack and
 * Discord endpoints can carry credentials anywhere: in the user info, in any query value, in the path
 * (`/api/webhooks/<id>/<token>`, `/private/<uuid>.rss`) or in the fragment. Inkwire stores and fetches the
 * URL as given; everything it shows or logs goes through {@link redactUrl} (one URL) or {@link redactUrlsIn}
 * (URLs inside a text), the one redaction for every output.
 */

/** Marks a secret wherever it stands as a word in a path segment: `capability-secret.rss`, `api-token-…`. */
const SECRET_WORD = /(?<![a-z])(?:secrets?|tokens?|capabilit(?:y|ies)|passwords?|passwd|credentials?|api[-_]?keys?|private[-_]?keys?|access[-_]?keys?|signatures?)(?![a-z])/i;
/** The same words inside camelCase: `accessToken`, `feedSecret`. */
const CAMEL_SECRET_WORD = /[a-z](?:Secret|Token|Key|Password|Passwd|Credential|Signature|Capability)s?(?![a-z])/;
/** Weaker words that mark a secret only when a value follows them: `key-5f3a…`, `private_Ab12…`, `auth:…`. */
const KEYED = /(?<![a-z])(?:key|private|auth|sig|session|sid|access|pass|pwd)[-_:~+.]([A-Za-z0-9]+)/gi;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/** A directory whose next segment is a secret: `/private/<anything>/feed`, `/token/<t>/rss`. */
const SECRET_PARENT = /^(?:private|secrets?|tokens?|keys?|auth|apikey|api[-_]key|access|signed|capability)$/i;

/**
 * Whether a path segment looks like a secret, so it is shown as `***`. A segment is a secret when
 * - it follows a directory named `private`, `secret`, `token`, `key`, `auth`, `apikey`, `access`, `signed` or
 *   `capability` (pass that segment as `previous`);
 * - it holds one of the words secret, token, capability, password, passwd, credential, api-key, private-key,
 *   access-key or signature (`capability-secret.rss`, `accessToken`), or key, private, auth, sig, session,
 *   sid, access, pass or pwd followed by a value with a digit, both cases or 12+ characters (`key-9f3a`), or
 *   a `name=value` pair;
 * - it holds a UUID;
 * - it holds a run of 16+ letters, digits, `-` and `_` that reads as random rather than as words: a hex
 *   string of 16+ characters, 24+ digits, or a run whose pieces between `-`/`_` are mostly not words and
 *   mix letters with digits, lower with upper case, or have few vowels (base64url, Slack and Discord tokens).
 * Ordinary slugs (`attention-is-all-you-need`, `2024-05-15-my-post`, `feed`, `rss.xml`) and numeric ids of up
 * to 23 digits (Discord snowflakes, Slack's `T0123ABCD`) stay visible. A slug that names a secret word
 * (`the-secret-of-rlhf`) is hidden too: a false alarm costs a less readable URL, a miss costs a credential.
 */
export function looksSecret(segment: string, previous?: string): boolean {
  if (previous !== undefined && SECRET_PARENT.test(decoded(previous))) return segment !== '';
  const value = decoded(segment);
  if (value === '' || value === '***') return false;
  if (SECRET_WORD.test(value) || CAMEL_SECRET_WORD.test(value)) return true;
  if (/=[^&]/.test(value)) return true;
  for (const [, following] of value.matchAll(KEYED)) {
    if (/\d/.test(following!) || (/[a-z]/.test(following!) && /[A-Z]/.test(following!)) || following!.length >= 12) return true;
  }
  return holdsRandomRun(value);
}

/** A UUID, or a run of 16+ letters, digits, `-` and `_` that reads as random (see {@link looksSecret}). */
function holdsRandomRun(value: string): boolean {
  return UUID.test(value) || (value.match(/[A-Za-z0-9_-]{16,}/g) ?? []).some(looksRandom);
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const vowelShare = (letters: string) => (letters.match(/[aeiouy]/gi)?.length ?? 0) / Math.max(1, letters.length);

/** A piece of a slug: a number (a year, a date, an id), a short piece, or a word (also CamelCase, `gpt4`). */
function isWordLike(piece: string): boolean {
  if (/^\d{1,23}$/.test(piece) || piece.length <= 3) return true;
  if (/^[A-Z]{4,8}\d{0,2}$/.test(piece)) return true; // an acronym: NASA, HTTP2
  // One word or CamelCase words (`AttentionIsAllYouNeed`): words of 3.5 letters on average, enough vowels
  // (a long run of letters needs more of them: random lowercase letters have about one in five).
  const word = /^((?:[A-Z]?[a-z]+)(?:[A-Z][a-z]+)*)\d{0,4}$/.exec(piece)?.[1];
  if (word === undefined) return false;
  const words = 1 + (word.slice(1).match(/[A-Z]/g)?.length ?? 0);
  return word.length >= 3.5 * words && vowelShare(word) >= (word.length >= 16 ? 0.3 : 0.2);
}

function looksRandom(run: string): boolean {
  if (/^\d+$/.test(run)) return run.length >= 24;
  const pieces = run.split(/[-_]+/).filter((piece) => piece !== '');
  if (pieces.some((piece) => piece.length >= 16 && /^[0-9a-f]+$/i.test(piece) && /[a-f]/i.test(piece))) return true;
  const random = pieces.filter((piece) => !isWordLike(piece)).join('');
  // Mostly not words; a third suffices when the run mixes lower case and capitals (base64url).
  const mixed = /[a-z]/.test(run) && /[A-Z]/.test(run);
  if (mixed ? random.length < 8 || random.length * 3 < pieces.join('').length : random.length < 12 || random.length * 2 < pieces.join('').length) return false;
  const letters = random.replace(/[^A-Za-z]/g, '');
  return (/\d/.test(random) && letters !== '') || (/[a-z]/.test(random) && /[A-Z]/.test(random)) || vowelShare(letters) < 0.25;
}

/** One query part shown: its name kept (unless it reads as a random token), any value replaced by `***`. */
function redactQueryPart(part: string): string {
  if (part === '') return part;
  const eq = part.indexOf('=');
  // A bare part (`?SECRETVALUE`) may be the credential itself.
  if (eq < 0) return '***';
  const name = part.slice(0, eq);
  const shownName = holdsRandomRun(decoded(name)) ? '***' : name;
  return eq === part.length - 1 ? `${shownName}=` : `${shownName}=***`;
}

function redactPath(path: string): string {
  const segments = path.split('/');
  return segments.map((segment, i) => (looksSecret(segment, i > 1 ? segments[i - 1] : undefined) ? '***' : segment)).join('/');
}

/**
 * A URL fit to show or log, for any scheme with an authority (`https://`, `postgres://`, `postgresql://`,
 * Slack and Discord endpoints): the user info (user name and password) becomes `***@`, every query value
 * becomes `***` (names kept: `?k=***`), the fragment is dropped, and path segments that {@link looksSecret}
 * become `***`. The scheme, host and port stay. The stored URL keeps everything; only what people and logs
 * see is redacted. Text that is not such a URL is returned unchanged. Redacting twice changes nothing.
 * A text the URL parser refuses (`postgres://u:p#ss@host/db`) is redacted by the same rules on its text.
 */
export function redactUrl(raw: string): string {
  const scheme = /^\s*([a-z][a-z0-9+.-]*):/i.exec(raw);
  if (!scheme) return raw;
  let url: URL | null;
  try {
    url = new URL(raw.trim());
  } catch {
    url = null;
  }
  const rest = /^\s*[a-z][a-z0-9+.-]*:[/\\]{2}(.*)$/is.exec(raw)?.[1];
  // What precedes the path in the text as given: an `@` there that the parser did not read as user info
  // (`https://u:1?x@host`) ends a credential with a stray character; all before it is hidden then.
  // (`https:u:pw@host`, without slashes, is parsed, and shown as the parser reads it.)
  const head = rest === undefined ? '' : rest.slice(0, rest.search(/[/\\]|$/));
  const hasUserInfo = url !== null && (url.username !== '' || url.password !== '');
  if (url && url.href.startsWith(`${url.protocol}//`) && (hasUserInfo || !head.includes('@'))) {
    return `${url.protocol}//${hasUserInfo ? '***@' : ''}${url.host}${redactPath(url.pathname)}${url.search ? `?${url.search.slice(1).split('&').map(redactQueryPart).join('&')}` : ''}`;
  }
  if (rest === undefined) return raw; // no authority: `mailto:…`, a Windows path
  // Not parseable as a URL (or ambiguous): the same rules on the text itself.
  const at = head.lastIndexOf('@');
  const afterUserInfo = at >= 0 ? rest.slice(at + 1) : rest;
  const parts = /^([^/?#\\]*)([^?#]*)(?:\?([^#]*))?/s.exec(afterUserInfo)!;
  // As the parser would: a special scheme's empty path is `/` (so redacting the result again changes nothing).
  const path = parts[2] === '' && /^(?:https?|wss?|ftp)$/i.test(scheme[1]!) ? '/' : parts[2]!;
  return `${scheme[1]}://${at >= 0 ? '***@' : ''}${parts[1]}${redactPath(path)}${parts[3] !== undefined ? `?${parts[3].split('&').map(redactQueryPart).join('&')}` : ''}`;
}

/**
 * Every URL inside a piece of text (log lines, error messages, command output), of any scheme. It ends at
 * white space, a double quote (a JSON string), `<`, `>` or a backtick; not at `'`, which a URL may hold
 * unencoded (`encodeURIComponent` keeps it), even in its user info.
 */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"<>`]+/gi;

/** Redacts every URL inside a piece of text (log lines, error messages) with {@link redactUrl}. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => redactUrl(match));
}

/**
 * Splits a URL with credentials (`https://reader:pw@host/feed`) into the URL without them and the
 * HTTP Basic `Authorization` header to send instead: Node's fetch refuses a URL that includes credentials.
 */
export function basicAuthOf(url: URL): { url: URL; authorization: string | null } {
  if (!url.username && !url.password) return { url, authorization: null };
  const bare = new URL(url);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  bare.username = '';
  bare.password = '';
  return { url: bare, authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` };
}

/**
 * Whether a feed URL carries credentials, so that it is one tenant's own (ADR 005): a user name or
 * password, any query value (or a bare query part), or a path segment that {@link looksSecret}: what
 * {@link redactUrl} would hide. Such a feed is stored, fetched and shown per server; a URL without any is
 * one shared feed. Text that is not an http(s) URL carries none.
 */
export function carriesCredentials(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password) return true;
  if (url.search.slice(1).split('&').some((part) => part !== '' && !part.endsWith('='))) return true;
  const segments = url.pathname.split('/');
  return segments.some((segment, i) => looksSecret(segment, i > 1 ? segments[i - 1] : undefined));
}
