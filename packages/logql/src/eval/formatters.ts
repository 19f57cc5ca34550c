/**
 * The stages that rewrite a line or its labels without parsing it:
 * `| line_format`, `| label_format`, `| decolorize`, `| drop`, `| keep`.
 *
 * Invariants (Loki):
 * - A template that fails at run time keeps the line (line_format) or
 *   leaves the label unset (label_format) and sets
 *   `__error__=TemplateFormatErr` with Go's message in `__error_details__`.
 * - `line_format "{{.name}}"` copies the label directly (the error labels
 *   are not visible this way, as in Loki's fast path).
 * - label_format renames (`dst=src`) move the value and drop `src`;
 *   templates all see the labels as they were at the stage's first
 *   template, and `__error__` cannot be a destination.
 * - `drop __error__` and `drop __error_details__` clear the errors; `keep`
 *   never removes them.
 */
import type { Drop, Keep, LabelFormat } from '../ast.js';
import { EvaluationError } from './errors.js';
import { GoRegexp } from './go/regexp.js';
import { compileMatcher } from './label-filter.js';
import { ERROR_DETAILS_LABEL, ERROR_LABEL } from './labels.js';
import type { Stage, StageOptions } from './stage.js';
import { TemplateExecError, Template } from './template/exec.js';
import { TemplateParseError } from './template/parse.js';

export const TEMPLATE_ERR = 'TemplateFormatErr';

const systemNow = () => BigInt(Date.now()) * 1_000_000n;

function compileTemplate(source: string, name: 'line' | 'label', what: string): Template {
  try {
    return new Template(source, name);
  } catch (err) {
    if (err instanceof TemplateParseError) throw new EvaluationError('invalid-template', `${what}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** `| line_format "..."`. Throws EvaluationError('invalid-template') when the template does not parse. */
export function lineFormatStage(source: string, opts: StageOptions = {}): Stage {
  const t = compileTemplate(source, 'line', 'invalid line template');
  const now = opts.nowNs ?? systemNow;
  const field = t.simpleField;
  if (field !== undefined) {
    return (s) => {
      s.line = s.lb.get(field) ?? '';
      return true;
    };
  }
  return (s) => {
    try {
      s.line = t.execute(s.lb.toMap(), { line: s.line, tsNs: s.ts, nowNs: now() });
    } catch (err) {
      if (!(err instanceof TemplateExecError)) throw err;
      s.lb.setError(TEMPLATE_ERR, err.message);
    }
    return true;
  };
}

/** `| label_format dst=src, dst="{{...}}"`. */
export function labelFormatStage(stage: LabelFormat, opts: StageOptions = {}): Stage {
  const now = opts.nowNs ?? systemNow;
  const seen = new Set<string>();
  const ops = stage.ops.map((op) => {
    if (op.dst === ERROR_LABEL) throw new EvaluationError('invalid-query', `${ERROR_LABEL} cannot be formatted; use | drop ${ERROR_LABEL} or a label filter such as | ${ERROR_LABEL}=""`);
    if (seen.has(op.dst)) throw new EvaluationError('invalid-query', `multiple label name '${op.dst}' not allowed in a single format operation; split it into two | label_format stages`);
    seen.add(op.dst);
    return op.mode === 'rename'
      ? { dst: op.dst, src: op.value }
      : { dst: op.dst, template: compileTemplate(op.value, 'label', `invalid template for label '${op.dst}'`) };
  });
  return (s) => {
    const lb = s.lb;
    let snapshot: Map<string, string> | undefined;
    for (const op of ops) {
      if (op.template === undefined) {
        const v = lb.get(op.src as string);
        if (v !== undefined) {
          lb.setParsed(op.dst, v);
          lb.delete(op.src as string);
        }
        continue;
      }
      if (snapshot === undefined || snapshot.size === 0) snapshot = lb.toMap();
      try {
        lb.setParsed(op.dst, op.template.execute(snapshot, { line: s.line, tsNs: s.ts, nowNs: now() }));
      } catch (err) {
        if (!(err instanceof TemplateExecError)) throw err;
        lb.setError(TEMPLATE_ERR, err.message);
      }
    }
    return true;
  };
}

// From https://github.com/acarl005/stripansi, as Loki uses it.
const ANSI = new GoRegexp(
  '[\u001B\u009B][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u0007)|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))',
);

/** `| decolorize`: strips ANSI escape sequences. */
export function decolorizeStage(): Stage {
  return (s) => {
    s.line = ANSI.replaceAll(s.line, '', true);
    return true;
  };
}

function namedMatchers(stage: Drop | Keep) {
  return stage.labels.map((l) => ({
    name: l.name,
    match: l.op !== undefined && l.value !== undefined ? compileMatcher(l.op, l.value) : undefined,
  }));
}

/** `| drop a, b="v"`. */
export function dropStage(stage: Drop): Stage {
  const items = namedMatchers(stage);
  return (s) => {
    const lb = s.lb;
    for (const { name, match } of items) {
      if (name === ERROR_LABEL) {
        if (!match || match(lb.err)) lb.err = '';
      } else if (name === ERROR_DETAILS_LABEL) {
        if (!match || match(lb.errDetails)) lb.errDetails = '';
      } else if (match) {
        if (match(lb.get(name) ?? '')) lb.delete(name);
      } else if (lb.get(name) !== undefined) lb.delete(name);
    }
    return true;
  };
}

/** `| keep a, b="v"`: every other label is removed (the error labels stay). */
export function keepStage(stage: Keep): Stage {
  const items = namedMatchers(stage);
  return (s) => {
    if (items.length === 0) return true;
    const lb = s.lb;
    for (const [name, value] of lb.entries()) {
      if (name === ERROR_LABEL || name === ERROR_DETAILS_LABEL || name === '__preserve_error__') continue;
      const keep = items.some((k) => k.name === name && (k.match === undefined || k.match(value)));
      if (!keep) lb.delete(name);
    }
    return true;
  };
}
