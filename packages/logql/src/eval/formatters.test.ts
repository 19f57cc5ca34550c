// line_format, label_format, drop, keep and decolorize, with the examples of
// Loki's log query documentation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../parser.js';
import type { LogQuery } from '../ast.js';
import { EvaluationError } from './errors.js';
import { compilePipeline } from './pipeline.js';
import { runPipeline } from './testing/helpers.js';

describe('| line_format', () => {
  it('rewrites the line from labels (doc examples)', () => {
    assert.equal(runPipeline('{container="frontend"} | logfmt | line_format "{{.query}} {{.duration}}"', 'query="sum(x)" duration=1.2s other=1')?.line, 'sum(x) 1.2s');
    assert.equal(runPipeline('{container="frontend"} | logfmt | line_format "{{.ip}} {{.status}} {{div .duration 1000}}"', 'ip=1.1.1.1 status=200 duration=3000')?.line, '1.1.1.1 200 3');
  });
  it('keeps the line and sets TemplateFormatErr when the template fails', () => {
    const out = runPipeline('{a="b"} | logfmt | line_format "{{ div .x 0 }}"', 'x=1');
    assert.equal(out?.line, 'x=1');
    assert.equal(out?.labels.__error__, 'TemplateFormatErr');
    assert.equal(out?.labels.__error_details__, 'template: line:1:3: executing "line" at <div .x 0>: error calling div: runtime error: integer divide by zero');
  });
  it('refuses a template that does not parse, naming it', () => {
    const q = parse('{a="b"} | line_format "{{ .a "') as LogQuery;
    assert.throws(() => compilePipeline(q.pipeline), (e: unknown) => e instanceof EvaluationError && e.code === 'invalid-template' && e.message === 'invalid line template: template: line:1: unclosed action');
  });
  it('sees structured metadata and __line__', () => {
    assert.equal(runPipeline('{a="b"} | line_format "{{.trace_id}} {{ __line__ }}"', 'orig', { a: 'b' }, { trace_id: 'abc' })?.line, 'abc orig');
  });
});

describe('| label_format', () => {
  it('renames (dropping the source) and templates (keeping the sources)', () => {
    assert.deepEqual(runPipeline('{a="b"} | logfmt | label_format dst=src', 'src=1', { a: 'b' })?.labels, { a: 'b', dst: '1' });
    assert.deepEqual(runPipeline('{a="b"} | logfmt | label_format dst="{{.src}}"', 'src=1', { a: 'b' })?.labels, { a: 'b', dst: '1', src: '1' });
    assert.deepEqual(runPipeline('{a="b"} | logfmt | label_format a="{{.status}} {{.query}}"', 'status=200 query=up', { a: 'b' })?.labels, { a: '200 up', status: '200', query: 'up' });
  });
  it('templates of one stage all see the labels as they were at its first template', () => {
    assert.deepEqual(runPipeline('{a="b"} | label_format x="1", y="{{.x}}-"', 'l', { a: 'b' })?.labels, { a: 'b', x: '1', y: '-' });
    assert.deepEqual(runPipeline('{a="b"} | label_format x="1" | label_format y="{{.x}}-"', 'l', { a: 'b' })?.labels, { a: 'b', x: '1', y: '1-' });
  });
  it('runs the documented epoch comparison example', () => {
    const q =
      '{job="loki/querier"} | logfmt | label_format nowEpoch=`{{(unixEpoch now)}}`,createDateEpoch=`{{unixEpoch (toDate "2006-01-02" .createDate)}}` | label_format dateTimeDiff=`{{sub .nowEpoch .createDateEpoch}}` | dateTimeDiff > 86400';
    // now is 2023-11-14T22:13:20Z in the helpers.
    assert.notEqual(runPipeline(q, 'createDate=2023-11-01'), null);
    assert.equal(runPipeline(q, 'createDate=2023-11-14'), null);
  });
  it('refuses __error__ as a destination', () => {
    const q = parse('{a="b"} | label_format __error__="x"') as LogQuery;
    assert.throws(() => compilePipeline(q.pipeline), (e: unknown) => e instanceof EvaluationError && e.code === 'invalid-query');
  });
});

describe('| drop and | keep', () => {
  const line = '{"level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}';
  it('drops labels by name and by matcher (doc example)', () => {
    assert.deepEqual(runPipeline('{job="varlogs"}|json|drop level, method="GET"', line, { job: 'varlogs' })?.labels, { job: 'varlogs', host: 'grafana.net', path: '/', status: '200' });
    const lines = [
      '{"app": "some-api-service", "level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}',
      '{"app": "other-service", "level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}',
    ];
    assert.deepEqual(
      lines.map((l) => runPipeline('{job="varlogs"}|json|drop level, path, app=~"some-api.*"', l, { job: 'varlogs' })?.labels),
      [
        { host: 'grafana.net', job: 'varlogs', method: 'GET', status: '200' },
        { app: 'other-service', host: 'grafana.net', job: 'varlogs', method: 'GET', status: '200' },
      ],
    );
  });
  it('drop __error__ clears the error; the details are a label of their own (doc example)', () => {
    assert.deepEqual(runPipeline('{job="varlogs"}|json|drop __error__', 'INFO GET / loki.net 200', { job: 'varlogs' })?.labels, {
      job: 'varlogs',
      __error_details__: "Value looks like object, but can't find closing '}' symbol",
    });
    assert.deepEqual(runPipeline('{job="varlogs"}|json|drop __error__, __error_details__', 'INFO GET / loki.net 200', { job: 'varlogs' })?.labels, { job: 'varlogs' });
  });
  it('keeps only the listed labels, matchers included (doc examples)', () => {
    const lines = [line, '{"level": "info", "method": "POST", "path": "/", "host": "grafana.net", "status": "200"}'];
    assert.deepEqual(
      lines.map((l) => runPipeline('{job="varlogs"}|json|keep level, method="GET"', l, { job: 'varlogs' })?.labels),
      [{ level: 'info', method: 'GET' }, { level: 'info' }],
    );
    const apps = [
      '{"app": "some-api-service", "level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}',
      '{"app": "other-service", "level": "info", "method": "GET", "path": "/", "host": "grafana.net", "status": "200"}',
    ];
    assert.deepEqual(
      apps.map((l) => runPipeline('{job="varlogs"}|json|keep level, tenant, app=~"some-api.*"', l, { job: 'varlogs' })?.labels),
      [{ app: 'some-api-service', level: 'info' }, { level: 'info' }],
    );
  });
  it('keep never removes the error labels (doc note)', () => {
    assert.deepEqual(Object.keys(runPipeline('{a="b"} | json | keep a', 'oops', { a: 'b', c: 'd' })?.labels ?? {}), ['__error__', '__error_details__', 'a']);
  });
});

describe('| decolorize', () => {
  it('strips ANSI color sequences', () => {
    assert.equal(runPipeline('{job="example"} | decolorize', '\u001b[31mred\u001b[0m and \u001b[1;32mbold green\u001b[0m')?.line, 'red and bold green');
  });
});

describe('structured metadata', () => {
  it('is filterable, reported in labels and categorised apart from parsed labels', () => {
    const out = runPipeline('{app="x"} | logfmt | trace_id="t1"', 'level=warn', { app: 'x' }, { trace_id: 't1' });
    assert.deepEqual(out?.labels, { app: 'x', level: 'warn', trace_id: 't1' });
    assert.deepEqual(out?.metadata, { trace_id: 't1' });
    assert.deepEqual(out?.parsed, { level: 'warn' });
    // Metadata that clashes with a stream label is renamed.
    assert.deepEqual(runPipeline('{app="x"}', 'l', { app: 'x' }, { app: 'y' })?.labels, { app: 'x', app_extracted: 'y' });
  });
});
