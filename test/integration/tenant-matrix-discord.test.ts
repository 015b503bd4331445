import { describeTenantMatrix } from '../fakes/tenant-matrix.ts';
import { startDiscordTenants } from '../fakes/tenant-discord-driver.ts';

// Issue 19: two Discord servers on one bot, over the gateway and over HTTP interactions, on SQLite and PostgreSQL.
describeTenantMatrix('Discord over the gateway', { platform: 'discord', startDriver: (world) => startDiscordTenants(world, 'gateway') });
describeTenantMatrix('Discord over HTTP interactions', { platform: 'discord', startDriver: (world) => startDiscordTenants(world, 'http') });
