// The Go text/template engine behind line_format and label_format. Cases are
// the examples of Loki's template function docs and of Loki's own formatter
// tests (pkg/logql/log/fmt_test.go), with the outputs they document.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemplateExecError, Template } from './exec.js';
import { TemplateParseError } from './parse.js';

const NOW = 1_700_000_000_000_000_000n;

function run(src: string, labels: Record<string, string> = {}, opts: { line?: string; ts?: bigint; name?: 'line' | 'label' } = {}): string {
  return new Template(src, opts.name ?? 'line').execute(new Map(Object.entries(labels)), { line: opts.line ?? '', tsNs: opts.ts ?? 0n, nowNs: NOW });
}

function fails(src: string, labels: Record<string, string> = {}): string {
  try {
    run(src, labels);
  } catch (err) {
    assert.ok(err instanceof TemplateExecError, String(err));
    return err.message;
  }
  assert.fail(`expected ${src} to fail`);
}

describe('template: documented functions', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    // Pipelines and labels.
    ['{{.foo | count "abc" }}', { foo: 'abc abc abc' }, '3'],
    ['{{.foo | count "a|b|c" }}', { foo: 'abc abc abc' }, '9'],
    ['{{ count "a|b" "abab" }} {{ count "o" "foo" }}', {}, '4 2'],
    ['foo{{.foo}}buzz{{  .bar  }}', { foo: 'blip', bar: 'blop' }, 'fooblipbuzzblop'],
    ['foo {{.foo}}buzz{{  .bar  }}', { bar: 'blop' }, 'foo buzzblop'],
    ['foo{{.foo}}buzz{{ Replace .bar "blop" "bar" -1 }}', { foo: 'blip', bar: 'blop' }, 'fooblipbuzzbar'],
    ['foo {{.foo | ToUpper }} buzz{{  .bar  }}', { foo: 'blip', bar: 'blop' }, 'foo BLIP buzzblop'],
    ['{{ .cluster | replace "-cluster" "" }} {{ replace "hello" "world" "hello world" }}', { cluster: 'ops-cluster' }, 'ops world world'],
    ['{{.foo | title }} {{ title "hello world"}}', { foo: 'blip' }, 'Blip Hello World'],
    ['{{.foo | substr 1 3 }} {{ .bar  | trunc 1 }} {{ .bar  | trunc 3 }}', { foo: 'blip', bar: 'blop' }, 'li b blo'],
    ['{{ substr 0 5 "hello world"}} {{ substr 6 11 "hello world"}} {{ trunc 5 "hello world"}} {{ trunc -5 "hello world"}}', {}, 'hello world hello world'],
    ['{{.foo | trim }} {{ .bar  | trimAll "op" }} {{ .bar  | trimPrefix "b" }} {{ .bar  | trimSuffix "p" }}', { foo: '  blip ', bar: 'blop' }, 'blip bl lop blo'],
    ['{{ trimAll "$" "$5.00" }} {{ trimPrefix "-" "-hello" }} {{ trimSuffix "-" "hello-" }} {{ trim "   hello    " }}', {}, '5.00 hello hello hello'],
    ['{{.foo | lower }} {{ .bar  | upper }} {{ lower "HELLO"}} {{ upper "hello"}}', { foo: 'BLIp', bar: 'blop' }, 'blip BLOP hello HELLO'],
    ['{{ "foo" | repeat 3 }}', {}, 'foofoofoo'],
    ['{{ "foo\\n bar" | indent 4 }}', {}, '    foo\n     bar'],
    ['{{ "foo" | nindent 2 }}', {}, '\n  foo'],
    ['{{ alignLeft 5 "hello world"}}|{{ alignLeft 5 "hi"}}|{{ alignRight 5 "hello world"}}|{{ alignRight 5 "hi"}}', {}, 'hello|hi   |world|   hi'],
    ['{{ .foo | b64enc }}', { foo: "i'm a string, encode me!" }, 'aSdtIGEgc3RyaW5nLCBlbmNvZGUgbWUh'],
    ['{{ .foo | b64dec }}', { foo: 'aSdtIGEgc3RyaW5nLCBlbmNvZGUgbWUh' }, "i'm a string, encode me!"],
    ['{{ .foo | b64dec }} {{ .bar | b64dec }}', { foo: 'Zm9vYmE', bar: 'Zm9vYg' }, 'fooba foob'],
    ['{{.foo | urlencode }}', { foo: '/loki/api/v1/query?query=sum(count_over_time({a="b", c=~"d.*"}' }, '%2Floki%2Fapi%2Fv1%2Fquery%3Fquery%3Dsum%28count_over_time%28%7Ba%3D%22b%22%2C+c%3D~%22d.%2A%22%7D'],
    ['{{ urldecode .foo }}', { foo: '%2Floki%2Fapi%3Fa%3D%22b%22+x' }, '/loki/api?a="b" x'],
    ['{{ regexReplaceAll "(p)" .foo "t" }}', { foo: 'BLIp' }, 'BLIt'],
    ['{{ regexReplaceAll "(a*)bc" .some_label "${1}a" }}', { some_label: 'aabc' }, 'aaa'],
    ['{{ regexReplaceAllLiteral "(p)" .foo "${1}" }}', { foo: 'BLIp' }, 'BLI${1}'],
    ['{{ regexReplaceAllLiteral "(ts=)" .timestamp "timestamp=" }}', { timestamp: 'ts=123' }, 'timestamp=123'],
    ['{{ printf "The IP address was %s" .remote_addr }}', { remote_addr: '129.168.1.1' }, 'The IP address was 129.168.1.1'],
    ['{{.foo | default "-" }}{{.bar | default "-"}}{{.unknown | default "-"}}', { foo: 'blip', bar: '' }, 'blip--'],
    ['{{ default "-" "" }} {{ default "-" "foo" }}', {}, '- foo'],
    // Logic.
    ['{{ if  .foo | contains "p"}}yes{{end}}-{{ if  .foo | contains "z"}}no{{end}}', { foo: 'BLIp' }, 'yes-'],
    ['{{ if  .foo | hasPrefix "BL" }}yes{{end}}-{{ if  .foo | hasPrefix "p"}}no{{end}}', { foo: 'BLIp' }, 'yes-'],
    ['{{ if  .foo | hasSuffix "Ip" }}yes{{end}}-{{ if  .foo | hasSuffix "pw"}}no{{end}}', { foo: 'BLIp' }, 'yes-'],
    ['{{ if and (contains "he" "hello") (contains "llo" "hello") }} yes {{end}}', {}, ' yes '],
    ['{{ if or (contains "he" "hello") (contains "xx" "hello") }} yes {{end}}', {}, ' yes '],
    ['{{ if contains "ErrTimeout" .err }} timeout {{else if contains "he" "hello"}} yes {{else}} no {{end}}', { err: 'x' }, ' yes '],
    ['{{ if eq "ErrTimeout" .err }} timeout {{end}}{{ if eq "hello" "hello" }} yes {{end}}', { err: 'ErrTimeout' }, ' timeout  yes '],
    // Maths.
    ['{{ add .foo 1 | sub .bar | mul .baz | div .bazz}}', { foo: '1', bar: '3', baz: '10', bazz: '20' }, '2'],
    ['{{ addf .foo 1.5 | subf .bar 1.5 | mulf .baz | divf .bazz }}', { foo: '1.5', bar: '5', baz: '10.5', bazz: '20.2' }, '3.8476190476190477'],
    ['{{ round (addf .foo 1.5 | subf .bar | mulf .baz | divf .bazz) 5 .2}}', { foo: '1.5', bar: '3.5', baz: '10.5', bazz: '20.4' }, '3.88572'],
    ['min is {{ min .foo .bar .baz }} and max is {{ max .foo .bar .baz }}', { foo: '5', bar: '10', baz: '15' }, 'min is 5 and max is 15'],
    ['minf is {{ minf .foo .bar .baz }} and maxf is {{maxf .foo .bar .baz}}', { foo: '5.3', bar: '10.5', baz: '15.2' }, 'minf is 5.3 and maxf is 15.2'],
    ['ceil is {{ ceil .foo }} and floor is {{floor .foo }}', { foo: '5.3' }, 'ceil is 6 and floor is 5'],
    ['mod is {{ mod .foo 3 }}', { foo: '20' }, 'mod is 2'],
    ['{{ "2.5" | float64 | int | add 10}}', {}, '12'],
    ['{{ add 3 2 5 }} {{ addf 3.5 2 5 }} {{ ceil 123.001 }} {{ div 10 2}} {{ divf 10 2 4}} {{ "3.5" | float64 }} {{ floor 123.9999 }} {{ "3" | int }}', {}, '10 10.5 124 5 1.25 3.5 123 3'],
    ['{{ max 1 2 3 }} {{ maxf 1 2.5 3 }} {{ min 1 2 3 }} {{ minf 1 2.5 3 }} {{ mul 5 2 3}} {{ mulf 5.5 2 2.5 }} {{ mod 10 3}}', {}, '3 3 1 1 30 27.5 1'],
    ['{{ round 123.555555 3 }} {{ round 123.88571428571 5 .2 }} {{ round 123.88571428571 5 }} {{ sub 5 2 }} {{ subf  5.5 2 1.5 }}', {}, '123.556 123.88572 123.88571 3 2'],
    ['{{.ip}} {{.status}} {{div .duration 1000}}', { ip: '1.1.1.1', status: '200', duration: '3000' }, '1.1.1.1 200 3'],
    // Conversions.
    ['{{ .foo | bytes }}', { foo: '3 kB' }, '3000'],
    ['{{ .foo | bytes }}', { foo: '3MB' }, '3e+06'],
    ['{{ .foo | duration }}', { foo: '3ms' }, '0.003'],
    ['{{ .foo | duration_seconds }}', { foo: '3m10s' }, '190'],
    // Dates.
    ['{{ sub (unixEpoch (toDate "2006-01-02" "2021-11-02")) (unixEpoch (toDate "2006-01-02" "2021-11-01")) }}', {}, '86400'],
    ['{{ date "2006-01-02" (toDate "2006-01-02" "2021-11-02") }}', {}, '2021-11-02'],
    ['{{ div (unixEpoch now) (unixEpoch now) }}', {}, '1'],
    ['{{ .foo | toDateInZone "2006-01-02T15:04:05.999999999Z" "UTC" | unixEpochMillis }}', { foo: '2023-03-10T01:32:40.340485723Z' }, '1678411960340'],
    ['{{ .foo | toDateInZone "2006-01-02T15:04:05.999999999Z" "UTC" | unixEpochNanos }}', { foo: '2023-03-10T01:32:40.340485723Z' }, '1678411960340485723'],
    ['{{ toDateInZone "2006-01-02" "UTC" "2021-11-02" | unixEpoch }}', {}, '1635811200'],
    ['from="{{date "2006-01-02" (unixToTime .from)}}"', { from: '1679577215' }, 'from="2023-03-23"'],
    ['{{ unixToTime "19373" | unixEpoch }} {{ unixToTime "1673798889902" | unixEpochMillis }} {{ unixToTime "1673798889902000" | unixEpochNanos }}', {}, '1673827200 1673798889902 1673798889902000000'],
    ['{{ unixEpoch now }}', {}, '1700000000'],
    ['{{ toDate "2006-01-02" "garbage" | unixEpoch }}', {}, '-62135596800'],
    // JSON.
    ['{{ range $q := fromJson .queries }}[{{ $q.query }}]{{ end }}', { queries: '[{"query":"a"},{"query":"b"}]' }, '[a][b]'],
    ['{{fromJson "{\\"foo\\": 55}"}}', {}, 'map[foo:55]'],
    ['{{ fromJson "not json" }}', {}, '<no value>'],
  ];
  for (const [src, labels, want] of cases) {
    it(src, () => assert.equal(run(src, labels), want));
  }
  it('__line__ and __timestamp__', () => {
    assert.equal(run('{{ __line__ }} bar {{ .bar }}', { bar: '2' }, { line: '1' }), '1 bar 2');
    assert.equal(run('{{ __line__ | lower }}', {}, { line: 'HELLO' }), 'hello');
    assert.equal(run('{{ __timestamp__ | date "2006-01-02" }} bar {{ .bar }}', { bar: '2' }, { ts: 1656331200000000000n }), '2022-06-27 bar 2');
    assert.equal(run('{{ __timestamp__ | unixEpoch }}', {}, { ts: 1656353124120000000n }), '1656353124');
    assert.equal(run('{{ __timestamp__ }}', {}, { ts: 1656331200000000000n }), '2022-06-27 12:00:00 +0000 UTC');
    assert.equal(run('{{ __timestamp__ | date "2006-01-02T15:04:05.00Z-07:00" }}', {}, { ts: 1656331200120000000n }), '2022-06-27T12:00:00.12Z+00:00');
  });
});

describe('template: language', () => {
  it('trims with {{- and -}}, and skips comments', () => {
    assert.equal(run('a  {{- "x" -}}  b {{/* gone */}}c {{- /* gone */ -}} d'), 'axb cd');
  });
  it('declares, assigns and scopes variables', () => {
    assert.equal(run('{{ $x := 1 }}{{ if eq $x 1 }}one{{ $y := 2 }}{{ $y }}{{ end }}{{ $x = 3 }}{{ $x }}'), 'one23');
    assert.equal(run('{{ range $i, $e := fromJson .j }}{{ $i }}={{ $e }};{{ end }}', { j: '["a","b"]' }), '0=a;1=b;');
    assert.equal(run('{{ range fromJson .j }}{{ . }}{{ else }}empty{{ end }}', { j: '[]' }), 'empty');
    assert.equal(run('{{ range $e := fromJson .j }}{{ if eq $e 2.0 }}{{ break }}{{ end }}{{ $e }}{{ end }}', { j: '[1,2,3]' }), '1');
    assert.equal(run('{{ with .a }}[{{ . }}]{{ else }}none{{ end }}{{ with .b }}[{{ . }}]{{ end }}', { a: 'x' }), '[x]');
  });
  it('evaluates parenthesised pipelines, fields on them, and ideal constants', () => {
    assert.equal(run('{{ (fromJson .j).a.b }}', { j: '{"a":{"b":"deep"}}' }), 'deep');
    assert.equal(run('{{ 3 }} {{ 3.0 }} {{ 1e3 }} {{ 0x10 }} {{ \'a\' }} {{ true }} {{ "s" }} {{ `raw\\n` }}'), '3 3 1000 16 97 true s raw\\n');
    assert.equal(run('{{ len "héllo" }} {{ index .a }} {{ print 1 2 "x" 3 }} {{ println "a" 1 }}', { a: 'z' }), '6 z 1 2x3 a 1\n');
    assert.equal(run('{{ not false }} {{ and 1 0 }} {{ or 0 "" "x" }} {{ ne 1 2 }} {{ lt "a" "b" }} {{ ge 2.5 2.5 }}'), 'true 0 x true true true');
    assert.equal(run('{{ html "<a href=\\"x\\">" }} {{ js "it\'s" }} {{ urlquery "a b" }}'), '&lt;a href=&#34;x&#34;&gt; it\\\'s a+b');
  });
  it('copies a label for the single-field template, without the error labels', () => {
    const t = new Template('{{.message}}', 'line');
    assert.equal(t.simpleField, 'message');
    assert.equal(new Template('{{ .a.b }}', 'line').simpleField, undefined);
  });
});

describe('template: errors', () => {
  it("reports execution errors with Go's position and context", () => {
    assert.equal(fails('{{.foo Replace "foo"}}', { foo: 'blip' }), 'template: line:1:2: executing "line" at <.foo>: foo is not a method but has arguments');
    assert.equal(fails('{{.foo | now}}', { foo: 'blip' }), 'template: line:1:9: executing "line" at <now>: wrong number of args for now: want 0 got 1');
    assert.equal(fails('{{ div 1 0 }}'), 'template: line:1:3: executing "line" at <div 1 0>: error calling div: runtime error: integer divide by zero');
    assert.equal(fails('{{ eq .a 1 }}', { a: '1' }), 'template: line:1:3: executing "line" at <eq .a 1>: error calling eq: incompatible types for comparison');
    assert.equal(fails('{{ .a.b }}', { a: 'x' }), 'template: line:1:3: executing "line" at <.a.b>: can\'t evaluate field b in type string');
    assert.equal(fails('{{ trunc .n "hello" }}', { n: '2' }), 'template: line:1:9: executing "line" at <.n>: wrong type for value; expected int; got string');
    assert.equal(fails('x\n{{ substr 3 1 .s }}', { s: 'ab' }), 'template: line:2:3: executing "line" at <substr 3 1 .s>: error calling substr: runtime error: slice bounds out of range [3:1]');
    assert.equal(fails('{{ substr -1 9 .s }}', { s: 'ab' }), 'template: line:1:3: executing "line" at <substr -1 9 .s>: error calling substr: runtime error: slice bounds out of range [:9] with length 2');
    assert.match(fails('{{ unixToTime "123" }}'), /error calling unixToTime: unable to parse time '123': %!w\(<nil>\)$/);
  });
  it('refuses templates that do not parse', () => {
    const parseError = (src: string) => {
      try {
        new Template(src, 'label');
      } catch (err) {
        assert.ok(err instanceof TemplateParseError);
        return err.message;
      }
      assert.fail(`expected ${src} not to parse`);
    };
    assert.equal(parseError('{{ nope .a }}'), 'template: label:1: function "nope" not defined');
    assert.equal(parseError('{{ .a '), 'template: label:1: unclosed action');
    assert.equal(parseError('{{ if .a }}x'), 'template: label:1: unexpected EOF');
    assert.equal(parseError('{{ $x }}'), 'template: label:1: undefined variable "$x"');
    assert.equal(parseError('{{ break }}'), 'template: label:1: {{break}} outside {{range}}');
    assert.match(parseError('{{ define "x" }}{{ end }}'), /not supported in LogQL templates/);
    assert.equal(parseError('{{ .a | "x" }}'), 'template: label:1: non executable command in pipeline stage 2');
  });
});

describe('template: resource limits', () => {
  it('fails, like any template error, instead of producing huge output', () => {
    assert.match(fails('{{ repeat 100000000 "x" }}'), /error calling repeat: result exceeds 1048576 characters/);
    assert.match(fails('{{ range 1000000000 }}x{{ end }}'), /range iterations exceed 100000/);
    assert.match(fails('{{ range $i := fromJson .j }}{{ range $k := fromJson $.j }}{{ range $l := fromJson $.j }}xxxxxxxxxx{{ end }}{{ end }}{{ end }}', { j: `[${Array(50).fill(1).join(',')}]` }), /range iterations exceed|template output exceeds/);
    assert.equal(run('{{ printf "%2000000d" 1 }}'), '%!(BADWIDTH)1');
  });
});
