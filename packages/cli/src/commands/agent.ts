/** `meshlog agent --config FILE`: runs the agent role until SIGTERM/SIGINT. */
import { ConfigError, createLogger } from '@meshlog/core';
import { startAgent } from '@meshlog/agent';
import { CliError } from './client.js';

export async function agentCommand(opts: { config: string }): Promise<void> {
  const logger = createLogger();
  let agent;
  try {
    agent = await startAgent(opts.config, logger);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`invalid configuration:\n${err.message}`, 2);
    throw err;
  }
  // The sources' timers are unref'd and without a local listener (http.port: 0) nothing else holds the event loop: this keeps the process up until a signal.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => {
    const stop = (): void => void agent.stop().then(resolve, resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  clearInterval(keepAlive);
}
