import { load } from 'js-yaml';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_SCOPES, slackCommandName } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { fixture, refusedUrl, startFeedServer, type FeedServer } from '../fakes/feed-server.ts';
import { spawnInkwire } from '../fakes/cli-process.ts';
import { slackSignature, startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

const SECRET = 'start-test-signing-secret';
const TOKEN = 'xoxb-start-test-token';

describe('inkwire start with Slack settings: the real executable', () => {
  let slack: FakeSlack;
  let feeds: FeedServer;
  let dir: ReturnType<typeof makeTempDir>;

  beforeAll(async () => {
    slack = await startFakeSlack({ tokens: { T1: TOKEN }, admins: ['UADMIN'], channels: { CNEWS: {} } });
    feeds = await startFeedServer();
    feeds.serveFeed('/feed', fixture('dailyink-feed-v1.xml'));
    dir = makeTempDir();
  });
  afterAll(async () => {
    await slack.close();
    await feeds.close();
    dir.remove();
  });

  it('GIVEN a signed /subscribe on the shared HTTP_PORT THEN the next new post reaches that channel once, and no secret is logged', async () => {
    const port = new URL(await refusedUrl()).port;
    const bot = spawnInkwire(['start'], {
      FEED_URLS: feeds.url('/feed'), DATABASE_URL: dir.file('s.db'), POLL_CRON: '* * * * * *', POLL_JITTER_SECONDS: '0', LOG_LEVEL: 'debug',
      SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SECRET, HTTP_PORT: port, SLACK_API_URL: slack.apiUrl,
    });
    await bot.waitFor(/connected to Slack/, { stream: 'stderr' });
    await bot.waitFor(/first time/, { stream: 'stderr' });
    const body = new URLSearchParams({ team_id: 'T1', channel_id: 'CNEWS', user_id: 'UADMIN', user_name: 'admin', command: '/subscribe', text: '', response_url: slack.responseUrl('sub'), trigger_id: 't', api_app_id: 'A1' }).toString();
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) }, body });
    expect(res.status).toBe(200);
    // One port for everything: the operations endpoints beside Slack's, and an unsigned request refused.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const forged = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': 'v0=00' }, body });
    expect(forged.status).toBe(401);
    const deadline = Date.now() + 15_000;
    while (!slack.responses.some((r) => r.id === 'sub') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((slack.responses.find((r) => r.id === 'sub')!.body as { text: string }).text).toMatch(/Subscribed/);
    feeds.serveFeed('/feed', fixture('dailyink-feed-v2.xml'));
    while (slack.postsIn('CNEWS').length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(slack.postsIn('CNEWS').map((p) => p.text)).toEqual(['New explainer: Mixture of Experts, Explained']);
    bot.child.kill('SIGTERM');
    expect(await bot.exit()).toBe(0);
    expect(bot.stderr()).not.toContain(TOKEN);
    expect(bot.stderr()).not.toContain(SECRET);
    expect(slack.violations).toEqual([]);
  });

  it('GIVEN slack-app-manifest.yml THEN it declares every command, the scopes the code asks for, and the events it handles', () => {
    const manifest = readFileSync(new URL('../../slack-app-manifest.yml', import.meta.url), 'utf8');
    for (const spec of ALL_COMMANDS) expect(manifest).toContain(`command: ${slackCommandName('', spec)}`);
    for (const scope of SLACK_SCOPES) expect(manifest).toMatch(new RegExp(`- ${scope}\\n`));
    // A command with a channel option must be escaped by Slack, or a typed #name arrives as plain text.
    const commands = (load(manifest) as { features: { slash_commands: Array<{ command: string; should_escape: boolean }> } }).features.slash_commands;
    for (const spec of ALL_COMMANDS.filter((c) => c.options.some((o) => o.type === 'channel'))) {
      expect(commands.find((c) => c.command === slackCommandName('', spec))?.should_escape).toBe(true);
    }
    expect(manifest).toMatch(/- app_uninstalled/);
    expect(manifest).toMatch(/- tokens_revoked/);
  });
});
