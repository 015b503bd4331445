import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findCommand } from '../../commands/index.ts';
import { runAction, runCommand } from '../../src/commands/command-runner.ts';
import { splitCommandText } from '../../src/commands/command-options.ts';
import type { CommandContext, Invoker, Place } from '../../src/commands/command-spec.ts';
import type { Reply } from '../../src/commands/reply.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { admin, channel, createCoreFixture, member } from '../fakes/core-fixture.ts';

const FEED = 'https://dailyink.substack.com/feed';
const replyText = (reply: Reply) =>
  reply.blocks.map((b) => (b.kind === 'text' ? b.spans.map((s) => (s.code ? `\`${s.text}\`` : s.text)).join('') : `[card ${b.card.title}]`)).join('\n');

describe('subscription commands', () => {
  let fixture: ReturnType<typeof createCoreFixture>;
  const run = async (name: string, raw: Record<string, string | number | boolean>, who: Invoker = admin, place: Place = channel('general')) => {
    const context: CommandContext = { invoker: who, place, services: fixture.core.commandServices };
    return runCommand(findCommand(name)!, context, raw);
  };
  const subscriptionCount = async () => (await fixture.store.subscriptions.listForWorkspace('console', 'ws1')).length;

  beforeEach(() => {
    fixture = createCoreFixture({ FEED_URLS: FEED, MAX_SUBSCRIPTIONS_PER_CHANNEL: '2', MAX_SUBSCRIPTIONS_PER_SERVER: '3', MAX_ALERTS_PER_USER: '2' });
  });
  afterEach(async () => fixture.store.close());

  it('GIVEN an admin THEN /subscribe confirms what was set and offers to post the latest now', async () => {
    const reply = await run('subscribe', { keywords: 'diffusion, "reward model"', mode: 'daily' });
    expect(reply.visibility).toBe('public');
    expect(replyText(reply)).toMatch(/Subscribed: .*dailyink.*daily · keywords: diffusion, reward model/);
    expect(reply.buttons?.map((b) => b.action)).toEqual([expect.stringMatching(/^sub:latest:\d+$/), expect.stringMatching(/^sub:dismiss:\d+$/)]);
  });

  it('GIVEN a member THEN /subscribe and /unsubscribe are refused privately and nothing changes', async () => {
    const reply = await run('subscribe', {}, member);
    expect(reply.visibility).toBe('private');
    expect(replyText(reply)).toMatch(/Only people who can manage this channel/);
    expect(await subscriptionCount()).toBe(0);
    await run('subscribe', {});
    expect(replyText(await run('unsubscribe', {}, member))).toMatch(/Only people who can manage/);
    expect(await subscriptionCount()).toBe(1);
    expect(replyText(await run('subscriptions', {}, member))).toMatch(/1 subscription/); // reading is open to all
  });

  it.each([
    [{ feed: 'https://evil.example/feed' }, /Only the configured feeds can be subscribed/],
    [{ feed: 'ftp://x' }, /must start with http/],
    [{ feed: 'no such feed' }, /No feed called "no such feed"/],
    [{ feed: 'x'.repeat(501) }, /`feed` must be at most 500 characters/],
    [{ keywords: '!!! ???' }, /Keywords need letters or numbers/],
    [{ keywords: 'a,b,c,d,e,f,g,h,i,j,k' }, /at most 10 keywords/],
    [{ keywords: 'k'.repeat(301) }, /`keywords` must be at most 300 characters/],
    [{ mode: 'hourly' }, /`mode` must be one of instant, daily, weekly/],
    [{ mention: '@everyone' }, /never pings everyone/],
    [{ mention: '<!here>' }, /never pings everyone/],
    [{ mention: 'not a role!' }, /`mention` must be/],
    [{ colour: 'red' }, /Unknown option `colour`/],
    [{ thread: 'maybe' }, /`thread` must be true or false/],
  ])('GIVEN /subscribe %j THEN a clear message and nothing subscribed', async (raw, message) => {
    const reply = await run('subscribe', raw as Record<string, string>);
    expect(reply.visibility).toBe('private');
    expect(replyText(reply)).toMatch(message);
    expect(await subscriptionCount()).toBe(0);
  });

  it('GIVEN a duplicate subscription or the limits THEN refused with the reason', async () => {
    await run('subscribe', {});
    expect(replyText(await run('subscribe', {}))).toMatch(/already subscribed/);
    fixture = createCoreFixture({ FEED_URLS: `${FEED},https://b.example/feed,https://c.example/feed,https://d.example/feed`, MAX_SUBSCRIPTIONS_PER_CHANNEL: '2', MAX_SUBSCRIPTIONS_PER_SERVER: '3' });
    await run('subscribe', { feed: FEED });
    await run('subscribe', { feed: 'https://b.example/feed' });
    expect(replyText(await run('subscribe', { feed: 'https://c.example/feed' }))).toMatch(/at most 2 subscriptions/);
    await run('subscribe', { feed: 'https://c.example/feed' }, admin, channel('other'));
    expect(replyText(await run('subscribe', { feed: 'https://d.example/feed' }, admin, channel('third')))).toMatch(/maximum of 3 subscriptions/);
  });

  it('GIVEN ALLOW_ANY_FEED and a URL on a private network THEN refused before any request', async () => {
    fixture = createCoreFixture({ FEED_URLS: FEED, ALLOW_ANY_FEED: 'true' });
    for (const url of ['http://127.0.0.1:9/feed', 'http://localhost/feed', 'http://10.0.0.5/rss', 'http://[::1]/feed', 'http://169.254.169.254/latest/meta-data']) {
      const reply = await run('subscribe', { feed: url });
      expect(replyText(reply), url).toMatch(/private or reserved network|local address/);
    }
    expect(await subscriptionCount()).toBe(0);
  });

  it('GIVEN the "post the latest now" button THEN queues it once; forged or foreign ids do nothing', async () => {
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    await fixture.store.posts.ingest({
      feedId: feed.id, at: fixture.clock.now(), announceKeys: new Set(),
      drafts: [{ key: 'slug:x', guid: null, url: 'https://dailyink.substack.com/p/x', title: 'Latest post', subtitle: null, author: null, publishedAt: new Date(), coverImageUrl: null, html: '', text: 'x', wordCount: 1, readingMinutes: 1, tldr: null, previewOnly: false, papers: [] }],
    });
    const reply = await run('subscribe', {});
    const action = reply.buttons![0]!.action;
    const context = (who: Invoker, place: Place): CommandContext => ({ invoker: who, place, services: fixture.core.commandServices });
    expect(replyText(await runAction(ALL_COMMANDS, context(admin, channel('general')), action))).toMatch(/Posting “Latest post” now/);
    expect(replyText(await runAction(ALL_COMMANDS, context(admin, channel('general')), action))).toMatch(/already posted/);
    expect(replyText(await runAction(ALL_COMMANDS, context(member, channel('general')), action))).toMatch(/Only people who can manage/);
    expect(replyText(await runAction(ALL_COMMANDS, context(admin, channel('elsewhere')), action))).toMatch(/no longer matches/);
    expect(replyText(await runAction(ALL_COMMANDS, context(admin, channel('general')), 'sub:latest:99999'))).toMatch(/no longer matches/);
    expect(replyText(await runAction(ALL_COMMANDS, context(admin, channel('general')), 'sub:drop-tables'))).toMatch(/not valid/);
    expect(replyText(await runAction(ALL_COMMANDS, context(admin, channel('general')), 'nope:1'))).toMatch(/not one Inkwire knows/);
    expect(await fixture.store.deliveries.list({ limit: 10 })).toHaveLength(1);
  });

  it('GIVEN /unsubscribe THEN removes the one subscription, asks which when there are several', async () => {
    expect(replyText(await run('unsubscribe', {}))).toMatch(/no subscriptions/);
    fixture = createCoreFixture({ FEED_URLS: `${FEED},https://b.example/feed` });
    await run('subscribe', { feed: FEED });
    await run('subscribe', { feed: 'https://b.example/feed' });
    expect(replyText(await run('unsubscribe', {}))).toMatch(/has 2 subscriptions/);
    expect(replyText(await run('unsubscribe', { feed: 'https://nope.example' }))).toMatch(/not subscribed to/);
    expect(replyText(await run('unsubscribe', { feed: 'all' }))).toMatch(/Unsubscribed this channel from/);
    expect(await subscriptionCount()).toBe(0);
  });

  it('GIVEN /alerts THEN add, list and remove with a per-user cap and clear refusals', async () => {
    expect(replyText(await run('alerts', { action: 'list' }, member))).toMatch(/no alerts/);
    expect(replyText(await run('alerts', { action: 'add' }, member))).toMatch(/Say what to watch for/);
    expect(replyText(await run('alerts', { action: 'add', keywords: 'diffusion' }, member))).toMatch(/Alert added/);
    expect(replyText(await run('alerts', { action: 'add', keywords: 'diffusion' }, member))).toMatch(/already have an alert/);
    expect(replyText(await run('alerts', { action: 'add', keywords: 'rlhf' }, member))).toMatch(/Alert added/);
    expect(replyText(await run('alerts', { action: 'add', keywords: 'moe' }, member))).toMatch(/at most 2 alerts/);
    expect(replyText(await run('alerts', { action: 'list' }, member))).toMatch(/diffusion[\s\S]*rlhf/);
    expect(replyText(await run('alerts', { action: 'explode' }, member))).toMatch(/`action` must be one of add, remove, list/);
    expect(replyText(await run('alerts', { action: 'remove' }, member))).toMatch(/You have 2 alerts: diffusion · rlhf\. Say which with its keywords, or `\/alerts remove all`/);
    expect(replyText(await run('alerts', { action: 'list' }, member))).toMatch(/diffusion[\s\S]*rlhf/); // nothing removed
    expect(replyText(await run('alerts', { action: 'remove', keywords: 'all' }, member))).toMatch(/Removed 2 alerts/);
  });

  it('GIVEN /subscribe on a subscribed channel THEN it is edited in place, saying what changed, keeping the rest', async () => {
    expect(replyText(await run('subscribe', { keywords: 'diffusion' }))).toMatch(/Subscribed/);
    const edited = replyText(await run('subscribe', { mode: 'daily' }));
    expect(edited).toMatch(/^Updated: [\s\S]*Changed: mode now daily\./);
    const [subscription] = await fixture.store.subscriptions.listForChannel('console', 'general');
    expect(subscription).toMatchObject({ mode: 'daily', keywords: ['diffusion'] });
    expect(replyText(await run('subscribe', { keywords: 'none' }))).toMatch(/Changed: keywords removed: every post/);
    expect(replyText(await run('subscribe', { thread: true }))).toMatch(/Changed: a discussion thread under each card/);
    expect(replyText(await run('subscribe', {}))).toMatch(/already subscribed .* with those settings/);
    expect(await fixture.store.subscriptions.listForChannel('console', 'general')).toHaveLength(1);
  });

  it('GIVEN /alerts typed as text THEN words after the action are the keywords and a quoted phrase stays one phrase', async () => {
    const typed = async (text: string) => {
      const split = splitCommandText(findCommand('alerts')!, text);
      if (!split.ok) throw split.error;
      return replyText(await run('alerts', split.value, member));
    };
    expect(await typed('add mamba')).toMatch(/Alert added: .*mamba/);
    expect(await typed('add keywords:"KV cache"')).toMatch(/Alert added: .*kv cache\./);
    const alerts = await fixture.store.subscriptions.listAlerts('console', member.userId);
    expect(alerts.map((a) => a.keywords)).toEqual([['mamba'], ['kv cache']]);
  });

  it('GIVEN /subscribe in a direct message THEN points to /alerts instead', async () => {
    const reply = await run('subscribe', {}, admin, { platform: 'console', workspaceId: null, channelId: 'dm', isDirect: true });
    expect(replyText(reply)).toMatch(/use `\/alerts`/);
  });
});

describe('Inkwire\'s own words on every platform', () => {
  it('GIVEN a refusal on a workspace with a command prefix THEN it names the command as typed there, as code, not escaped text', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const context: CommandContext = {
      invoker: member, place: channel('general'), services: fixture.core.commandServices,
      commandLabel: (name) => `/ink-${name === 'help' ? 'inkwire-help' : name}`,
    };
    const refusal = await runCommand(findCommand('subscribe')!, context, {});
    const spans = refusal.blocks[0]!.kind === 'text' ? refusal.blocks[0]!.spans : [];
    expect(spans).toContainEqual({ text: '/ink-subscribe', code: true });
    const usage = await runCommand(findCommand('latest')!, { ...context, invoker: admin }, { count: 99 });
    expect(JSON.stringify(usage)).toContain('"code":true');
    await fixture.store.close();
  });

  it('GIVEN an own sentence with a URL THEN the URL is a link span (rendered as a link, not `http\\://`)', async () => {
    const { ownSpans } = await import('../../src/commands/reply.ts');
    expect(ownSpans('Only the configured feeds: https://dailyink.substack.com/feed.')).toEqual([
      { text: 'Only the configured feeds: ' },
      { text: 'https://dailyink.substack.com/feed', url: 'https://dailyink.substack.com/feed' },
      { text: '.' },
    ]);
  });
});

describe('/help', () => {
  it('GIVEN /help on the console THEN every command with its choices (the /alerts actions), the console\'s own commands, and /help <command> in full', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const context: CommandContext = {
      invoker: member, place: channel('general'), services: fixture.core.commandServices,
      platformCommands: [{ usage: '/as admin|member', description: 'type as a manager or a member' }, { usage: '/press <button id>', description: 'press a button' }],
    };
    const all = replyText(await runCommand(findCommand('help')!, context, {}));
    expect(all).toMatch(/Usage: \/alerts <add\|remove\|list>/);
    expect(all).toMatch(/`\/as admin\|member` — type as a manager/);
    expect(all).toMatch(/`\/press <button id>`/);
    const search = replyText(await runCommand(findCommand('help')!, context, { command: 'search' }));
    expect(search).not.toMatch(/takes no text/);
    expect(search).toMatch(/`• query` \(required\) — or just type it after the command: What to look for/);
    expect(search).toMatch(/`• share`/);
    expect(replyText(await runCommand(findCommand('help')!, context, { command: 'nope' }))).toMatch(/There is no command `\/nope`/);
    await fixture.store.close();
  });
});

describe('/latest with nothing stored', () => {
  it('GIVEN the configured feed failing THEN /latest says so, not just "no posts"', async () => {
    const fixture = createCoreFixture({ FEED_URLS: FEED });
    const feed = await fixture.store.feeds.ensure(FEED, fixture.clock.now());
    await fixture.store.feeds.recordFailure(feed.id, { at: fixture.clock.now(), code: 'feed/fetch-failed', message: 'ENOTFOUND dailyink.substack.com', nextPollAt: fixture.clock.now() });
    const context: CommandContext = { invoker: member, place: channel('general'), services: fixture.core.commandServices };
    const reply = replyText(await runCommand(findCommand('latest')!, context, {}));
    expect(reply).toMatch(/No posts stored yet/);
    expect(reply).toMatch(/cannot be read right now \(1 failed poll: ENOTFOUND dailyink.substack.com\)\. Inkwire keeps retrying\./);
    await fixture.store.close();
  });
});
