/**
 * Small edits of LogQL text the UI makes for the user: filter for or out a
 * label value (a matcher added to the first stream selector) or a line value
 * (a line filter appended). Values are quoted the way the parser reads them.
 */
import { quoteString } from '@meshlog/logql';

export function addLabelMatcher(query: string, name: string, value: string, negate: boolean): string {
  const matcher = `${name}${negate ? '!=' : '='}${quoteString(value)}`;
  const close = query.indexOf('}');
  if (query.indexOf('{') < 0 || close < 0) return `{${matcher}}`;
  const inside = query.slice(query.indexOf('{') + 1, close).trim();
  return `${query.slice(0, close).trimEnd()}${inside ? ', ' : ''}${matcher}${query.slice(close)}`;
}

export function addLineFilter(query: string, value: string, negate: boolean): string {
  return `${query.trimEnd()} ${negate ? '!=' : '|='} ${quoteString(value)}`;
}
