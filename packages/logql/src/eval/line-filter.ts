/**
 * Line filters: `|= "s"`, `!= "s"`, `|~ "re"`, `!~ "re"`, their `or`
 * alternatives and `ip("...")` terms, compiled to predicates on the line.
 *
 * Invariants (Loki): `|=`/`|~` pass when any alternative matches, `!=`/`!~`
 * when none does; matching is case-sensitive substring search or an
 * unanchored RE2 search; an empty string or regex matches every line.
 */
import type { LineFilter } from '../ast.js';
import { EvaluationError } from './errors.js';
import { GoRegexp } from './go/regexp.js';
import { compileIpPattern, containsMatchingIp } from './ip-match.js';

export type LinePredicate = (line: string) => boolean;

function term(value: string, ip: boolean | undefined, regex: boolean): LinePredicate {
  if (ip) {
    const m = compileIpPattern(value);
    if (typeof m === 'string') throw new EvaluationError('invalid-query', `${m}; use an address, a CIDR such as 10.0.0.0/8 or a range such as 10.0.0.1-10.0.0.9`);
    return (line) => containsMatchingIp(line, m);
  }
  if (!regex) return value === '' ? () => true : (line) => line.includes(value);
  let re: GoRegexp;
  try {
    re = new GoRegexp(value);
  } catch (err) {
    throw new EvaluationError('invalid-query', `invalid line filter regex: ${err instanceof Error ? err.message : String(err)}`);
  }
  return (line) => re.test(line);
}

/** Compiles one line filter stage. Throws EvaluationError for an invalid regex or ip() pattern. */
export function compileLineFilter(f: LineFilter): LinePredicate {
  const regex = f.op === '|~' || f.op === '!~';
  const terms = [term(f.value, f.ip, regex), ...f.or.map((t) => term(t.value, t.ip, regex))];
  const any: LinePredicate = terms.length === 1 ? (terms[0] as LinePredicate) : (line) => terms.some((t) => t(line));
  return f.op === '|=' || f.op === '|~' ? any : (line) => !any(line);
}
