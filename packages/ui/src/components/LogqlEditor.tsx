/**
 * The LogQL editor: CodeMirror 6 with highlighting from @meshlog/logql's
 * lexer (the same one the server parses with, so colours never disagree
 * with the parser), parse errors underlined where they are with the
 * parser's message, and completion of label names and values fetched from
 * the Loki API for the current range. Shift+Enter or Ctrl+Enter runs.
 */
import { useEffect, useRef } from 'react';
import { EditorState, RangeSetBuilder, Prec } from '@codemirror/state';
import { EditorView, Decoration, ViewPlugin, keymap, placeholder, type DecorationSet, type ViewUpdate } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { autocompletion, completionKeymap, closeBrackets, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { parse, tokenize, ParseError } from '@meshlog/logql';

export interface LabelSource {
  names(): Promise<string[]>;
  values(name: string): Promise<string[]>;
}

interface Props {
  value: string;
  onChange(text: string): void;
  onRun(text: string): void;
  labels: LabelSource;
}

const KEYWORDS = new Set([
  'by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset',
  'json', 'logfmt', 'regexp', 'pattern', 'unpack', 'line_format', 'label_format', 'decolorize', 'drop', 'keep', 'unwrap', 'ip',
]);

const mark = (cls: string): Decoration => Decoration.mark({ class: cls });
const MARKS = {
  string: mark('lq-string'),
  number: mark('lq-number'),
  keyword: mark('lq-keyword'),
  fn: mark('lq-function'),
  label: mark('lq-label'),
  op: mark('lq-operator'),
};

/** Token colours; a text the lexer cannot read yet (an open string) keeps what it had up to there. */
function highlight(view: EditorView): DecorationSet {
  const text = view.state.doc.toString();
  const builder = new RangeSetBuilder<Decoration>();
  let tokens;
  try {
    tokens = tokenize(text);
  } catch {
    return builder.finish();
  }
  tokens.forEach((t, i) => {
    const from = t.pos.offset;
    const to = t.end;
    if (to <= from) return;
    let m: Decoration | undefined;
    if (t.type === 'string') m = MARKS.string;
    else if (t.type === 'number' || t.type === 'duration' || t.type === 'bytes' || t.type === 'range') m = MARKS.number;
    else if (t.type === 'punct') m = /^[|!=~<>+\-*/%^]+$/.test(t.text) ? MARKS.op : undefined;
    else if (t.type === 'ident') m = tokens[i + 1]?.text === '(' ? MARKS.fn : KEYWORDS.has(t.text) ? MARKS.keyword : MARKS.label;
    if (m) builder.add(from, to, m);
  });
  return builder.finish();
}

const highlighter = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = highlight(view);
    }
    update(u: ViewUpdate): void {
      if (u.docChanged) this.decorations = highlight(u.view);
    }
  },
  { decorations: (v) => v.decorations },
);

/** The parser's first error, where it is. */
export function parseDiagnostics(text: string): Diagnostic[] {
  if (!text.trim()) return [];
  try {
    parse(text);
    return [];
  } catch (err) {
    if (err instanceof ParseError) {
      const from = Math.min(err.offset, text.length);
      const to = Math.min(text.length, from + 1);
      return [{ from: to === from && from > 0 ? from - 1 : from, to: Math.max(to, from), severity: 'error', message: `line ${err.line}, column ${err.column}: ${err.reason}`, source: 'LogQL' }];
    }
    return [{ from: 0, to: text.length, severity: 'error', message: (err as Error).message, source: 'LogQL' }];
  }
}

function completionSource(labels: LabelSource) {
  return async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const before = ctx.state.doc.sliceString(0, ctx.pos);
    const open = before.lastIndexOf('{');
    if (open < 0 || before.lastIndexOf('}') > open) return null;
    const inSelector = before.slice(open + 1);
    const value = /([A-Za-z_][\w]*)\s*(?:=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inSelector);
    if (value) {
      const values = await labels.values(value[1]!).catch(() => []);
      const after = ctx.state.doc.sliceString(ctx.pos, ctx.pos + 1);
      return {
        from: ctx.pos - value[2]!.length,
        options: values.map((v) => ({ label: v, type: 'constant', detail: value[1], apply: after === '"' ? v : `${v}"` })),
        validFor: /^[^"]*$/,
      };
    }
    const name = /(?:^|[,\s])([A-Za-z_]\w*)?$/.exec(inSelector);
    if (name && !/"[^"]*$/.test(inSelector.replace(/"(?:[^"\\]|\\.)*"/g, ''))) {
      const names = await labels.names().catch(() => []);
      return { from: ctx.pos - (name[1]?.length ?? 0), options: names.map((n) => ({ label: n, type: 'property', apply: `${n}="` })), validFor: /^\w*$/ };
    }
    return null;
  };
}

/** The style nonce the server put in the page for this response (see packages/server/src/http/ui-routes.ts). */
function cspNonce(): string {
  const n = document.querySelector('meta[name="csp-nonce"]')?.getAttribute('content') ?? '';
  return n.startsWith('__') ? '' : n;
}

export function LogqlEditor({ value, onChange, onRun, labels }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  // Callbacks change every render; the editor is built once and reads the latest through refs.
  const latest = useRef({ onChange, onRun, labels });
  latest.current = { onChange, onRun, labels };

  useEffect(() => {
    const run = (v: EditorView): boolean => {
      latest.current.onRun(v.state.doc.toString());
      return true;
    };
    const source: LabelSource = { names: () => latest.current.labels.names(), values: (n) => latest.current.labels.values(n) };
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          Prec.highest(keymap.of([{ key: 'Shift-Enter', run }, { key: 'Mod-Enter', run }])),
          history(),
          closeBrackets(),
          autocompletion({ override: [completionSource(source)], activateOnTyping: true }),
          keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap]),
          highlighter,
          linter((ev) => parseDiagnostics(ev.state.doc.toString()), { delay: 250 }),
          lintGutter(),
          placeholder('{service_name="frontend"} |= "error"'),
          EditorView.lineWrapping,
          EditorView.cspNonce.of(cspNonce()),
          EditorView.contentAttributes.of({ 'aria-label': 'LogQL query', 'data-testid': 'logql-editor' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) latest.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // The editor is created once; `value` changes from outside are applied below.
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  return <div className="logql-editor" ref={host} />;
}
