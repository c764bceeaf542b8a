// Runs uvu test files in this one process (so they share one GPU device) and reads the outcome
// from uvu's summary: used by the test command (scripts/run-tests.mjs) and by the device kit's
// kernel suite (bench/device/kernel-suite.ts, bundled). The console output passes through.

/**
 * Imports each file as an uvu suite, runs them all, and returns the counts and uvu's printed text
 * (ANSI colours removed). `files` are [name, module URL] pairs; `bail` stops at the first failure.
 */
export async function runUvuFiles(files, { bail = false } = {}) {
  // uvu reads UVU_DEFER when it is first evaluated, so it is imported only after this.
  globalThis.UVU_DEFER = 1;
  const uvu = await import('uvu');
  let captured = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => {
    captured += String(chunk);
    return write(chunk, ...rest);
  };
  try {
    let index = 0;
    for (const [name, url] of files) {
      globalThis.UVU_INDEX = index++;
      globalThis.UVU_QUEUE.push([name]);
      await import(url);
    }
    await uvu.exec(bail);
  } finally {
    process.stdout.write = write;
  }
  // eslint-disable-next-line no-control-regex -- ESC starts the colour codes this strips
  const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
  const total = count('Total');
  const passed = count('Passed');
  // uvu's Total leaves out skipped tests (test.skip), so whatever of it did not pass failed.
  return { total, passed, failed: total - passed, skipped: count('Skipped'), output: plain };
}
