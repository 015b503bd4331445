import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';

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
    logger.info({ config: { discordToken: secret, slackBotToken: secret, databaseUrl: 'postgres://u:pw@h/db' } }, 'config');
    logger.child({ component: 'discord' }).info({ token: secret, headers: { authorization: `Bot ${secret}` } }, 'request');
    logger.info({ client: { token: secret } }, 'client');
    const output = lines.join('');
    expect(output).not.toContain(secret);
    expect(output).not.toContain('pw@h');
    expect(output).toContain('[redacted]');
    expect(output).toContain('"component":"discord"');
  });
});
