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
  return text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0).join('\n') + '\n';
}

/** Function definitions of a WGSL text: [name, isEntryPoint] (entry points carry an @compute). */
export function functionsOf(source) {
  const found = [];
  const re = /(@compute[^;{]*?)?\bfn\s+([A-Za-z_]\w*)\s*\(/g;
  for (let m; (m = re.exec(stripWgsl(source))); ) found.push([m[2], Boolean(m[1])]);
  return found;
}
