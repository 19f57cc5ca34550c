/**
 * A user's regular expression (multiline patterns, redaction patterns),
 * compiled once at config time and refused when redos-detector finds it can
 * backtrack catastrophically: such a pattern, run on every line, can stall a
 * whole node's log shipping on one hostile line. The dangerous-sounding
 * `allow_backtracking_regex: true` opts out.
 */
import { isSafePattern } from 'redos-detector';

/** Returns an error message, or undefined when the pattern compiles and is safe. */
export function regexProblem(source: string, allowBacktracking: boolean): string | undefined {
  try {
    new RegExp(source, 'u');
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
  if (allowBacktracking) return undefined;
  if (/\\k<|\\[1-9]/.test(source)) return 'back-references cannot be checked for catastrophic backtracking; remove them or set allow_backtracking_regex: true';
  const anonymous = source.replace(/\(\?<(?![=!])[A-Za-z_$][\w$]*>/g, '(');
  try {
    const result = isSafePattern(anonymous, { unicode: true, timeout: 2000 });
    if (result.safe) return undefined;
    return `the regex can backtrack catastrophically on some lines (redos-detector: ${result.error === 'timedOut' ? 'analysis timed out' : 'unbounded backtracking'}); make adjacent parts unable to match the same text, or set allow_backtracking_regex: true`;
  } catch (err) {
    return `the regex could not be checked for catastrophic backtracking (${(err as Error).message}); simplify it or set allow_backtracking_regex: true`;
  }
}
