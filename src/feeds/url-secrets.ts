/** Query parameters whose values are credentials in practice (private feed tokens, signed URLs, API keys). */
const SECRET_PARAM = /^(token|access_token|auth|auth_token|key|api_key|apikey|secret|password|passwd|pwd|sig|signature|session|sid|code|private|hash|x-amz-signature|x-amz-credential)$/i;

/**
 * A URL fit to show or log: the user name and password replaced by `***`, and the values of query
 * parameters that look like secrets (`?token=…`, `&key=…`) replaced by `***`. The stored URL keeps them;
 * only what people and logs see is redacted. Text that is not a URL is returned unchanged.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return raw;
  let changed = false;
  if (url.username || url.password) {
    url.username = '***';
    url.password = '';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) {
      url.searchParams.set(name, '***');
      changed = true;
    }
  }
  return changed ? url.toString().replace(/%2A%2A%2A/g, '***') : raw;
}

/** Redacts every http(s) URL inside a piece of text (log messages, error messages). */
export function redactUrlsIn(text: string): string {
  return text.replace(/https?:\/\/[^\s"'<>]+/gi, (match) => redactUrl(match));
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
