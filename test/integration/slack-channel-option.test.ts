import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { slackSignature, startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.ts';

const FEED = 'https://dailyink.substack.com/feed';
const SECRET = 'signing-secret-for-channel-tests';
const TOKEN = 'xoxb-channel-option-token';

/** Waits for something that must happen eventually; 15 s is a give-up time for a loaded machine, not a speed bound. */
async function waitUntil(condition: () => boolean, giveUpMs = 15_000): Promise<void> {
  const deadline = Date.now() + giveUpMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('Slack: /subscribe channel:#other acts on that channel, with the manage policy checked there', () => {
  let fake: FakeSlack;
  let fixture: ReturnType<typeof createCoreFixture>;
  let adapter: SlackAdapter;
  let events: string;
  let counter = 0;

  async function slash(command: string, text: string, user: string, channel: string) {
    const responseId = `c${++counter}`;
    const body = new URLSearchParams({
      token: 'legacy', team_id: 'T1', team_domain: 'readers', channel_id: channel, channel_name: 'lobby', user_id: user, user_name: user.toLowerCase(),
      command, text, api_app_id: 'A1', is_enterprise_install: 'false', response_url: fake.responseUrl(responseId), trigger_id: 'trig',
    }).toString();
    const timestamp = Math.floor(Date.now() / 1000);
    await fetch(events, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': slackSignature(SECRET, timestamp, body) },
      body,
    });
    await waitUntil(() => fake.responses.some((r) => r.id === responseId));
    return fake.responses.find((r) => r.id === responseId)?.body as { response_type: string; text: string } | undefined;
  }

  beforeAll(async () => {
    // UCREATOR made #lab (manages it under admins-and-creator) but not #lobby, where they type.
    fake = await startFakeSlack({ tokens: { T1: TOKEN }, admins: ['UADMIN'], channels: { CLOBBY: { creator: 'UOTHER' }, CLAB: { creator: 'UCREATOR' }, CNEWS: { creator: 'UOTHER' } } });
    fixture = createCoreFixture({ FEED_URLS: FEED });
    adapter = await startSlackAdapter({
      signingSecret: SECRET, botToken: TOKEN, port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'admins-and-creator',
      commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
    });
    events = `http://127.0.0.1:${(adapter.server!.address() as AddressInfo).port}/slack/events`;
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    await fixture?.store.close();
  });

  it('GIVEN channel:<#CLAB|lab> (as Slack sends a picked channel) from the creator of #lab, typed in #lobby THEN #lab is subscribed', async () => {
    const reply = await slash('/subscribe', 'channel:<#CLAB|lab> keywords:diffusion', 'UCREATOR', 'CLOBBY');
    expect(reply?.response_type).toBe('in_channel');
    expect(reply?.text).toMatch(/^Subscribed #lab: /);
    expect(await fixture.store.subscriptions.listForChannel('slack', 'CLAB')).toHaveLength(1);
    expect(await fixture.store.subscriptions.listForChannel('slack', 'CLOBBY')).toEqual([]);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN channel:<#CNEWS|news> from someone who does not manage #news THEN it is refused and nothing changes', async () => {
    const reply = await slash('/subscribe', 'channel:<#CNEWS|news>', 'UCREATOR', 'CLAB');
    expect(reply?.response_type).toBe('ephemeral');
    expect(reply?.text).toContain('Only people who can manage #news');
    expect(await fixture.store.subscriptions.listForChannel('slack', 'CNEWS')).toEqual([]);
  });

  it('GIVEN the escaped form Slack sends for a should_escape command (feed as <https://…|label>, & as &amp;) THEN the feed URL is read bare', async () => {
    const reply = await slash('/subscribe', `<${FEED}|dailyink.substack.com/feed> channel:<#CLAB|lab> keywords:x&amp;y`, 'UCREATOR', 'CLOBBY');
    expect(reply?.text).toMatch(/^(Subscribed|Updated) #lab/);
    const [sub] = await fixture.store.subscriptions.listForChannel('slack', 'CLAB');
    expect(sub?.keywords).toEqual(['x y']); // `&amp;` decoded to `&`, which keyword folding reads as a space
    expect(sub?.feedUrl).toBe(FEED); // read from `<https://…|label>`
  });

  it('GIVEN a bare #name (not a channel link) THEN it is refused with what to type instead', async () => {
    const reply = await slash('/subscribe', 'channel:#lab', 'UADMIN', 'CLOBBY');
    expect(reply?.response_type).toBe('ephemeral');
    expect(reply?.text).toContain('pick it from the list');
  });

  it('GIVEN /unsubscribe channel:<#CLAB|lab> from #lobby THEN #lab is unsubscribed', async () => {
    const reply = await slash('/unsubscribe', 'channel:<#CLAB> ', 'UCREATOR', 'CLOBBY');
    expect(reply?.text).toMatch(/^Unsubscribed #CLAB from /);
    expect(await fixture.store.subscriptions.listForChannel('slack', 'CLAB')).toEqual([]);
  });
});
