// The per-line label builder: Loki's precedence of parsed labels over
// structured metadata over stream labels, deletion, errors and grouping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelsBuilder, Labels, compareLabels } from './labels.js';

const builder = () => new LabelsBuilder(new Map([['app', 'a'], ['env', 'prod']]), { trace: 't1' });

describe('LabelsBuilder', () => {
  it('parsed beats metadata beats stream, and deleting hides the stream value', () => {
    const lb = builder();
    lb.setParsed('trace', 'p');
    lb.setParsed('env', 'dev');
    assert.equal(lb.get('trace'), 'p');
    lb.delete('app');
    assert.equal(lb.get('app'), undefined);
    assert.deepEqual(lb.labels().toRecord(), { env: 'dev', trace: 'p' });
    assert.deepEqual(lb.categories(), { metadata: {}, parsed: { env: 'dev', trace: 'p' } });
  });
  it('names clashing extractions with _extracted from the original stream labels, even after a drop', () => {
    const lb = builder();
    lb.delete('app');
    assert.equal(lb.extractedName('app'), 'app_extracted');
    assert.equal(lb.extractedName('trace'), 'trace_extracted');
    assert.equal(lb.extractedName('new'), 'new');
  });
  it('groups samples by, without, none and all, keeping everything on error', () => {
    const lb = builder();
    lb.setParsed('latency', '3');
    assert.deepEqual(lb.grouped({ mode: 'by', names: new Set(['app', 'nope']) }).toRecord(), { app: 'a' });
    assert.deepEqual(lb.grouped({ mode: 'without', names: new Set(['latency', 'trace']) }).toRecord(), { app: 'a', env: 'prod' });
    assert.deepEqual(lb.grouped({ mode: 'none' }).toRecord(), {});
    lb.setError('X', 'why');
    assert.deepEqual(lb.grouped({ mode: 'by', names: new Set(['app']) }).toRecord(), { __error__: 'X', __error_details__: 'why', app: 'a', env: 'prod', latency: '3', trace: 't1' });
  });
});

describe('Labels', () => {
  it('sorts, keys and prints like Prometheus', () => {
    const l = Labels.fromRecord({ b: '2', a: 'x"y' });
    assert.equal(l.toString(), '{a="x\\"y", b="2"}');
    assert.equal(Labels.fromRecord({ a: '1' }).key === Labels.fromRecord({ a: '1' }).key, true);
    assert.ok(compareLabels(Labels.fromRecord({ a: '1' }), Labels.fromRecord({ a: '1', b: '1' })) < 0);
    assert.ok(compareLabels(Labels.fromRecord({ a: '2' }), Labels.fromRecord({ a: '10' })) > 0);
  });
});
