import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../fakes/cleanups.ts';
import { runInkwire, spawnInkwire } from '../fakes/cli-process.ts';
import { fixture, refusedUrl, startFeedServer } from '../fakes/feed-server.ts';
import { freePort } from '../fakes/free-port.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueSchema } from '../fakes/store-backends.ts';
import { makeTempDir } from '../fakes/temp-dir.ts';

/**
 * Secrets planted in every place a deployment puts them: a private feed URL (user, password, a token in the
 * path, a capability file name, `?k=`, a fragment), a failing feed's URL, DATABASE_URL's password,
 * DISCORD_API_URL's credentials, and a bad FEED_URLS value. No output of any command or endpoint may carry one.
 */
const SECRET = {
  feedUser: 'readerUx4Tt9',
  feedPassword: 'FeedPw7Hq2Zr',
  pathToken: 'Pt8Kq2ZpX9vLm4NtR7sWb3Yc',
  capability: 'capability-secret',
  query: 'PRIVATEKEY123',
  fragment: 'FragSecret5Wq',
  failPassword: 'FailPw3Kx8Lm',
  failToken: 'c0ffee12deadbeef34567890abcdef12',
  failQuery: 'FAILQUERY77',
  dbPassword: 'DbPw9SECRETv2',
  discordPassword: 'DiscPw4Rt6',
  discordQuery: 'DISCQUERY42',
  configPassword: 'CfgPw8Zz1Qq',
} as const;

/**
 * Every output gathered, by where it came from, checked at the end of each test. The checks on the way
 * (that each output really shows the redacted URL) are soft: a failing one still lets the leak list print.
 */
type Outputs = Array<[label: string, text: string]>;

function expectNoSecret(outputs: Outputs): void {
  const leaks = outputs.flatMap(([label, text]) => Object.entries(SECRET).filter(([, secret]) => text.includes(secret)).map(([name]) => `${label} shows ${name}`));
  expect(leaks).toEqual([]);
}

/** TEST_DATABASE_URL with a password (trust authentication ignores it) and a search_path of its own. */
function databaseUrl(schema: string, port?: number): string {
  const url = new URL(TEST_DATABASE_URL);
  url.password = SECRET.dbPassword;
  if (port) url.port = String(port);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

describe.skipIf(!TEST_DATABASE_URL)('no secret from any URL reaches any output (CLI, logs, /metrics, /readyz, console replies)', () => {
  const dir = makeTempDir();
  const cleanups = cleanupsAfterEach();
  const schemas: string[] = [];
  afterAll(async () => {
    await dropSchemas(schemas);
    dir.remove();
  });

  async function setUp() {
    const feeds = await startFeedServer();
    cleanups.push(() => feeds.close());
    const privatePath = `/private/${SECRET.pathToken}/${SECRET.capability}.rss`;
    feeds.serveFeed(privatePath, fixture('dailyink-feed-v1.xml'));
    const failingPath = `/token/${SECRET.failToken}/feed`;
    feeds.route(failingPath, (_req, res) => void res.writeHead(500).end());
    const hostPort = new URL(feeds.origin).host;
    const privateFeed = `http://${SECRET.feedUser}:${SECRET.feedPassword}@${hostPort}${privatePath}?k=${SECRET.query}#${SECRET.fragment}`;
    const failingFeed = `http://poller:${SECRET.failPassword}@${hostPort}${failingPath}?k=${SECRET.failQuery}`;
    const schema = uniqueSchema('secrets');
    schemas.push(schema);
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const env = { FEED_URLS: `${privateFeed},${failingFeed}`, DATABASE_URL: databaseUrl(schema), LOG_LEVEL: 'debug', POLL_JITTER_SECONDS: '0' };
    return { feeds, hostPort, env, privatePath, schema };
  }

  it('GIVEN secrets in FEED_URLS, DATABASE_URL, DISCORD_API_URL and a bad setting THEN poll, feeds, posts, search, doctor, migrate-data, register-commands and a config error print none of them', async () => {
    const { feeds, hostPort, env, privatePath } = await setUp();
    const outputs: Outputs = [];
    const run = async (label: string, args: string[], extraEnv: Record<string, string> = {}) => {
      const result = await runInkwire(args, { ...env, ...extraEnv });
      outputs.push([`${label} stdout`, result.stdout], [`${label} stderr`, result.stderr]);
      return result;
    };

    const poll = await run('poll', ['poll', '--once']);
    expect.soft(poll.code).toBe(1); // the failing feed
    expect.soft(feeds.requestsTo(privatePath)).toHaveLength(1); // the secrets were really used
    expect.soft(poll.stdout).toContain(`http://***@${hostPort}/private/***/***?k=***: 6 item(s)`);
    expect.soft(poll.stdout).toContain(`http://***@${hostPort}/***/***/feed?k=***: FAILED [feed/http-status]`);
    // Commands that only read, side by side.
    const [, feedsJson, , postsJson, , , doctor, unreachable] = await Promise.all([
      run('feeds', ['feeds']),
      run('feeds --json', ['feeds', '--json']),
      run('posts', ['posts']),
      run('posts --json', ['posts', '--json']),
      run('search', ['search', 'LoRA']),
      run('search --json', ['search', 'LoRA', '--json']),
      run('doctor', ['doctor']),
      run('doctor --db (unreachable)', ['doctor', '--db', databaseUrl('public', 9)]),
    ]);
    expect.soft(JSON.parse(feedsJson.stdout)).toHaveLength(2);
    expect.soft((JSON.parse(postsJson.stdout) as Array<{ feedUrl: string }>)[0]?.feedUrl).toBe(`http://***@${hostPort}/private/***/***?k=***`);
    expect.soft(doctor.stdout).toMatch(/✓ database PostgreSQL postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/test\?options=\*\*\* opens/);
    expect.soft(unreachable.stdout).toMatch(/✗ database/);

    // migrate-data into the database the poll filled: refused, naming the database.
    const from = dir.file('from.db');
    expect.soft((await runInkwire(['migrate'], { DATABASE_URL: from })).code).toBe(0);
    const migrate = await run('migrate-data', ['migrate-data', '--from', from, '--to', env.DATABASE_URL]);
    expect.soft(migrate.code).toBe(1);
    expect.soft(migrate.stderr).toMatch(/the PostgreSQL database postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/test\?options=\*\*\* already has rows/);

    const discordApi = `${(await refusedUrl('/api')).replace('http://', `http://bot:${SECRET.discordPassword}@`)}?k=${SECRET.discordQuery}`;
    const register = await run('register-commands', ['register-commands'], { DISCORD_TOKEN: 'MTAx.fake.token', DISCORD_APP_ID: '123456789012345678', DISCORD_API_URL: discordApi });
    expect.soft(register.code).toBe(1);
    expect.soft(register.stderr).toMatch(/cannot register commands with Discord at http:\/\/\*\*\*@127\.0\.0\.1/);

    const badConfig = await run('a config error', ['feeds'], { FEED_URLS: `http://cfg:${SECRET.configPassword}@127.0.0.1/feed, ftp://not-http` });
    expect.soft(badConfig.stderr).toMatch(/FEED_URLS=.*http:\/\/\*\*\*@127\.0\.0\.1\/feed/);

    expectNoSecret(outputs);
  }, 120_000); // about 15 CLI processes: a give-up time for a loaded 2-core machine, not a speed bound

  it('GIVEN the same secrets THEN a running bot\'s logs, /metrics, /readyz and console replies, and why and deliveries afterwards, print none of them', async () => {
    const { hostPort, env } = await setUp();
    const outputs: Outputs = [];
    const port = await freePort();
    const bot = spawnInkwire(['start'], { ...env, HTTP_PORT: String(port), POLL_CRON: '* * * * * *' });
    cleanups.push(() => void bot.child.kill('SIGKILL'));
    await bot.waitFor(/feed poll failed/, { stream: 'stderr' });
    await bot.waitFor(/feed seen for the first time/, { stream: 'stderr' });
    const base = `http://127.0.0.1:${port}`;

    const metrics = await (await fetch(`${base}/metrics`)).text();
    outputs.push(['/metrics', metrics]);
    const okPolls = metrics.split('\n').find((line) => line.startsWith('inkwire_polls_total{') && line.includes('outcome="ok"'));
    expect.soft(okPolls).toMatch(/feed_id="\d+"/);
    expect.soft(okPolls).toContain(`feed_host="${hostPort}"`);
    expect.soft(metrics).not.toMatch(/feed="/);

    // The failing feed backs off, so after 3 poll intervals /readyz names it as stale (redacted).
    const giveUp = Date.now() + 20_000;
    let ready = '';
    while (!/FAIL feeds polled within 3 intervals/.test(ready) && Date.now() < giveUp) {
      ready = await (await fetch(`${base}/readyz`)).text();
      if (!/FAIL feeds polled/.test(ready)) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    outputs.push(['/readyz', ready]);
    expect.soft(ready).toContain(`FAIL feeds polled within 3 intervals: http://***@${hostPort}/***/***/feed?k=***`);

    // Console replies that list feeds: an unknown feed's reply names every available one.
    bot.write('/subscribe feed:nothing-called-this');
    await bot.waitFor(/No feed called "nothing-called-this"/);
    bot.write('/latest');
    await bot.waitFor(/only you can see this/);
    bot.child.kill('SIGTERM');
    expect.soft(await bot.exit()).toBe(0);
    outputs.push(['start stdout (console)', bot.stdout()], ['start stderr (logs)', bot.stderr()]);
    expect.soft(bot.stdout()).toContain(`http://***@${hostPort}/***/***/feed?k=***`);
    expect.soft(bot.stderr()).toContain(`"feedUrl":"http://***@${hostPort}/private/***/***?k=***"`);

    for (const [label, args] of [['why', ['why', 'https://dailyink.substack.com/p/lora-low-rank-adaptation', 'general']], ['deliveries', ['deliveries']], ['deliveries --json', ['deliveries', '--json']], ['feeds after start', ['feeds']]] as const) {
      const result = await runInkwire([...args], env);
      outputs.push([`${label} stdout`, result.stdout], [`${label} stderr`, result.stderr]);
    }
    expectNoSecret(outputs);
  }, 120_000);
});
