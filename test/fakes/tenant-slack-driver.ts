import type { AddressInfo } from 'node:net';
import { startSlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { slackSignature, startFakeSlack } from './slack/fake-slack.ts';
import { textsOf, type TenantDriver, type Who, type World } from './tenant-matrix.ts';

const SECRET = 'tenant-matrix-signing-secret';

/** Waits for something that must happen eventually; 15 s is a give-up time for a loaded machine, not a speed bound. */
async function waitUntil(condition: () => boolean, giveUpMs = 15_000): Promise<void> {
  const deadline = Date.now() + giveUpMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/**
 * Slack with two workspaces, TA and TB, both installed through OAuth (each its own bot token, stored in
 * Inkwire's database), each with a channel, an admin (manager) and a member; B's member also in a direct
 * message with the bot. Slash commands and buttons arrive signed, as Slack sends them.
 */
export async function startSlackTenants(world: World): Promise<TenantDriver> {
  const users = { 'A-manager': 'UAMANAGER', 'A-member': 'UAMEMBER', 'B-manager': 'UBMANAGER', 'B-member': 'UBMEMBER' };
  const fake = await startFakeSlack({
    tokens: {}, admins: [users['A-manager'], users['B-manager']], channels: { CAPAPERS: {}, CBPAPERS: {} }, oauthHistoryTier: 'tier3',
    oauthInstalls: { 'code-a': { teamId: 'TA', botToken: 'xoxb-team-a', botUserId: 'UBOTA' }, 'code-b': { teamId: 'TB', botToken: 'xoxb-team-b', botUserId: 'UBOTB' } },
  });
  const adapter = await startSlackAdapter({
    signingSecret: SECRET, port: 0, apiUrl: fake.apiUrl, commandPrefix: '', managePolicy: 'admins',
    oauth: { clientId: '111.222', clientSecret: 'client-secret', stateSecret: 'state-secret', installations: world.store.installations, now: () => world.clock.now() },
    commands: ALL_COMMANDS, services: world.core.commandServices, logger: createSilentLogger(),
  });
  const base = `http://127.0.0.1:${(adapter.server!.address() as AddressInfo).port}`;
  for (const code of ['code-a', 'code-b']) {
    const install = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    const state = new URL(install.headers.get('location')!).searchParams.get('state')!;
    const cookie = install.headers.get('set-cookie')!.split(';')[0]!;
    const redirect = await fetch(`${base}/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`, { headers: { cookie } });
    if (redirect.status !== 200) throw new Error(`install ${code} answered ${redirect.status}`);
  }
  const placeOf = (who: Who) => {
    if (who === 'DM') return { team: 'TB', channel: 'DBMEMBER', user: users['B-member'] };
    return { team: who.startsWith('A') ? 'TA' : 'TB', channel: who.startsWith('A') ? 'CAPAPERS' : 'CBPAPERS', user: users[who] };
  };
  let counter = 0;
  const post = async (body: string, id: string) => {
    const ts = Math.floor(Date.now() / 1000);
    const response = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) },
      body,
    });
    if (response.status !== 200) throw new Error(`Slack request answered ${response.status}`);
    await waitUntil(() => fake.responses.some((r) => r.id === id));
    const answered = fake.responses.find((r) => r.id === id);
    if (!answered) throw new Error('no answer through response_url');
    return textsOf(answered.body).join('\n');
  };

  return {
    platform: adapter,
    workspaces: { A: 'TA', B: 'TB' },
    shareRunsSearch: true,
    autocomplete: null, // Slack slash commands have no autocomplete
    async run(who, command, values = {}) {
      const { team, channel, user } = placeOf(who);
      const id = `t${++counter}`;
      const text = Object.entries(values).map(([name, value]) => `${name}:${/\s/.test(String(value)) ? `"${String(value)}"` : String(value)}`).join(' ');
      const body = new URLSearchParams({
        token: 'legacy', team_id: team, team_domain: team.toLowerCase(), channel_id: channel, channel_name: 'papers', user_id: user, user_name: user.toLowerCase(),
        command: `/${command}`, text, api_app_id: 'A1', is_enterprise_install: 'false', response_url: fake.responseUrl(id), trigger_id: `trig-${id}`,
      }).toString();
      return post(body, id);
    },
    async press(who, actionId) {
      const { team, channel, user } = placeOf(who);
      const id = `t${++counter}`;
      const payload = JSON.stringify({
        type: 'block_actions', team: { id: team, domain: team.toLowerCase() }, user: { id: user, username: user.toLowerCase(), team_id: team }, api_app_id: 'A1', token: 'x',
        container: { type: 'message', message_ts: '1.1', channel_id: channel, is_ephemeral: true }, trigger_id: `trig-${id}`, channel: { id: channel, name: 'papers' },
        response_url: fake.responseUrl(id), actions: [{ type: 'button', action_id: actionId, block_id: 'b', value: actionId, action_ts: '1.2', text: { type: 'plain_text', text: 'A button' } }],
      });
      return post(new URLSearchParams({ payload }).toString(), id);
    },
    directMessagesTo(who) {
      const user = users[who];
      return fake.posts.filter((p) => p.channel === user || p.channel === `D${user.slice(1)}`).map((p) => textsOf([p.text, p.blocks]).join('\n'));
    },
    violations: () => fake.violations,
    async stop() {
      await adapter.stop();
      await fake.close();
    },
  };
}
