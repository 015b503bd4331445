import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { slackSignature, startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.ts';

const SECRET = 'oauth-signing-secret';
const FEED = 'https://dailyink.substack.com/feed';

describe('Slack OAuth: multi-workspace install stored in Inkwire\u2019s database', () => {
  let fake: FakeSlack;
  let adapter: SlackAdapter;
  let fixture: ReturnType<typeof createCoreFixture>;
  let base: string;

  beforeAll(async () => {
    fake = await startFakeSlack({
      tokens: {}, admins: ['UADMIN'], channels: { CNEWS: {} },
      oauthInstalls: { 'code-team-2': { teamId: 'T2', botToken: 'xoxb-team-2', botUserId: 'UBOT2' } },
    });
    fixture = createCoreFixture({ FEED_URLS: FEED });
    adapter = await startSlackAdapter({
      signingSecret: SECRET, port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'admins-and-creator',
      oauth: { clientId: '111.222', clientSecret: 'client-secret', stateSecret: 'state-secret', installations: fixture.store.installations, now: () => fixture.clock.now() },
      onWorkspaceRemoved: async (team) => void (await fixture.store.subscriptions.deleteForWorkspace('slack', team)),
      commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
    });
    base = `http://127.0.0.1:${(adapter.server!.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    await fixture?.store.close();
  });

  it('GIVEN the install flow THEN the installation is stored and used for that workspace\u2019s deliveries; uninstall cleans up', async () => {
    const install = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    expect(install.status).toBe(302);
    const location = new URL(install.headers.get('location')!);
    const state = location.searchParams.get('state')!;
    const cookie = install.headers.get('set-cookie')!.split(';')[0]!;
    const redirect = await fetch(`${base}/slack/oauth_redirect?code=code-team-2&state=${encodeURIComponent(state)}`, { headers: { cookie } });
    expect(redirect.status).toBe(200);
    expect(await fixture.store.installations.count('slack')).toBe(1);
    const stored = (await fixture.store.installations.get('slack', 'T2'))!;
    expect(JSON.parse(stored).bot.token).toBe('xoxb-team-2');

    // A forged state is refused and stores nothing.
    const forged = await fetch(`${base}/slack/oauth_redirect?code=code-team-2&state=forged`, { headers: { cookie } });
    expect(forged.status).not.toBe(200);

    const subscribed = await fixture.core.subscriptions.subscribe({ platform: 'slack', workspaceId: 'T2', channelId: 'CNEWS', isDirect: false }, { userId: 'UADMIN', displayName: 'a', canManage: true }, {});
    expect(subscribed.ok).toBe(true);
    const feed = (await fixture.store.feeds.get(FEED))!;
    await fixture.store.posts.ingest({
      feedId: feed.id, at: fixture.clock.now(), announceKeys: new Set(['slug:x']),
      drafts: [{ key: 'slug:x', guid: null, url: 'https://dailyink.substack.com/p/x', title: 'X', subtitle: null, author: null, publishedAt: new Date(), coverImageUrl: null, html: '', text: 'x', wordCount: 1, readingMinutes: 1, tldr: null, previewOnly: false, papers: [] }],
    });
    await fixture.core.deliveryEngine(adapter).drain();
    expect(fake.postsIn('CNEWS').map((p) => p.team)).toEqual(['T2']); // sent with team 2's own token

    const event = JSON.stringify({ token: 'x', team_id: 'T2', api_app_id: 'A1', type: 'event_callback', event_id: 'Ev1', event_time: 1, event: { type: 'app_uninstalled' } });
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${base}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, event) }, body: event });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 15_000; // a give-up time for a loaded machine, not a speed bound
    while ((await fixture.store.installations.count('slack')) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await fixture.store.installations.count('slack')).toBe(0);
    expect(await fixture.store.subscriptions.listForWorkspace('slack', 'T2')).toEqual([]);
    expect(fake.violations).toEqual([]);
  });
});
