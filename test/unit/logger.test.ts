import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { loadConfig } from '../../src/config.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('GIVEN tokens in config, headers or client options THEN they never reach the log', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: stream });
    const secret = 'MTAxMjM0NTY3ODkwMTIzNDU2Nzg.secret.tokenvalue';
    // The real Config shape (loadConfig's output), logged whole by mistake: still nothing secret comes out.
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:pw@h/db', SLACK_BOT_TOKEN: `xoxb-${secret}`, SLACK_SIGNING_SECRET: secret,
      SLACK_APP_TOKEN: `xapp-${secret}`, SLACK_CLIENT_ID: '1.2', SLACK_CLIENT_SECRET: secret, SLACK_STATE_SECRET: secret,
    });
    logger.info({ config }, 'config');
    logger.info({ config: loadConfig({ DISCORD_TOKEN: secret, DISCORD_APP_ID: '123456789012345678' }) }, 'discord config');
    logger.child({ component: 'discord' }).info({ token: secret, headers: { authorization: `Bot ${secret}` } }, 'request');
    logger.info({ client: { token: secret } }, 'client');
    const output = lines.join('');
    expect(output).not.toContain(secret);
    expect(output).not.toContain('pw@h');
    expect(output).toContain('[redacted]');
    expect(output).toContain('"component":"discord"');
  });

  it('GIVEN URLs with credentials anywhere in a log call (message, URL fields, other fields, nested objects, bindings, an error\'s message and stack) THEN no line carries them, in JSON and in pretty output', () => {
    const feed = 'https://reader:PW4FEED@feeds.example.com/private/0f9e8d7c-1234-4abc-9def-0123456789ab/capability-secret.rss?k=PRIVATEKEY123';
    const database = 'postgres://postgres:DBPW4LOG@db.example.com:5432/inkwire';
    const webhook = 'https://discord.com/api/webhooks/123456789012345678/Ab3dEf9GhIjKlMnOpQrStUvWxYz0123456789abcdefABCDEF';
    for (const pretty of [false, true]) {
      const { lines, stream } = capture();
      const logger = createLogger({ level: 'debug', pretty, destination: stream }).child({ source: feed });
      logger.info(`polling ${feed}`);
      logger.warn({ feedUrl: feed, database, somewhere: { deep: [`see ${webhook}`] } }, 'fields');
      logger.error({ err: new Error(`cannot reach ${database} nor ${feed}`) }, 'an error');
      const output = lines.join('');
      for (const secret of ['PW4FEED', '0f9e8d7c', 'capability-secret', 'PRIVATEKEY123', 'DBPW4LOG', 'Ab3dEf9GhIjKlMnOpQrStUvWxYz']) expect(output, `${pretty ? 'pretty' : 'JSON'}: ${secret}`).not.toContain(secret);
      expect(output).toContain('feeds.example.com');
      expect(output).toContain('db.example.com:5432');
    }
  });
});
