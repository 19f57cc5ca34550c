/**
 * Elasticsearch bulk bodies (NDJSON: an action/metadata line, then for
 * `index`, `create` and `update` a source line) -> a list of operations.
 *
 * Two kinds of failure, as Elasticsearch has them:
 * - the request itself is malformed (an action line that is not JSON, an
 *   unknown action, an action without its source line, no index anywhere,
 *   no operation at all): `EsBulkRequestError`, answered with a top-level
 *   400 in Elasticsearch's error shape and nothing stored;
 * - one operation is bad (its source is not a JSON object, its index name
 *   is invalid, it is an update or delete): that operation carries an
 *   `error` and gets its own status in the response's `items`; the others
 *   are stored (partial success, which Filebeat, Logstash and Fluent Bit
 *   handle per item).
 *
 * Line numbers in messages are 1-based, as Elasticsearch counts them.
 */

export class EsBulkRequestError extends Error {
  constructor(
    /** Elasticsearch's error type, e.g. `illegal_argument_exception`. */
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'EsBulkRequestError';
  }
}

export type BulkAction = 'index' | 'create' | 'update' | 'delete';
const ACTIONS: ReadonlySet<string> = new Set(['index', 'create', 'update', 'delete']);

export interface EsItemError {
  type: string;
  reason: string;
  caused_by?: { type: string; reason: string };
  index?: string;
}

export interface BulkOperation {
  action: BulkAction;
  index: string;
  /** The id the client gave, or undefined (one is generated). */
  id: string | undefined;
  /** The source document (index/create only, when it parsed). */
  doc?: Record<string, unknown>;
  /** The source line as sent (index/create), for a body when the document has no message. */
  sourceText?: string;
  error?: { status: number; error: EsItemError };
}

export function parseBulkBody(body: Buffer, urlIndex: string | undefined): BulkOperation[] {
  const text = body.toString('utf8');
  const ops: BulkOperation[] = [];
  const missingIndex: number[] = [];
  let pos = 0;
  let line = 0;
  const next = (): string | undefined => {
    if (pos >= text.length) return undefined;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let l = text.slice(pos, end);
    if (l.endsWith('\r')) l = l.slice(0, -1);
    pos = end + 1;
    line++;
    return l;
  };
  for (;;) {
    const actionText = next();
    if (actionText === undefined) break;
    // Blank lines between operations carry nothing; Elasticsearch's own parser skips them too.
    if (actionText.trim() === '') continue;
    const actionLine = line;
    const { action, meta } = parseAction(actionText, actionLine);
    const index = stringMeta(meta, '_index', actionLine) ?? urlIndex;
    const id = stringMeta(meta, '_id', actionLine);
    if (index === undefined || index === '') missingIndex.push(ops.length + 1);
    const op: BulkOperation = { action, index: index ?? '', id };
    if (action !== 'delete') {
      const source = next();
      if (source === undefined) throw new EsBulkRequestError('illegal_argument_exception', `The bulk request must be terminated by a newline [\\n]: the ${action} action on line [${actionLine}] has no source line`);
      if (action === 'update') {
        op.error = unsupported(action);
      } else {
        op.sourceText = source;
        const parsed = parseSource(source, line);
        if ('error' in parsed) op.error = { status: 400, error: parsed.error };
        else op.doc = parsed.doc;
      }
    } else {
      op.error = unsupported(action);
    }
    if (!op.error && index) {
      const bad = indexNameProblem(index);
      if (bad) op.error = { status: 400, error: { type: 'invalid_index_name_exception', reason: `Invalid index name [${index}], ${bad}`, index } };
    }
    ops.push(op);
  }
  if (ops.length === 0) throw new EsBulkRequestError('action_request_validation_exception', 'Validation Failed: 1: no requests added;');
  if (missingIndex.length > 0) {
    throw new EsBulkRequestError('action_request_validation_exception', `Validation Failed: ${missingIndex.slice(0, 10).map((n, i) => `${i + 1}: index is missing (operation ${n});`).join('')}`);
  }
  return ops;
}

function parseAction(text: string, line: number): { action: BulkAction; meta: Record<string, unknown> } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EsBulkRequestError('illegal_argument_exception', `Malformed action/metadata line [${line}], expected a JSON object like {"index":{"_index":"logs"}}: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EsBulkRequestError('illegal_argument_exception', `Malformed action/metadata line [${line}], expected START_OBJECT but found [${Array.isArray(value) ? 'START_ARRAY' : 'VALUE'}]`);
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) throw new EsBulkRequestError('illegal_argument_exception', `Malformed action/metadata line [${line}], expected one action (one of [create, delete, index, update]) but found ${keys.length} fields`);
  const action = keys[0]!;
  if (!ACTIONS.has(action)) throw new EsBulkRequestError('illegal_argument_exception', `Malformed action/metadata line [${line}], expected one of [create, delete, index, update] but found [${action.slice(0, 40)}]`);
  const meta = (value as Record<string, unknown>)[action];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new EsBulkRequestError('illegal_argument_exception', `Malformed action/metadata line [${line}], expected START_OBJECT after [${action}]`);
  }
  return { action: action as BulkAction, meta: meta as Record<string, unknown> };
}

function stringMeta(meta: Record<string, unknown>, key: string, line: number): string | undefined {
  const v = meta[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  // Elasticsearch accepts numeric ids and stores them as text.
  if (typeof v === 'number' && key === '_id') return String(v);
  throw new EsBulkRequestError('illegal_argument_exception', `Action/metadata line [${line}]: [${key}] must be a string`);
}

function parseSource(text: string, line: number): { doc: Record<string, unknown> } | { error: EsItemError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message;
    return { error: { type: 'mapper_parsing_exception', reason: `failed to parse the document on line [${line}]`, caused_by: { type: 'x_content_parse_exception', reason } } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: { type: 'mapper_parsing_exception', reason: `failed to parse the document on line [${line}]: expected a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}` } };
  }
  return { doc: value as Record<string, unknown> };
}

function unsupported(action: BulkAction): { status: number; error: EsItemError } {
  return {
    status: 400,
    error: { type: 'illegal_argument_exception', reason: `the [${action}] action is not supported: Meshlog stores logs append-only (use index or create)` },
  };
}

/** Elasticsearch's index name rules; undefined when the name is fine. */
export function indexNameProblem(name: string): string | undefined {
  if (name !== name.toLowerCase()) return 'must be lowercase';
  if (/[\\/*?"<>| ,#:]/.test(name)) return 'must not contain the following characters [\\, /, *, ?, ", <, >, |, " ", ",", #, :]';
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (name === '.' || name === '..') return "must not be '.' or '..'";
  if (Buffer.byteLength(name) > 255) return 'index name is too long, (> 255)';
  return undefined;
}
