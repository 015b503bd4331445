// Starts the feed-parse worker from the TypeScript sources (`npm start` runs them through tsx): a worker
// thread does not inherit the loader, so it registers tsx itself before loading the worker.
import { register } from 'tsx/esm/api';

register();
await import('./feed-parse-worker.ts');
