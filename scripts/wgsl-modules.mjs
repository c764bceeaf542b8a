// WGSL modules for kernels/: WGSL has no include, so a kernel names the shared files it needs
// with a line that every WGSL tool reads as a comment,
//   //! include "lib/indexing.wgsl"
// (the path relative to kernels/), and the embed step (scripts/embed-kernels.mjs) replaces that
// line by the file's text. A file is included once per kernel (a second include of it, direct
// or through another file, adds nothing), so shared files may include what they use.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const INCLUDE = /^\s*\/\/!\s*include\b(.*)$/;
const QUOTED = /^\s*"([^"]+\.wgsl)"\s*$/;

/**
 * The text of kernels file `file` (relative to `dir`) with its includes resolved. An include of a
 * missing file, or a malformed include line, is an error naming the including file and line.
 */
export function resolveIncludes(dir, file, seen = new Set([file])) {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  const out = [];
  lines.forEach((line, i) => {
    const m = INCLUDE.exec(line);
    if (!m) {
      out.push(line);
      return;
    }
    const where = `${relative(process.cwd(), join(dir, file))}:${i + 1}`;
    const q = QUOTED.exec(m[1]);
    if (!q) throw new Error(`${where}: malformed include (write //! include "lib/name.wgsl", a path relative to kernels/): ${line.trim()}`);
    const target = q[1];
    if (!existsSync(join(dir, target))) throw new Error(`${where}: include "${target}" not found (no ${relative(process.cwd(), join(dir, target))})`);
    if (seen.has(target)) return;
    seen.add(target);
    out.push(resolveIncludes(dir, target, seen).replace(/\n$/, ''));
  });
  return out.join('\n');
}

/**
 * WGSL without its comments, indentation and blank lines: what ships in the bundles. WGSL has no
 * string literals, so every `//` starts a comment; block comments nest.
 */
export function stripWgsl(source) {
  let text = '';
  for (let i = 0, depth = 0; i < source.length; i++) {
    const two = source.slice(i, i + 2);
    if (two === '/*') {
      depth++;
      i++;
    } else if (depth > 0 && two === '*/') {
      depth--;
      i++;
    } else if (depth === 0 && two === '//') {
      while (i < source.length && source[i] !== '\n') i++;
      text += '\n';
    } else if (depth === 0) text += source[i];
    else if (source[i] === '\n') text += '\n';
  }
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .join('\n') + '\n'
  );
}

/** Function definitions of a WGSL text: [name, isEntryPoint] (entry points carry an @compute). */
export function functionsOf(source) {
  const found = [];
  const re = /(@compute[^;{]*?)?\bfn\s+([A-Za-z_]\w*)\s*\(/g;
  for (let m; (m = re.exec(stripWgsl(source)));) found.push([m[2], Boolean(m[1])]);
  return found;
}

// Tokens of comment-free WGSL: identifiers, numbers (with suffixes and exponents), operators
// (longest first), other punctuation, whitespace.
const TOKEN =
  /(\s+)|([A-Za-z_]\w*)|(0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*(?:[pP][+-]?\d+)?[iuhf]?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[iuhf]?)|(->|<<=|>>=|&&|\|\||<<|>>|<=|>=|==|!=|\+\+|--|[-+*/%&|^]=|.)/gsy;
const OPERATOR = /^(?:\/\/|\/\*|->|<<=|>>=|&&|\|\||<<|>>|<=|>=|==|!=|\+\+|--|[-+*/%&|^]=)/;
const SWIZZLE = /^(?:[xyzw]{1,4}|[rgba]{1,4})$/;

/** Whether operator `b` written right after operator `a` would read as another token. */
function fuses(a, b) {
  const m = OPERATOR.exec(a + b);
  return m !== null && m[0].length > a.length;
}

function tokens(source) {
  const list = [];
  TOKEN.lastIndex = 0;
  for (let m; TOKEN.lastIndex < source.length && (m = TOKEN.exec(source));) {
    if (m[1]) continue;
    list.push(m[2] ? { word: m[2] } : m[3] ? { number: m[3] } : { op: m[4] });
  }
  return list;
}

/** A decimal float literal's shortest spelling: 0.5 -> .5, 1.0 -> 1., 2.50 -> 2.5 (same value). */
function shortNumber(n) {
  const m = /^(\d+)\.(\d*?)0*$/.exec(n);
  if (!m) return n;
  const whole = m[1] === '0' && m[2] !== '' ? '' : m[1];
  return `${whole}.${m[2]}`;
}

/** Short names that cannot be mistaken for anything: a letter, then digits (not f16, i32, u8, ...). */
function* shortNames(taken) {
  const letters = 'cdehijklmnopqstuvABCDEFGHIJKLMNOPQRSTUVWXYZ';
  for (let digits = 0; ; digits++) {
    for (const l of letters) {
      for (let n = 0; n < (digits === 0 ? 1 : 10 ** digits); n++) {
        const name = digits === 0 ? l : l + String(n).padStart(digits, '0');
        if (!taken.has(name) && !/^[fiu]\d+$/.test(name)) yield name;
      }
    }
  }
}

/**
 * Minifies comment-free WGSL for shipping: no whitespace where no token boundary needs it, float
 * literals in their shortest spelling, and the names the module declares (functions, constants,
 * variables, parameters, structs and their members) shortened, one-to-one over the whole module
 * and avoiding every name in it, so scopes and shadowing mean what they meant. Kept as written:
 * what the host names (entry points, overrides), names that could be swizzles (x, rgb, ...), and
 * names read after a `.` that no struct of the module declares (members of built-in results).
 * Bindings are by number and uniform layouts by offset, so buffers and fields may be renamed.
 * The embed step checks that the minified module reflects to the same layout.
 */
export function minifyWgsl(source) {
  const toks = tokens(source);
  const keep = new Set();
  const declared = new Set();
  const members = new Set();
  const afterDot = new Set();
  let depth = 0; // parentheses depth inside a function's parameter list
  let inParams = false;
  let structDepth = -1; // brace depth of the struct body being read, else -1
  let braces = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    const prev = toks[i - 1];
    const next = toks[i + 1];
    if (t.op === '{') {
      braces++;
      if (toks[i - 2]?.word === 'struct') structDepth = braces;
    } else if (t.op === '}') {
      if (braces === structDepth) structDepth = -1;
      braces--;
    }
    if (inParams) {
      if (t.op === '(') depth++;
      else if (t.op === ')' && --depth === 0) inParams = false;
      else if (t.word && depth === 1 && next?.op === ':') declared.add(t.word);
    }
    if (!t.word) continue;
    if (prev?.op === '.') afterDot.add(t.word);
    if (structDepth > 0 && braces === structDepth && next?.op === ':') members.add(t.word);
    const p = prev?.word;
    if (p === 'override') keep.add(t.word);
    if (p === 'fn') {
      // Entry points keep their names: the pipeline selects them by name.
      let entry = false;
      for (let j = i - 2, nest = 0; j >= 0; j--) {
        const u = toks[j];
        if (u.op === ')') nest++;
        else if (u.op === '(') nest--;
        else if (nest === 0 && (u.op === '}' || u.op === ';')) break;
        else if (nest === 0 && u.word === 'compute' && toks[j - 1]?.op === '@') entry = true;
      }
      (entry ? keep : declared).add(t.word);
      inParams = true;
      depth = 0;
    }
    if (p === 'let' || p === 'const' || p === 'struct' || p === 'var') declared.add(t.word);
    if (prev?.op === '>') {
      // var<address space, access> name
      let j = i - 1;
      for (let nest = 0; j >= 0; j--) {
        if (toks[j].op === '>') nest++;
        else if (toks[j].op === '<' && --nest === 0) break;
        else if (toks[j].op === ';' || toks[j].op === '{' || toks[j].op === '}') break;
      }
      if (toks[j]?.op === '<' && toks[j - 1]?.word === 'var') declared.add(t.word);
    }
  }
  const renamable = (w) => (declared.has(w) || members.has(w)) && !keep.has(w) && !SWIZZLE.test(w) && (!afterDot.has(w) || members.has(w));
  const all = new Set(toks.filter((t) => t.word).map((t) => t.word));
  const uses = new Map();
  for (const t of toks) if (t.word && renamable(t.word)) uses.set(t.word, (uses.get(t.word) ?? 0) + 1);
  // The most used names get the shortest replacements.
  const names = shortNames(all);
  const rename = new Map([...uses].sort((a, b) => b[1] - a[1]).map(([w]) => [w, names.next().value]));
  let out = '';
  let last = null;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.op === ',' && toks[i + 1]?.op === '}') continue; // a struct's trailing comma
    const text = t.word ? (rename.get(t.word) ?? t.word) : t.number ? shortNumber(t.number) : t.op;
    const word = !t.op;
    if (last && ((word && last.word) || (!word && !last.word && fuses(last.text, text)))) out += ' ';
    out += text;
    last = { word, text };
  }
  return out;
}
