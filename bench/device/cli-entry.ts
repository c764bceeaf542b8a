// The `gradmix` command inside the device kit (bundled to app/js/gradmix.mjs): bin/gradmix.js
// without its choice between tsx and dist/, since the bundle is the compiled CLI.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

// Mesa warns at every start without a runtime folder (as bin/gradmix.js).
if (!process.env.XDG_RUNTIME_DIR) {
  process.env.XDG_RUNTIME_DIR = join(process.env.TMPDIR ?? '/tmp', `gradmix-xdg-${process.getuid?.() ?? 0}`);
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}
process.exitCode = await main(process.argv.slice(2));
