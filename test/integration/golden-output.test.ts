import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainStyle, renderCard, renderReply } from '../../adapters/console/console-text.ts';
import { deliveryMessage, replyData } from '../../adapters/discord/discord-render.ts';
import { deliveryPayload, replyPayload } from '../../adapters/slack/slack-render.ts';
import { findCommand } from '../../commands/index.ts';
import { buildPostCard } from '../../src/cards/post-card.ts';
import { runCommand } from '../../src/commands/command-runner.ts';
import type { CommandContext } from '../../src/commands/command-spec.ts';
import type { Reply } from '../../src/commands/reply.ts';
import type { OutgoingMessage } from '../../src/platform/chat-platform.ts';
import { admin, channel, createCoreFixture, member } from '../fakes/core-fixture.ts';
import { validate } from '../fakes/discord/discord-schemas.ts';
import { loadSearchCorpus } from '../fakes/search-corpus.ts';
import { validateBlocks } from '../fakes/slack/fake-slack.ts';

// What each platform shows, byte for byte, for the replies people see most: a card, a digest, /search with
// 10 results, /latest 10 and the refusals. Every payload is also checked against the platform's schema
// fake. A change to any of them shows up here as a diff to review (`vitest -u` accepts it).

const golden = (name: string) => `../golden/${name}`;

describe('golden output per platform', () => {
  let fixture: ReturnType<typeof createCoreFixture>;
  const context = (who = member, place = channel('papers')): CommandContext => ({ invoker: who, place, services: fixture.core.commandServices });
  const run = (name: string, raw: Record<string, string | number | boolean>, who = member) => runCommand(findCommand(name)!, context(who), raw);

  const renderAll = (reply: Reply) => {
    const discord = replyData(reply);
    const slack = replyPayload(reply);
    expect(validate.callback({ type: 4, data: discord }), 'Discord schema').toEqual([]);
    expect(validateBlocks(slack.blocks), 'Slack Block Kit').toEqual([]);
    return { console: renderReply(reply, plainStyle), discord, slack };
  };
  const renderMessage = (message: OutgoingMessage) => {
    const discord = deliveryMessage(message, 'p1-s1');
    const slack = deliveryPayload(message);
    expect(validate.messageCreate(discord), 'Discord schema').toEqual([]);
    expect(validateBlocks(slack.blocks), 'Slack Block Kit').toEqual([]);
    return { discord, slack };
  };

  beforeAll(async () => {
    fixture = createCoreFixture({}, new Date('2025-01-01T00:00:00Z'));
    await loadSearchCorpus(fixture.store);
  });
  afterAll(async () => fixture.store.close());

  it('GIVEN a card THEN console, Discord and Slack render it as recorded', async () => {
    const [post] = await fixture.store.posts.latest({ limit: 1 });
    const card = buildPostCard({ ...post!, previewOnly: true });
    const out = { console: renderCard(card, plainStyle), ...renderMessage({ kind: 'post', card }) };
    await expect(JSON.stringify(out, null, 2)).toMatchFileSnapshot(golden('card.json'));
  });

  it('GIVEN a digest THEN it renders as recorded', async () => {
    const posts = await fixture.store.posts.latest({ limit: 4 });
    const out = renderMessage({ kind: 'digest', title: 'Your daily digest: 4 new explainers', cards: posts.map(buildPostCard) });
    await expect(JSON.stringify(out, null, 2)).toMatchFileSnapshot(golden('digest.json'));
  });

  it('GIVEN /search with 10 results and /latest 10 THEN they render as recorded', async () => {
    const search = renderAll(await run('search', { query: 'attention', limit: 10 }));
    await expect(JSON.stringify(search, null, 2)).toMatchFileSnapshot(golden('search-10.json'));
    const latest = renderAll(await run('latest', { count: 10 }));
    await expect(JSON.stringify(latest, null, 2)).toMatchFileSnapshot(golden('latest-10.json'));
  });

  it('GIVEN the refusals people meet THEN each renders as recorded on every platform', async () => {
    const refusals: Record<string, Reply> = {
      'member subscribes': await run('subscribe', {}),
      'unknown option': await run('latest', { colour: 'red' }),
      'count out of range': await run('latest', { count: 99 }),
      'bad mode': await run('subscribe', { mode: 'hourly' }, admin),
      'everyone ping': await run('subscribe', { mention: '@everyone' }, admin),
      'too many keywords': await run('subscribe', { keywords: Array.from({ length: 12 }, (_, i) => `w${i}`).join(', ') }, admin),
      'subscribe in a DM': await runCommand(findCommand('subscribe')!, context(admin, { platform: 'console', workspaceId: null, channelId: 'dm', isDirect: true }), {}),
      'unsubscribe with nothing subscribed': await run('unsubscribe', {}, admin),
      'alerts without keywords': await run('alerts', { action: 'add' }),
      'search with nothing found': await run('search', { query: 'xylophone-zebra' }),
      'search syntax error': await run('search', { query: 'author:' }),
      'unknown help topic': await run('help', { command: 'nope' }),
    };
    const out = Object.fromEntries(Object.entries(refusals).map(([name, reply]) => [name, renderAll(reply)]));
    await expect(JSON.stringify(out, null, 2)).toMatchFileSnapshot(golden('refusals.json'));
  });
});
