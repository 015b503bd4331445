import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackAdapter, type SlackAdapter } from '../../adapters/slack/slack-adapter.ts';
import { ALL_COMMANDS } from '../../commands/index.ts';
import { createSilentLogger } from '../../src/logger.ts';
import { createCoreFixture } from '../fakes/core-fixture.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/fake-slack.ts';

describe('Slack Socket Mode', () => {
  let fake: FakeSlack;
  let adapter: SlackAdapter;
  let fixture: ReturnType<typeof createCoreFixture>;

  beforeAll(async () => {
    fake = await startFakeSlack({ tokens: { T1: 'xoxb-socket' }, appToken: 'xapp-socket', channels: { CPAPERS: {} } });
    fixture = createCoreFixture({});
    adapter = await startSlackAdapter({
      signingSecret: 'unused-in-socket-mode', botToken: 'xoxb-socket', appToken: 'xapp-socket', port: 0, apiUrl: fake.apiUrl,
      commandPrefix: 'ink-', managePolicy: 'admins-and-creator', commands: ALL_COMMANDS, services: fixture.core.commandServices, logger: createSilentLogger(),
    });
  });
  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    await fixture?.store.close();
  });

  it('GIVEN SLACK_APP_TOKEN THEN a slash command arrives over the WebSocket, is acknowledged, and answered via response_url', async () => {
    // Give-up times for a loaded machine, not speed bounds.
    const deadline = Date.now() + 15_000;
    while (fake.socketCount() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.socketCount()).toBe(1);
    fake.sendEnvelope({
      envelope_id: 'env-1', type: 'slash_commands', accepts_response_payload: true,
      payload: { token: 'x', team_id: 'T1', team_domain: 'readers', channel_id: 'CPAPERS', channel_name: 'papers', user_id: 'UMEMBER', user_name: 'member',
        command: '/ink-latest', text: '', api_app_id: 'A1', is_enterprise_install: 'false', response_url: fake.responseUrl('socket-1'), trigger_id: 't' },
    });
    while ((!fake.socketAcks.some((a) => a.envelope_id === 'env-1') || !fake.responses.some((r) => r.id === 'socket-1')) && Date.now() < deadline + 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fake.socketAcks.find((a) => a.envelope_id === 'env-1')).toBeDefined();
    const answer = fake.responses.find((r) => r.id === 'socket-1')!.body as { response_type: string; text: string };
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toMatch(/No posts stored yet/);
    expect(fake.violations).toEqual([]);
  });

  it('GIVEN a command prefix THEN help names the commands as this workspace types them', async () => {
    fake.sendEnvelope({
      envelope_id: 'env-2', type: 'slash_commands', accepts_response_payload: true,
      payload: { token: 'x', team_id: 'T1', team_domain: 'readers', channel_id: 'CPAPERS', channel_name: 'papers', user_id: 'UMEMBER', user_name: 'member',
        command: '/ink-inkwire-help', text: '', api_app_id: 'A1', is_enterprise_install: 'false', response_url: fake.responseUrl('socket-2'), trigger_id: 't' },
    });
    const deadline = Date.now() + 15_000; // a give-up time, not a speed bound
    while (!fake.responses.some((r) => r.id === 'socket-2') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const text = (fake.responses.find((r) => r.id === 'socket-2')!.body as { text: string }).text;
    expect(text).toContain('`/ink-search`');
    expect(text).toContain('`/ink-inkwire-help`');
    expect(text).not.toMatch(/`\/search`/);
  });
});
