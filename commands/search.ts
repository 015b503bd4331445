import { buildPostCard, paperLabel } from '../src/cards/post-card.ts';
import type { CommandSpec } from '../src/commands/command-spec.ts';
import { text, textReply, type ReplyBlock, type Span } from '../src/commands/reply.ts';
import { visibleFeedIds } from '../src/feeds/feed-visibility.ts';
import { redactUrlsIn } from '../src/feeds/url-secrets.ts';
import { MAX_QUERY_LENGTH } from '../src/search/search-query.ts';

export const SEARCH_COMMAND_MAX_LIMIT = 10;
/** "Share in channel" buttons: `share:<limit>:<page>:<query>`. */
export const SHARE_ACTION = 'share';

const SYNTAX_HINT =
  'Tips: fewer words; `"exact phrase"`, `-exclude`, `prefix*`, `author:name`, `after:2024-01-01`, `before:2024-06-30`; or paste an arXiv id or link.';

/** `/search query [limit] [page] [share]`: every stored post, ranked; an arXiv id/URL or DOI finds the post explaining it. */
export const searchCommand: CommandSpec = {
  name: 'search',
  description: 'Search every past explainer (words, "phrases", author:, after:, or an arXiv link)',
  permission: 'everyone',
  expensive: true,
  options: [
    {
      name: 'query', description: 'What to look for', type: 'string', required: true, minLength: 1, maxLength: MAX_QUERY_LENGTH, autocomplete: true, rest: true,
      syntax: ['author', 'by', 'after', 'before', 'since', 'until', 'arxiv', 'doi', 'title'],
    },
    { name: 'limit', description: `How many results (1-${SEARCH_COMMAND_MAX_LIMIT}, default 5)`, type: 'integer', min: 1, max: SEARCH_COMMAND_MAX_LIMIT },
    { name: 'page', description: 'Which page of results (default 1)', type: 'integer', min: 1, max: 50 },
    { name: 'share', description: 'Post the results in the channel for everyone (default: only you see them)', type: 'boolean' },
  ],
  async handle({ services, place }, args) {
    const limit = typeof args.limit === 'number' ? args.limit : 5;
    const page = typeof args.page === 'number' ? args.page : 1;
    const query = String(args.query ?? '');
    // Scope (ADR 005): the configured feeds and this server's own, applied inside the index query.
    const feedIds = await visibleFeedIds(services.feeds, place);
    const result = await services.search.search(query, { limit, offset: (page - 1) * limit, feedIds });
    if (!result.ok) return textReply('private', result.error.message);
    const found = result.value;
    const visibility = args.share === true ? 'public' : 'private';
    // The query as echoed back: a URL in it (a private feed's, pasted) is shown redacted.
    const shown = redactUrlsIn(query);
    if (found.hits.length === 0) {
      const none = page > 1 && found.total > 0 ? `There is no page ${page} for that search.` : `No explainer matches “${shown}”.`;
      return textReply('private', `${none} ${SYNTAX_HINT}`, 'Or try `/latest` for the newest posts.');
    }
    const first = found.offset + 1;
    const last = found.offset + found.hits.length;
    const total = found.totalIsLowerBound ? `${found.total - 1}+` : String(found.total);
    const header: Span[] = [text(`Results ${first}–${last} of ${total} for `), text(shown, { bold: true })];
    if (found.fallback) header.push(text(' — no post has every word, so these have any of them'));
    if (found.query.notice) header.push(text(`. ${found.query.notice}`));
    const blocks: ReplyBlock[] = [{ kind: 'text', spans: header }];
    for (const hit of found.hits) {
      const snippet: Span[] =
        hit.matchedBy === 'paper' && found.query.paper
          ? [text('Explains '), text(paperLabel(found.query.paper), { bold: true })]
          : hit.snippet;
      blocks.push({ kind: 'card', card: buildPostCard(hit.post), ...(snippet.length > 0 ? { snippet } : {}) });
    }
    if (!found.totalIsLowerBound && last < found.total) {
      blocks.push({ kind: 'text', spans: [text(`More: add page:${page + 1}`, { italic: true })] });
    }
    const summary = `Results ${first}–${last} of ${total} for “${shown}”`;
    const moreHint = `add \`page:${page + 1}\` for more, or a smaller \`limit:\``;
    // Private results can be shared with the channel in one click; the button carries the search itself.
    return visibility === 'private'
      ? { visibility, blocks, summary, moreHint, buttons: [{ label: 'Share in channel', action: `${SHARE_ACTION}:${limit}:${page}:${query}`, style: 'secondary' }] }
      : { visibility, blocks, summary, moreHint };
  },
  actions: {
    prefix: SHARE_ACTION,
    async handle(context, payload) {
      const match = /^(\d{1,2}):(\d{1,2}):([\s\S]{1,300})$/.exec(payload);
      if (!match) return textReply('private', 'That button is not valid; nothing was shared.');
      return searchCommand.handle(context, { limit: Math.min(Number(match[1]), SEARCH_COMMAND_MAX_LIMIT), page: Math.max(1, Number(match[2])), query: match[3]!, share: true });
    },
  },
  async autocomplete({ services, place }, option, partial) {
    return option === 'query' ? services.search.suggest(partial, { feedIds: await visibleFeedIds(services.feeds, place) }) : [];
  },
};
