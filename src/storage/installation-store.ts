/**
 * The port for platform installations (a Slack workspace's OAuth install): opaque JSON per workspace,
 * kept in Inkwire's own database so installs survive restarts. The data holds tokens: never log it.
 */
export interface InstallationStore {
  save(platform: string, workspaceId: string, data: string, at: Date): Promise<void>;
  get(platform: string, workspaceId: string): Promise<string | null>;
  delete(platform: string, workspaceId: string): Promise<boolean>;
  count(platform: string): Promise<number>;
}
