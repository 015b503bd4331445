import { describeTenantMatrix } from '../fakes/tenant-matrix.ts';
import { startSlackTenants } from '../fakes/tenant-slack-driver.ts';

// Issue 19: two Slack workspaces installed through OAuth on one app, on SQLite and PostgreSQL.
describeTenantMatrix('Slack, two workspaces installed through OAuth', { platform: 'slack', startDriver: startSlackTenants });
