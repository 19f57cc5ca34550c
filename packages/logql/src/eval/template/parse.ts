/**
 * Lexer and parser for Go's text/template language, as `line_format` and
 * `label_format` use it: text with `{{ }}` actions, `{{-`/`-}}` trimming,
 * comments, pipelines (`.a | f x | g`), parenthesised pipelines, fields
 * (`.a.b`, `$x.a`, `(pipe).a`), variables (`$x := ...`, `$x = ...`),
 * literals (strings, raw strings, numbers, chars, booleans, nil) and the
 * control actions `if`/`else if`/`else`/`end`, `with`, `range` (with
 * `break`/`continue`).
 *
 * Invariants: like Go, functions are checked when parsing (an unknown name
 * is a parse error), variables must be declared before use, and positions
 * are kept on every node so execution errors can point at them the way Go
 * does (`template: line:1:9: executing "line" at <now>: ...`).
 * `define`/`template`/`block` (named templates) are refused: a LogQL
 * template is a single anonymous template.
 */
import { parseGoFloat, parseGoInt } from '../go/strconv.js';

export interface Pipe {
  pos: number;
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

export interface Command {
  pos: number;
  args: Arg[];
}

export interface NumberNode {
  type: 'number';
  pos: number;
  text: string;
  isInt: boolean;
  isFloat: boolean;
  int: bigint;
  float: number;
  isChar: boolean;
}

export type Arg =
  | { type: 'field'; pos: number; idents: string[] }
  | { type: 'variable'; pos: number; name: string; idents: string[] }
  | { type: 'dot'; pos: number }
  | { type: 'nil'; pos: number }
  | { type: 'bool'; pos: number; value: boolean }
  | NumberNode
  | { type: 'string'; pos: number; quoted: string; value: string }
  | { type: 'identifier'; pos: number; name: string }
  | { type: 'pipe'; pos: number; pipe: Pipe }
  | { type: 'chain'; pos: number; node: Arg; fields: string[] };

export type TNode =
  | { type: 'text'; pos: number; text: string }
  | { type: 'action'; pos: number; pipe: Pipe }
  | ControlNode
  | { type: 'break' | 'continue'; pos: number };

export interface ControlNode {
  type: 'if' | 'with' | 'range';
  pos: number;
  pipe: Pipe;
  list: TNode[];
  elseList?: TNode[];
}

export class TemplateParseError extends Error {
  override readonly name = 'TemplateParseError';
}

// ----------------------------------------------------------------- lexer

type ItemType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'assign'
  | 'declare'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'string'
  | 'rawString'
  | 'char'
  | 'charConstant'
  | 'number'
  | 'bool'
  | 'dot'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'eof'
  | 'error';

interface Item {
  type: ItemType;
  pos: number;
  val: string;
  line: number;
}

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'nil', 'template', 'with']);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);

function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  const lineAt = (p: number) => {
    let n = 1;
    for (let i = 0; i < p; i++) if (input[i] === '\n') n++;
    return n;
  };
  const emit = (type: ItemType, start: number, end: number) => {
    items.push({ type, pos: start, val: input.slice(start, end), line: lineAt(start) });
  };
  const fail = (msg: string, at: number): Item[] => {
    items.push({ type: 'error', pos: at, val: msg, line: lineAt(at) });
    return items;
  };
  let trimNext = false;
  for (;;) {
    // Text up to the next action.
    const delim = input.indexOf('{{', pos);
    let textEnd = delim < 0 ? input.length : delim;
    let start = pos;
    if (trimNext) {
      while (start < textEnd && isSpace(input[start])) start++;
      trimNext = false;
    }
    let leftTrim = false;
    if (delim >= 0 && input[delim + 2] === '-' && isSpace(input[delim + 3])) {
      leftTrim = true;
      while (textEnd > start && isSpace(input[textEnd - 1])) textEnd--;
    }
    if (textEnd > start) emit('text', start, textEnd);
    if (delim < 0) break;
    pos = delim + 2 + (leftTrim ? 2 : 0);
    // Comments are {{/* ... */}}, directly against the delimiters (and trim markers).
    if (input.startsWith('/*', pos)) {
      const end = input.indexOf('*/', pos + 2);
      if (end < 0) return fail('unclosed comment', pos);
      let after = end + 2;
      let rightTrim = false;
      if (isSpace(input[after]) && input[after + 1] === '-' && input.startsWith('}}', after + 2)) {
        rightTrim = true;
        after += 2;
      }
      if (!input.startsWith('}}', after)) return fail('comment ends before closing delimiter', pos);
      pos = after + 2;
      trimNext = rightTrim;
      continue;
    }
    emit('leftDelim', delim, delim + 2);
    let parenDepth = 0;
    // Inside the action.
    for (;;) {
      if (isSpace(input[pos]) && input[pos + 1] === '-' && input.startsWith('}}', pos + 2)) {
        emit('rightDelim', pos + 2, pos + 4);
        pos += 4;
        trimNext = true;
        break;
      }
      if (input.startsWith('}}', pos)) {
        if (parenDepth > 0) return fail('unclosed left paren', pos);
        emit('rightDelim', pos, pos + 2);
        pos += 2;
        break;
      }
      const c = input[pos];
      const s = pos;
      if (c === undefined) return fail('unclosed action', pos);
      if (isSpace(c)) {
        // Stop before a space that starts a " -}}" trim marker.
        while (isSpace(input[pos]) && !(input[pos + 1] === '-' && input.startsWith('}}', pos + 2))) pos++;
        emit('space', s, pos);
        continue;
      }
      if (c === '=') {
        pos++;
        emit('assign', s, pos);
        continue;
      }
      if (c === ':') {
        if (input[pos + 1] !== '=') return fail('expected :=', pos);
        pos += 2;
        emit('declare', s, pos);
        continue;
      }
      if (c === '|') {
        pos++;
        emit('pipe', s, pos);
        continue;
      }
      if (c === '"') {
        pos++;
        for (;;) {
          const d = input[pos];
          if (d === undefined || d === '\n') return fail('unterminated quoted string', s);
          if (d === '\\') pos += 2;
          else {
            pos++;
            if (d === '"') break;
          }
        }
        emit('string', s, pos);
        continue;
      }
      if (c === '`') {
        const end = input.indexOf('`', pos + 1);
        if (end < 0) return fail('unterminated raw quoted string', s);
        pos = end + 1;
        emit('rawString', s, pos);
        continue;
      }
      if (c === '$' || c === '.') {
        pos++;
        if (c === '.' && input[pos] !== undefined && /[0-9]/.test(input[pos] as string)) {
          pos = s;
          const n = lexNumber(input, pos);
          if (n < 0) return fail(`bad number syntax: ${JSON.stringify(input.slice(s, -n))}`, s);
          pos = n;
          emit('number', s, pos);
          continue;
        }
        while (isAlnum(input[pos])) pos++;
        if (c === '.' && pos === s + 1) emit('dot', s, pos);
        else emit(c === '$' ? 'variable' : 'field', s, pos);
        if (!atTerminator(input, pos)) return fail(`bad character ${JSON.stringify(input[pos])}`, pos);
        continue;
      }
      if (c === "'") {
        pos++;
        for (;;) {
          const d = input[pos];
          if (d === undefined || d === '\n') return fail('unterminated character constant', s);
          if (d === '\\') pos += 2;
          else {
            pos++;
            if (d === "'") break;
          }
        }
        emit('charConstant', s, pos);
        continue;
      }
      if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
        const n = lexNumber(input, pos);
        if (n < 0) return fail(`bad number syntax: ${JSON.stringify(input.slice(s, -n))}`, s);
        pos = n;
        emit('number', s, pos);
        continue;
      }
      if (isAlnum(c)) {
        while (isAlnum(input[pos])) pos++;
        const word = input.slice(s, pos);
        if (!atTerminator(input, pos)) return fail(`bad character ${JSON.stringify(input[pos])}`, pos);
        emit(word === 'true' || word === 'false' ? 'bool' : KEYWORDS.has(word) ? 'keyword' : 'identifier', s, pos);
        continue;
      }
      if (c === '(') {
        parenDepth++;
        pos++;
        emit('leftParen', s, pos);
        continue;
      }
      if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) return fail('unexpected right paren', s);
        pos++;
        emit('rightParen', s, pos);
        continue;
      }
      if (c.charCodeAt(0) < 0x7f && c.charCodeAt(0) >= 0x20) {
        pos++;
        emit('char', s, pos);
        continue;
      }
      return fail(`unrecognized character in action: U+${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}`, s);
    }
  }
  items.push({ type: 'eof', pos: input.length, val: '', line: lineAt(input.length) });
  return items;
}

function atTerminator(input: string, pos: number): boolean {
  const c = input[pos];
  if (c === undefined || isSpace(c) || '.,|:()'.includes(c)) return true;
  return input.startsWith('}}', pos);
}

/** End of a number starting at `pos`, or minus the end when what follows is glued to it. */
function lexNumber(input: string, start: number): number {
  let pos = start;
  if (input[pos] === '+' || input[pos] === '-') pos++;
  let digits = '0123456789_';
  if (input[pos] === '0' && /[xXoObB]/.test(input[pos + 1] ?? '')) {
    const p = (input[pos + 1] as string).toLowerCase();
    pos += 2;
    digits = p === 'x' ? '0123456789abcdefABCDEF_' : p === 'o' ? '01234567_' : '01_';
  }
  while (pos < input.length && digits.includes(input[pos] as string)) pos++;
  if (input[pos] === '.') {
    pos++;
    while (pos < input.length && digits.includes(input[pos] as string)) pos++;
  }
  if (digits.length === 10 + 1 && /[eE]/.test(input[pos] ?? '')) {
    pos++;
    if (input[pos] === '+' || input[pos] === '-') pos++;
    while (/[0-9_]/.test(input[pos] ?? '')) pos++;
  }
  if (digits.length > 11 && /[pP]/.test(input[pos] ?? '')) {
    pos++;
    if (input[pos] === '+' || input[pos] === '-') pos++;
    while (/[0-9_]/.test(input[pos] ?? '')) pos++;
  }
  if (input[pos] === 'i') pos++;
  if (isAlnum(input[pos])) {
    while (isAlnum(input[pos])) pos++;
    return -pos;
  }
  return pos;
}

// ---------------------------------------------------------------- parsing

/** Go's strconv.Unquote for "..." and '...' literals (template strings and chars). */
function unquote(q: string): string | undefined {
  if (q.startsWith('`')) return q.slice(1, -1).replaceAll('\r', '');
  const body = q.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
      case '"':
      case "'":
        out += n;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) return undefined;
        out += n === 'x' && cp >= 0x80 ? String.fromCharCode(0xfffd) : String.fromCodePoint(cp);
        i += len;
        break;
      }
      default: {
        if (n !== undefined && n >= '0' && n <= '7') {
          const oct = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(oct)) return undefined;
          const v = parseInt(oct, 8);
          out += v >= 0x80 ? '\ufffd' : String.fromCharCode(v);
          i += 2;
          break;
        }
        return undefined;
      }
    }
  }
  return out;
}

function newNumber(pos: number, text: string, isChar: boolean): NumberNode | string {
  const n: NumberNode = { type: 'number', pos, text, isInt: false, isFloat: false, int: 0n, float: 0, isChar };
  if (isChar) {
    const s = unquote('"' + text.slice(1, -1).replaceAll('"', '\\"') + '"');
    const chars = s === undefined ? [] : [...s];
    if (chars.length !== 1) return `malformed character constant: ${text}`;
    const cp = (chars[0] as string).codePointAt(0) as number;
    return { ...n, isInt: true, isFloat: true, int: BigInt(cp), float: cp };
  }
  if (text.endsWith('i')) return `complex numbers are not supported in LogQL templates: ${text}`;
  const i = parseGoInt(text, 0);
  if (i.ok) {
    n.isInt = true;
    n.int = i.value;
    n.isFloat = true;
    n.float = Number(i.value);
    return n;
  }
  const f = parseGoFloat(text);
  if (f.ok) {
    if (!/[.eEpP]/.test(text)) return `integer overflow: ${JSON.stringify(text)}`;
    n.isFloat = true;
    n.float = f.value;
    if (Number.isInteger(f.value) && Math.abs(f.value) < 2 ** 63) {
      n.isInt = true;
      n.int = BigInt(f.value);
    }
    return n;
  }
  return `illegal number syntax: ${JSON.stringify(text)}`;
}

class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(
    private readonly items: Item[],
    private readonly name: string,
    private readonly hasFunction: (name: string) => boolean,
  ) {}

  private fail(msg: string, item?: Item): never {
    const line = (item ?? this.items[Math.max(0, this.i - 1)] ?? { line: 1 }).line;
    throw new TemplateParseError(`template: ${this.name}:${line}: ${msg}`);
  }

  private next(): Item {
    const it = this.items[this.i] as Item;
    if (it.type !== 'eof') this.i++;
    if (it.type === 'error') this.fail(it.val, it);
    return it;
  }

  private peek(): Item {
    const it = this.items[this.i] as Item;
    if (it.type === 'error') this.fail(it.val, it);
    return it;
  }

  private nextNonSpace(): Item {
    let it = this.next();
    while (it.type === 'space') it = this.next();
    return it;
  }

  private peekNonSpace(): Item {
    const save = this.i;
    const it = this.nextNonSpace();
    this.i = save;
    return it;
  }

  private describe(it: Item): string {
    switch (it.type) {
      case 'eof':
        return 'EOF';
      case 'rightDelim':
        return '"}}"';
      case 'keyword':
        return `<${it.val}>`;
      case 'space':
        return 'space';
      default:
        return JSON.stringify(it.val);
    }
  }

  private unexpected(it: Item, context: string): never {
    this.fail(`unexpected ${this.describe(it)} in ${context}`, it);
  }

  parse(): TNode[] {
    const list: TNode[] = [];
    while (this.peek().type !== 'eof') {
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') this.fail(`unexpected {{${n}}}`);
      list.push(n);
    }
    return list;
  }

  private textOrAction(): TNode | 'end' | 'else' {
    const it = this.nextNonSpace();
    if (it.type === 'text') return { type: 'text', pos: it.pos, text: it.val };
    if (it.type === 'leftDelim') return this.action(it);
    this.unexpected(it, 'input');
  }

  private action(delim: Item): TNode | 'end' | 'else' {
    const it = this.nextNonSpace();
    if (it.type === 'keyword') {
      switch (it.val) {
        case 'end':
          this.expect('rightDelim', 'end');
          return 'end';
        case 'else':
          // "else if" / "else with": leave the keyword for the enclosing control to see.
          if (this.peekNonSpace().type === 'keyword' && (this.peekNonSpace().val === 'if' || this.peekNonSpace().val === 'with')) return 'else';
          this.expect('rightDelim', 'else');
          return 'else';
        case 'if':
        case 'with':
        case 'range':
          return this.control(it.val, it.pos);
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) this.fail(`{{${it.val}}} outside {{range}}`, it);
          this.expect('rightDelim', it.val);
          return { type: it.val, pos: it.pos };
        case 'define':
        case 'template':
        case 'block':
          this.fail(`{{${it.val}}} is not supported in LogQL templates; inline the template text instead`, it);
      }
    }
    if (it.type !== 'eof') this.i--;
    return { type: 'action', pos: delim.pos, pipe: this.pipeline('command', 'rightDelim') };
  }

  private expect(type: ItemType, context: string): Item {
    const it = this.nextNonSpace();
    if (it.type !== type) this.unexpected(it, context);
    return it;
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): TNode {
    const depth = this.vars.length;
    const pipe = this.pipeline(kind, 'rightDelim');
    if (kind === 'range') this.rangeDepth++;
    let [list, next] = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: TNode[] | undefined;
    if (next === 'else') {
      const peek = this.peekNonSpace();
      if ((kind === 'if' && peek.type === 'keyword' && peek.val === 'if') || (kind === 'with' && peek.type === 'keyword' && peek.val === 'with')) {
        const kw = this.nextNonSpace();
        // The nested control consumes the shared {{end}}.
        elseList = [this.control(kind, kw.pos)];
      } else {
        [elseList, next] = this.itemList();
        if (next !== 'end') this.fail('expected end; found {{else}}');
      }
    }
    this.vars.length = depth;
    list = list ?? [];
    const node: TNode = { type: kind, pos, pipe, list };
    if (elseList) node.elseList = elseList;
    return node;
  }

  private itemList(): [TNode[], 'end' | 'else'] {
    const list: TNode[] = [];
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if (n === 'end' || n === 'else') return [list, n];
      list.push(n);
    }
    this.fail('unexpected EOF');
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): Pipe {
    const start = this.peekNonSpace();
    const pipe: Pipe = { pos: start.pos, decl: [], isAssign: false, cmds: [] };
    // Declarations: $x := / $x = / $i, $e := (range).
    decls: for (;;) {
      const save = this.i;
      const v = this.peekNonSpace();
      if (v.type !== 'variable') break;
      this.nextNonSpace();
      const after = this.peekNonSpace();
      if (after.type === 'assign' || after.type === 'declare') {
        this.nextNonSpace();
        pipe.isAssign = after.type === 'assign';
        pipe.decl.push(v.val);
        if (!pipe.isAssign) this.vars.push(v.val);
        else this.useVar(v);
        break;
      }
      if (after.type === 'char' && after.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace();
          if (p.type === 'variable' || p.type === 'rightDelim' || p.type === 'rightParen') continue decls;
          this.fail('range can only initialize variables', p);
        }
        this.fail(`too many declarations in ${context}`, after);
      }
      this.i = save;
      break;
    }
    for (;;) {
      const it = this.nextNonSpace();
      if (it.type === end) {
        if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, it);
        pipe.cmds.slice(1).forEach((c, i) => {
          const t = (c.args[0] as Arg).type;
          if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') this.fail(`non executable command in pipeline stage ${i + 2}`, it);
        });
        return pipe;
      }
      switch (it.type) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'string':
        case 'rawString':
        case 'variable':
        case 'leftParen':
          this.i--;
          pipe.cmds.push(this.command());
          break;
        case 'keyword':
          if (it.val === 'nil') {
            this.i--;
            pipe.cmds.push(this.command());
            break;
          }
          this.unexpected(it, context);
          break;
        default:
          this.unexpected(it, context);
      }
    }
  }

  private command(): Command {
    const cmd: Command = { pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const it = this.next();
      if (it.type === 'space') continue;
      if (it.type === 'rightDelim' || it.type === 'rightParen') {
        this.i--;
        break;
      }
      if (it.type === 'pipe') break;
      this.unexpected(it, 'operand');
    }
    if (cmd.args.length === 0) this.fail('empty command');
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().type !== 'field') return node;
    const fields: string[] = [];
    const pos = this.peek().pos;
    while (this.peek().type === 'field') fields.push(this.next().val.slice(1));
    switch (node.type) {
      case 'field':
        return { type: 'field', pos: node.pos, idents: [...node.idents, ...fields] };
      case 'variable':
        return { type: 'variable', pos: node.pos, name: node.name, idents: [...node.idents, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.fail(`unexpected . after term ${JSON.stringify(argString(node))}`);
        break;
    }
    return { type: 'chain', pos, node, fields };
  }

  private useVar(it: Item): Arg {
    const parts = it.val.split('.');
    const name = parts[0] as string;
    if (!this.vars.includes(name)) this.fail(`undefined variable ${JSON.stringify(name)}`, it);
    return { type: 'variable', pos: it.pos, name, idents: parts.slice(1) };
  }

  private term(): Arg | undefined {
    const it = this.nextNonSpace();
    switch (it.type) {
      case 'identifier':
        if (!this.hasFunction(it.val)) this.fail(`function ${JSON.stringify(it.val)} not defined`, it);
        return { type: 'identifier', pos: it.pos, name: it.val };
      case 'dot':
        return { type: 'dot', pos: it.pos };
      case 'keyword':
        if (it.val === 'nil') return { type: 'nil', pos: it.pos };
        break;
      case 'variable':
        return this.useVar(it);
      case 'field':
        return { type: 'field', pos: it.pos, idents: [it.val.slice(1)] };
      case 'bool':
        return { type: 'bool', pos: it.pos, value: it.val === 'true' };
      case 'charConstant':
      case 'number': {
        const n = newNumber(it.pos, it.val, it.type === 'charConstant');
        if (typeof n === 'string') this.fail(n, it);
        return n;
      }
      case 'leftParen':
        return { type: 'pipe', pos: it.pos, pipe: this.pipeline('parenthesized pipeline', 'rightParen') };
      case 'string':
      case 'rawString': {
        const value = unquote(it.val);
        if (value === undefined) this.fail(`invalid syntax: ${it.val}`, it);
        return { type: 'string', pos: it.pos, quoted: it.val, value };
      }
    }
    // Give the token back (the spaces before it stay consumed, as in Go's backup).
    if (it.type !== 'eof') this.i--;
    return undefined;
  }
}

/** Parses `text` as a template named `name` (`line` or `label`, as Loki names them). Throws TemplateParseError. */
export function parseTemplate(text: string, name: string, hasFunction: (name: string) => boolean): TNode[] {
  return new Parser(lex(text), name, hasFunction).parse();
}

// ------------------------------------------------------------- printing

/** The source-like text of a node, as Go's error messages quote it (`<.foo>`, `<div .x 0>`). */
export function argString(a: Arg): string {
  switch (a.type) {
    case 'field':
      return '.' + a.idents.join('.');
    case 'variable':
      return [a.name, ...a.idents].join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(a.value);
    case 'number':
      return a.text;
    case 'string':
      return a.quoted;
    case 'identifier':
      return a.name;
    case 'pipe':
      return '(' + pipeString(a.pipe) + ')';
    case 'chain':
      return argString(a.node) + '.' + a.fields.join('.');
  }
}

export function commandString(c: Command): string {
  return c.args.map(argString).join(' ');
}

export function pipeString(p: Pipe): string {
  const decl = p.decl.length > 0 ? p.decl.join(', ') + (p.isAssign ? ' = ' : ' := ') : '';
  return decl + p.cmds.map(commandString).join(' | ');
}
