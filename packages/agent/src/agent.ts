/**
 * The agent role (`meshlog agent --config FILE`): the same pipeline engine
 * as the server, with the components that make sense on a node. It never
 * imports the store, so it installs without chDB.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  ConfigSource,
  HTTP_INGEST_SERVICE,
  Pipeline,
  PipelineMetrics,
  ServiceMap,
  buildPipelineSpec,
  createLogger,
  type ComponentRegistry,
  type Logger,
} from '@meshlog/core';
import {
  SHUTDOWN_SIGNAL_SERVICE,
  datadogLogsSource,
  fileSource,
  lokiSink,
  meshlogSink,
  otlpSink,
  redactTransform,
  enrichK8sPathTransform,
  enrichMeshTransform,
  fluentSource,
  lokiPushSource,
  otlpSource,
  parseContainerTransform,
  parseTransform,
  splunkHecSource,
  stdoutSink,
  syslogSource,
  zipkinSource,
} from '@meshlog/components';
import { LocalHttpHost } from './local-http-host.js';

export const agentRegistry: ComponentRegistry = {
  // fluent: Fluent Bit or Docker's fluentd log driver on the node can forward to the agent.
  // syslog: the node's local syslog receiver (point rsyslog/journald forwarding or devices at it).
  // es_bulk stays server-only: its `/<index>/_bulk` routes need path parameters this agent's listener does not route.
  sources: {
    file: fileSource,
    otlp: otlpSource,
    fluent: fluentSource,
    syslog: syslogSource,
    splunk_hec: splunkHecSource,
    datadog_logs: datadogLogsSource,
    zipkin: zipkinSource,
    loki_push: lokiPushSource,
  },
  transforms: {
    parse: parseTransform,
    parse_container: parseContainerTransform,
    enrich_k8s_path: enrichK8sPathTransform,
    enrich_mesh: enrichMeshTransform,
    redact: redactTransform,
  },
  sinks: { meshlog: meshlogSink, otlp: otlpSink, loki: lokiSink, stdout: stdoutSink },
};

const AgentFileSchema = z
  .object({
    agent: z
      .object({
        data_dir: z.string().min(1).default('agent-data'),
        http: z
          .object({
            listen_address: z.string().default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(4318),
            max_request_bytes: z.number().int().positive().default(16 * 1024 * 1024),
            token_file: z.string().optional(),
          })
          .strict()
          .default({ listen_address: '127.0.0.1', port: 4318, max_request_bytes: 16 * 1024 * 1024 }),
      })
      .strict()
      .default({ data_dir: 'agent-data', http: { listen_address: '127.0.0.1', port: 4318, max_request_bytes: 16 * 1024 * 1024 } }),
    sources: z.record(z.string(), z.unknown()).optional(),
    transforms: z.record(z.string(), z.unknown()).optional(),
    sinks: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export interface RunningAgent {
  httpPort: number | undefined;
  stop(): Promise<void>;
}

/** Reads and validates an agent config file (every component's settings too), without starting anything. */
export function loadAgentConfig(configFile: string): { source: ConfigSource; config: z.infer<typeof AgentFileSchema>; spec: ReturnType<typeof buildPipelineSpec> } {
  const source = ConfigSource.fromFile(configFile);
  const config = source.validate(AgentFileSchema, source.value ?? {}, []);
  const spec = buildPipelineSpec(source, { sources: config.sources, transforms: config.transforms, sinks: config.sinks }, agentRegistry);
  return { source, config, spec };
}

export async function startAgent(configFile: string, logger: Logger = createLogger()): Promise<RunningAgent> {
  const { source, config, spec } = loadAgentConfig(configFile);
  checkTokenFile(source, config.agent.http.token_file);
  const dataDir = resolve(config.agent.data_dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const http = new LocalHttpHost(
    { listenAddress: config.agent.http.listen_address, port: config.agent.http.port, maxRequestBytes: config.agent.http.max_request_bytes, tokenFile: config.agent.http.token_file },
    logger,
  );
  const metrics = new PipelineMetrics();
  http.setMetrics(metrics);
  // Fired first on stop: a sink waiting for disk buffer space gives up, so sources stop promptly (unacknowledged lines are read again next start).
  const shutdown = new AbortController();
  const services = new ServiceMap().set(HTTP_INGEST_SERVICE, http).set(SHUTDOWN_SIGNAL_SERVICE, shutdown.signal);
  const pipeline = await Pipeline.build(spec, { dataDir, logger, metrics, services });
  await pipeline.start();
  const httpPort = config.agent.http.port !== 0 ? await http.listen() : undefined;
  logger.info('meshlog agent started', { components: pipeline.componentIds, http: httpPort });
  let stopping: Promise<void> | undefined;
  return {
    httpPort,
    stop: () =>
      (stopping ??= (async () => {
        shutdown.abort();
        await http.close();
        await pipeline.stop();
      })()),
  };
}

/**
 * The local listener's token file must hold a token: a missing one is a
 * config problem to name by its key (not a stack trace), and an empty one
 * would make the listener refuse every sender without saying why.
 */
function checkTokenFile(source: ConfigSource, tokenFile: string | undefined): void {
  if (tokenFile === undefined) return;
  let problem: string | undefined;
  try {
    if (readFileSync(tokenFile, 'utf8').trim() === '') problem = 'the file is empty';
  } catch (err) {
    problem = `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (problem === undefined) return;
  const path = ['agent', 'http', 'token_file'];
  throw new ConfigError(
    [{ path: path.join('.'), message: `${tokenFile}: ${problem}; it must hold the token local senders present (one line, chmod 600)`, ...source.locate(path) }],
    source.file,
  );
}
