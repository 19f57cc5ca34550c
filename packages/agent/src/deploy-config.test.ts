/**
 * The shipped Kubernetes ConfigMap holds a valid agent config: every key
 * and every component's settings pass the same validation `meshlog agent`
 * runs at start, so a manifest can never drift from the code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadAgentConfig } from './agent.js';

test('deploy/kubernetes/configmap.yaml holds an agent config that validates', () => {
  const manifest = parse(readFileSync(new URL('../../../deploy/kubernetes/configmap.yaml', import.meta.url), 'utf8')) as { data: Record<string, string> };
  const text = manifest.data['agent.yaml'];
  assert.ok(text, 'the ConfigMap has agent.yaml');
  const file = join(mkdtempSync(join(tmpdir(), 'deploy-config-')), 'agent.yaml');
  writeFileSync(file, text);
  const { config } = loadAgentConfig(file);
  const pods = config.sources?.['pods'] as { type: string; container_format?: string } | undefined;
  assert.equal(pods?.type, 'file');
  assert.equal(pods?.container_format, 'cri', 'kubelet pieces are joined before the checkpoint');
});
