/**
 * The agent's logger: one JSON record per line, structurally a control-plane Logger.
 */
import { createAgentLogger, silentAgentLogger, type AgentLogger } from '../../agent/log/agent-logger';
import { createLogger, silentLogger, type Logger } from '../../control-plane/log/logger';
import { KubeNotFoundError } from '../../agent/kubernetes/kube-errors';

function capture(level?: 'debug' | 'info' | 'warn' | 'error'): { logger: AgentLogger; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = createAgentLogger('agent', { sink: (l) => lines.push(l), ...(level ? { level } : {}) });
  return { logger, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('writes one JSON record per call with ts, level, component, msg and fields', () => {
  const { logger, records } = capture();
  logger.info('service account created', { user: 'alice@example.com', bindings: 2 });
  const [record] = records();
  expect(record).toEqual({ ts: expect.any(String), level: 'info', component: 'agent', msg: 'service account created', fields: { user: 'alice@example.com', bindings: 2 } });
  expect(new Date(record.ts as string).toISOString()).toBe(record.ts);
});

test('fields cannot overwrite the record keys, and records without fields have none', () => {
  const { logger, records } = capture();
  logger.warn('careful', { level: 'debug', msg: 'spoofed' });
  logger.warn('plain');
  expect(records()[0]).toMatchObject({ level: 'warn', msg: 'careful', fields: { level: 'debug', msg: 'spoofed' } });
  expect(records()[1]).not.toHaveProperty('fields');
});

test('errors are logged with their message and stable code', () => {
  const { logger, records } = capture();
  logger.error('failed', { error: new KubeNotFoundError({ method: 'GET', path: '/x', status: 404, reason: 'NotFound', kubeMessage: 'gone' }) });
  expect(records()[0].fields).toEqual({ error: { message: 'GET /x: HTTP 404 NotFound: gone', code: 'ERR_KUBE_NOT_FOUND' } });
});

test('records below the level are dropped; child loggers keep level and sink and extend the component', () => {
  const { logger, records } = capture('warn');
  logger.debug('no');
  logger.info('no');
  const child = logger.child('service-accounts');
  child.info('no');
  child.error('yes');
  expect(records()).toEqual([expect.objectContaining({ level: 'error', component: 'agent.service-accounts', msg: 'yes' })]);
});

test('writes to stderr by default and the silent logger writes nothing', () => {
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    writes.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    createAgentLogger('stderr-check', { level: 'info' }).info('to stderr');
    silentAgentLogger.error('nothing');
    silentAgentLogger.child('x').error('nothing');
  } finally {
    process.stderr.write = original;
  }
  expect(writes).toHaveLength(1);
  expect(writes[0].endsWith('\n')).toBe(true);
  expect(JSON.parse(writes[0])).toMatchObject({ component: 'stderr-check', msg: 'to stderr' });
});

test('is interchangeable with the control plane Logger in both directions', () => {
  // Compile-time: these assignments are what the test checks; tsc runs over test/.
  const fromControlPlane: AgentLogger = silentLogger;
  const toControlPlane: Logger = createAgentLogger('agent', { sink: () => undefined });
  const lines: string[] = [];
  const cp: AgentLogger = createLogger('cp', { sink: (l) => lines.push(l) }).child('agent');
  cp.info('hello');
  expect(JSON.parse(lines[0])).toMatchObject({ component: 'cp.agent', msg: 'hello' });
  expect(typeof fromControlPlane.child('x').info).toBe('function');
  expect(typeof toControlPlane.child('x').warn).toBe('function');
});
