/**
 * The `ip` queries and the one namespace command a site and its cleanup share: adding a
 * namespace (with the errors that say why it failed), and listing namespaces, routes and links.
 * Apart from FirewalledSite because cleanup of crashed runs needs them without any site object.
 */
import { runTool, type NetworkTools } from './commands';
import { NetnsCommandError, NetnsUnsupportedError, SiteExistsError } from './errors';
import type { RouteEntry } from './subnet';

export async function addNamespace(tools: NetworkTools, netns: string): Promise<void> {
  try {
    await runTool(tools.ip, ['netns', 'add', netns]);
  } catch (err) {
    if (!(err instanceof NetnsCommandError)) throw err;
    if (/File exists/i.test(err.stderr)) throw new SiteExistsError(netns);
    if (/Operation not permitted|Permission denied/i.test(err.stderr)) throw new NetnsUnsupportedError(netns, err.stderr);
    throw err;
  }
}

export async function hostRoutes(tools: NetworkTools): Promise<RouteEntry[]> {
  const { stdout } = await runTool(tools.ip, ['-j', '-4', 'route', 'show', 'table', 'all']);
  return stdout.trim() ? (JSON.parse(stdout) as RouteEntry[]) : [];
}

export async function namespaceExists(tools: NetworkTools, netns: string): Promise<boolean> {
  return (await listNamespaces(tools)).includes(netns);
}

export async function listNamespaces(tools: NetworkTools): Promise<string[]> {
  const { stdout } = await runTool(tools.ip, ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

export async function linkExists(tools: NetworkTools, name: string, netns?: string): Promise<boolean> {
  try {
    await runTool(tools.ip, [...(netns ? ['-n', netns] : []), 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}
