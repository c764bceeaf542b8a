// Debian's Chromium driven by playwright-core (no browser download), for the tests that run the
// engine in a page (browser.test.ts) and the benchmark page (bench-web.test.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** $CHROMIUM, else Debian's binary; undefined where there is none. */
export const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export const NO_CHROMIUM =
  'no Chromium at /usr/bin/chromium (or $CHROMIUM). Install it (`apt-get install -y chromium` on Debian, or `npm run setup` as root), or set GRADMIX_SKIP_BROWSER=1 to skip the browser tests.';

// What Debian's Chromium needs for WebGPU here (its SwiftShader adapter) and a quiet headless run.
const FLAGS = [
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** A headless Chromium with WebGPU, its profile under `work`. */
export function launchChromium(work: string): Promise<BrowserContext> {
  if (!CHROMIUM) throw new Error(NO_CHROMIUM);
  return chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS });
}
