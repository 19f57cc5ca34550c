/**
 * Executes a parsed Go text/template against a log line's labels, with the
 * options Loki uses (`missingkey=zero`: a missing label is ""). This is the
 * engine behind `| line_format` and `| label_format`.
 *
 * Invariants: evaluation follows text/template's exec.go: arguments are
 * type-checked against the function's Go signature (untyped number
 * constants adapt to the parameter), the piped value is the last argument,
 * `and`/`or` short-circuit, `nil` results print `<no value>`, variables are
 * scoped to their control block. Every execution error becomes a
 * TemplateExecError whose message is Go's, e.g.
 * `template: line:1:2: executing "line" at <.foo>: foo is not a method but has arguments`,
 * because Loki puts that text in `__error_details__`.
 */
import { formatValue } from '../go/fmt.js';
import { GoTime, formatGoTime, goTimeString } from '../go/time.js';
import { utf8Offset } from '../go/utf8.js';
import { GoInt, GoMap, goTypeName, isTrue, type GoValue } from '../go/values.js';
import { FUNCTIONS, GoFuncError, type FuncContext, type ParamType, type TemplateFunc } from './funcs.js';
import { argString, commandString, parseTemplate, type Arg, type Command, type ControlNode, type NumberNode, type Pipe, type TNode } from './parse.js';

export class TemplateExecError extends Error {
  override readonly name = 'TemplateExecError';
}

/** No piped value (Go's missingVal), as opposed to `undefined`, an invalid value. */
const MISSING = Symbol('missing');
type Val = GoValue | undefined;
type Final = Val | typeof MISSING;

/**
 * Meshlog's guard against templates that would stall the server (Loki has
 * none): one execution may write at most this many characters and run at
 * most this many range iterations; past that it fails like any template
 * error (TemplateFormatErr on the line).
 */
export const MAX_TEMPLATE_OUTPUT = 1 << 20;
export const MAX_RANGE_ITERATIONS = 100_000;

class BreakSignal {}
class ContinueSignal {}

const TYPE_NAMES: Record<ParamType, string> = {
  string: 'string',
  int: 'int',
  int64: 'int64',
  float64: 'float64',
  bool: 'bool',
  time: 'time.Time',
  any: 'interface {}',
  value: 'reflect.Value',
};

function matchesType(v: GoValue, t: ParamType): boolean {
  switch (t) {
    case 'string':
      return typeof v === 'string';
    case 'float64':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'int':
    case 'int64':
      return v instanceof GoInt && v.type === t;
    case 'time':
      return v instanceof GoTime;
    default:
      return true;
  }
}

class State {
  private readonly vars: Array<{ name: string; value: Val }> = [];
  private at: { pos: number; text: string } = { pos: 0, text: '' };
  private iterations = 0;
  out = '';

  constructor(
    private readonly name: string,
    private readonly source: string,
    private readonly ctx: FuncContext,
    data: GoValue,
  ) {
    this.vars.push({ name: '$', value: data });
  }

  private setAt(pos: number, text: string): void {
    this.at = { pos, text };
  }

  errorf(msg: string): never {
    const before = this.source.slice(0, this.at.pos);
    const nl = before.lastIndexOf('\n');
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = nl < 0 ? utf8Offset(this.source, this.at.pos) : utf8Offset(before.slice(nl + 1), before.length - nl - 1);
    throw new TemplateExecError(`template: ${this.name}:${line}:${col}: executing "${this.name}" at <${this.at.text}>: ${msg}`);
  }

  private write(s: string): void {
    this.out += s;
    if (this.out.length > MAX_TEMPLATE_OUTPUT) this.errorf(`template output exceeds ${MAX_TEMPLATE_OUTPUT} characters`);
  }

  walk(dot: Val, nodes: TNode[]): void {
    for (const node of nodes) {
      switch (node.type) {
        case 'text':
          this.write(node.text);
          break;
        case 'action': {
          const v = this.evalPipeline(dot, node.pipe);
          if (node.pipe.decl.length === 0) this.printValue(v);
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const v = this.evalPipeline(dot, node.pipe);
          if (v === undefined) this.errorf(`${node.type} can't use <no value>`);
          if (isTrue(v)) this.walk(node.type === 'with' ? v : dot, node.list);
          else if (node.elseList) this.walk(dot, node.elseList);
          this.vars.length = mark;
          break;
        }
        case 'range':
          this.walkRange(dot, node);
          break;
        case 'break':
          throw new BreakSignal();
        case 'continue':
          throw new ContinueSignal();
      }
    }
  }

  private walkRange(dot: Val, node: ControlNode): void {
    const mark = this.vars.length;
    const v = this.evalPipeline(dot, node.pipe);
    // The pipeline's declarations are re-bound on every iteration.
    this.vars.length = mark;
    const items: Array<[Val, Val]> = [];
    if (Array.isArray(v)) v.forEach((e, i) => items.push([new GoInt(i), e]));
    else if (v instanceof GoMap) [...v.entries.keys()].sort().forEach((k) => items.push([k, v.entries.get(k)]));
    else if (v instanceof GoInt) {
      if (node.pipe.decl.length > 1) this.errorf(`can't use ${v.v} to iterate over more than one variable`);
      if (v.v > BigInt(MAX_RANGE_ITERATIONS)) this.errorf(`range iterations exceed ${MAX_RANGE_ITERATIONS}`);
      for (let i = 0n; i < v.v; i++) items.push([new GoInt(i), new GoInt(i)]);
    } else if (v !== undefined && v !== null) this.errorf(`range can't iterate over ${formatValue(v)}`);
    for (const [key, elem] of items) {
      if (++this.iterations > MAX_RANGE_ITERATIONS) this.errorf(`range iterations exceed ${MAX_RANGE_ITERATIONS}`);
      if (node.pipe.decl.length === 1) this.vars.push({ name: node.pipe.decl[0] as string, value: elem });
      else if (node.pipe.decl.length === 2) {
        this.vars.push({ name: node.pipe.decl[0] as string, value: key });
        this.vars.push({ name: node.pipe.decl[1] as string, value: elem });
      }
      try {
        this.walk(elem, node.list);
      } catch (e) {
        if (e instanceof BreakSignal) {
          this.vars.length = mark;
          break;
        }
        if (!(e instanceof ContinueSignal)) throw e;
      }
      this.vars.length = mark;
    }
    if (items.length === 0 && node.elseList) this.walk(dot, node.elseList);
    this.vars.length = mark;
  }

  private printValue(v: Val): void {
    this.write(v === undefined || v === null ? '<no value>' : formatValue(v));
  }

  private varValue(name: string): Val {
    for (let i = this.vars.length - 1; i >= 0; i--) if ((this.vars[i] as { name: string }).name === name) return (this.vars[i] as { value: Val }).value;
    this.errorf(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: Val): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as { name: string; value: Val };
      if (v.name === name) {
        v.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private evalPipeline(dot: Val, pipe: Pipe): Val {
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // A nil interface{} result is Go's invalid value.
      if (value === null) value = undefined;
    }
    const result = value === MISSING ? undefined : value;
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, result);
      else this.vars.push({ name, value: result });
    }
    return result;
  }

  private notAFunction(args: Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${argString(args[0] as Arg)}`);
  }

  private evalCommand(dot: Val, cmd: Command, final: Final): Val {
    const first = cmd.args[0] as Arg;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.setAt(first.pos, argString(first));
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first.pipe);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.setAt(first.pos, argString(first));
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
        break;
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.value;
    }
    return undefined;
  }

  private idealConstant(n: NumberNode): Val {
    this.setAt(n.pos, n.text);
    const isHexInt = /^0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    if (n.isFloat && !isHexInt && !n.isChar && /[.eEpP]/.test(n.text)) return n.float;
    if (n.isInt) return new GoInt(n.int, 'int');
    this.errorf(`${n.text} overflows int`);
  }

  private evalFieldNode(dot: Val, field: Extract<Arg, { type: 'field' }>, args: Arg[], final: Final): Val {
    this.setAt(field.pos, argString(field));
    return this.evalFieldChain(dot, dot, field.idents, args, final);
  }

  private evalChainNode(dot: Val, chain: Extract<Arg, { type: 'chain' }>, args: Arg[], final: Final): Val {
    this.setAt(chain.pos, argString(chain));
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${argString(chain)}`);
    const pipe = this.evalArg(dot, 'any', chain.node);
    return this.evalFieldChain(dot, pipe, chain.fields, args, final);
  }

  private evalVariableNode(dot: Val, v: Extract<Arg, { type: 'variable' }>, args: Arg[] | undefined, final: Final): Val {
    this.setAt(v.pos, argString(v));
    const value = this.varValue(v.name);
    if (v.idents.length === 0) {
      if (args) this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v.idents, args ?? [], final);
  }

  private evalFieldChain(dot: Val, receiver: Val, idents: string[], args: Arg[], final: Final): Val {
    let r = receiver;
    for (let i = 0; i < idents.length - 1; i++) r = this.evalField(dot, idents[i] as string, [], MISSING, r);
    return this.evalField(dot, idents[idents.length - 1] as string, args, final, r);
  }

  private evalField(dot: Val, name: string, args: Arg[], final: Final, receiver: Val): Val {
    if (receiver === undefined || receiver === null) return undefined;
    const hasArgs = args.length > 1 || final !== MISSING;
    if (receiver instanceof GoMap) {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      const v = receiver.entries.get(name);
      if (v !== undefined) return v;
      return receiver.elem === 'string' ? '' : null;
    }
    if (receiver instanceof GoTime) return this.timeMethod(dot, receiver, name, args, final);
    this.errorf(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  /** The few time.Time methods a template can reasonably call. */
  private timeMethod(dot: Val, t: GoTime, name: string, args: Arg[], final: Final): Val {
    const argv = args.slice(1).map((a) => this.evalArg(dot, 'string', a));
    if (final !== MISSING) argv.push(final);
    const want = name === 'Format' ? 1 : 0;
    const methods: Record<string, () => Val> = {
      Unix: () => new GoInt(t.unix(), 'int64'),
      UnixMilli: () => new GoInt(t.unixMilli(), 'int64'),
      UnixNano: () => new GoInt(t.unixNs, 'int64'),
      UTC: () => new GoTime(t.unixNs),
      String: () => goTimeString(t),
      Format: () => {
        if (typeof argv[0] !== 'string') this.errorf(`wrong type for value; expected string; got ${goTypeName(argv[0])}`);
        return formatGoTime(t, argv[0]);
      },
    };
    const m = methods[name];
    if (!m) this.errorf(`can't evaluate field ${name} in type time.Time`);
    if (argv.length !== want) this.errorf(`wrong number of args for ${name}: want ${want} got ${argv.length}`);
    return m();
  }

  private evalFunction(dot: Val, ident: Extract<Arg, { type: 'identifier' }>, cmd: Command | undefined, args: Arg[], final: Final): Val {
    this.setAt(ident.pos, ident.name);
    const fn = FUNCTIONS.get(ident.name) as TemplateFunc;
    return this.evalCall(dot, fn, cmd, ident.name, args, final);
  }

  private evalCall(dot: Val, fn: TemplateFunc, cmd: Command | undefined, name: string, args: Arg[], final: Final): Val {
    const nodes = args.slice(1);
    const numIn = nodes.length + (final !== MISSING ? 1 : 0);
    const numFixed = fn.params.length;
    if (fn.variadic) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${numIn}`);
    } else if (numIn !== numFixed) this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    if (name === 'and' || name === 'or') {
      let v: Val;
      for (const a of nodes) {
        v = this.evalArg(dot, 'value', a);
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }
    const typeAt = (i: number): ParamType => (i < numFixed ? (fn.params[i] as ParamType) : (fn.variadic as ParamType));
    const argv: Val[] = nodes.map((a, i) => this.evalArg(dot, typeAt(i), a));
    if (final !== MISSING) argv.push(this.validateType(final, typeAt(numIn - 1)));
    try {
      return fn.fn(argv, this.ctx);
    } catch (err) {
      if (!(err instanceof GoFuncError)) throw err;
      if (cmd) this.setAt(cmd.pos, commandString(cmd));
      this.errorf(`error calling ${name}: ${err.message}`);
    }
  }

  private validateType(value: Val, type: ParamType): Val {
    if (value === undefined) {
      if (type === 'any') return null;
      if (type === 'value') return undefined;
      this.errorf(`invalid value; expected ${TYPE_NAMES[type]}`);
    }
    if (type === 'any' || type === 'value') return value;
    if (value !== null && matchesType(value, type)) return value;
    this.errorf(`wrong type for value; expected ${TYPE_NAMES[type]}; got ${value === null ? 'interface {}' : goTypeName(value)}`);
  }

  private evalArg(dot: Val, type: ParamType, n: Arg): Val {
    this.setAt(n.pos, argString(n));
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, type);
      case 'nil':
        if (type === 'any' || type === 'value') return null;
        this.errorf(`cannot assign nil to ${TYPE_NAMES[type]}`);
        break;
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), type);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, undefined, MISSING), type);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n.pipe), type);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, undefined, [n], MISSING), type);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), type);
    }
    switch (type) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        this.errorf(`expected bool; found ${argString(n)}`);
        break;
      case 'float64':
        if (n.type === 'number' && n.isFloat) return n.float;
        this.errorf(`expected float; found ${argString(n)}`);
        break;
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt) return new GoInt(n.int, type);
        this.errorf(`expected integer; found ${argString(n)}`);
        break;
      case 'string':
        if (n.type === 'string') return n.value;
        this.errorf(`expected string; found ${argString(n)}`);
        break;
      case 'time':
        this.errorf(`can't handle ${argString(n)} for arg of type time.Time`);
        break;
      default:
        // interface{} and reflect.Value take literals as Go's ideal constants.
        if (n.type === 'bool') return n.value;
        if (n.type === 'string') return n.value;
        if (n.type === 'number') return this.idealConstant(n);
    }
    return undefined;
  }
}

/** A compiled template: `line` for line_format, `label` for label_format (the names Go's messages use). */
export class Template {
  private readonly nodes: TNode[];
  /** Set when the template is exactly `{{.name}}`: Loki then copies the label without running the engine. */
  readonly simpleField: string | undefined;

  /** Throws TemplateParseError (from ./parse.js) with Go's message. */
  constructor(
    readonly source: string,
    readonly name: 'line' | 'label',
  ) {
    this.nodes = parseTemplate(source, name, (fn) => FUNCTIONS.has(fn));
    const only = this.nodes.length === 1 ? this.nodes[0] : undefined;
    if (only?.type === 'action' && only.pipe.cmds.length === 1) {
      const args = (only.pipe.cmds[0] as Command).args;
      const a = args[0];
      if (args.length === 1 && a?.type === 'field' && a.idents.length === 1) this.simpleField = a.idents[0];
    }
  }

  /** Runs the template with `labels` as its data. Throws TemplateExecError with Go's message. */
  execute(labels: ReadonlyMap<string, string>, ctx: FuncContext): string {
    const state = new State(this.name, this.source, ctx, new GoMap(labels, 'string'));
    state.walk(new GoMap(labels, 'string'), this.nodes);
    return state.out;
  }
}
