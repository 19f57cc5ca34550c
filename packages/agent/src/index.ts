/** @meshlog/agent: the agent role (`meshlog agent`). Never depends on the store. */
export { startAgent, loadAgentConfig, agentRegistry, type RunningAgent } from './agent.js';
