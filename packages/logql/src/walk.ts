/**
 * Tree traversal and the small questions the server, CLI and UI ask of a
 * query: is it a log or a metric query, which stream selectors does it read.
 *
 * Invariants: traversal is iterative (no recursion), pre-order and in source
 * order (left operand before right, selector before pipeline), and never
 * mutates the tree.
 */
import type { Expr, LogQuery, MetricExpr, Node, StreamSelector } from './ast.js';

/** The direct child nodes of `node`, in source order. */
export function children(node: Node): Node[] {
  switch (node.kind) {
    case 'LogQuery':
      return [node.selector, ...node.pipeline];
    case 'LabelFilter':
      return [node.filter];
    case 'LabelFilterBinary':
    case 'BinaryOp':
      return [node.left, node.right];
    case 'LogRange':
      return [node.query];
    case 'RangeAggregation':
      return [node.logRange];
    case 'VectorAggregation':
    case 'LabelReplace':
      return [node.expr];
    default:
      return [];
  }
}

/** Called for each node with its parent; returning `false` skips the node's children. */
export type Visitor = (node: Node, parent: Node | undefined) => void | boolean;

/** Visits every node under (and including) `root`, pre-order, in source order. */
export function walk(root: Node, visit: Visitor): void {
  const stack: Array<[Node, Node | undefined]> = [[root, undefined]];
  while (stack.length > 0) {
    const [node, parent] = stack.pop() as [Node, Node | undefined];
    if (visit(node, parent) === false) continue;
    const kids = children(node);
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i] as Node, node]);
  }
}

export function isLogQuery(expr: Expr): expr is LogQuery {
  return expr.kind === 'LogQuery';
}

export function isMetricQuery(expr: Expr): expr is MetricExpr {
  return expr.kind !== 'LogQuery';
}

/** Every stream selector in the query, in source order (a binary operation can read several). */
export function selectorsOf(root: Node): StreamSelector[] {
  const out: StreamSelector[] = [];
  walk(root, (node) => {
    if (node.kind === 'StreamSelector') out.push(node);
  });
  return out;
}

/** Every log query in the query, in source order: the top-level one, or those inside range aggregations. */
export function logQueriesOf(root: Node): LogQuery[] {
  const out: LogQuery[] = [];
  walk(root, (node) => {
    if (node.kind === 'LogQuery') out.push(node);
  });
  return out;
}

/** A deep copy without `pos` fields, for comparing trees by value. */
export function withoutPositions<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => withoutPositions(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'pos') out[k] = withoutPositions(v);
  return out as T;
}
