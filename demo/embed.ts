// The embedding example (demo/embed.html): load a trained checkpoint, then, for an image the user
// drops on the page, show the open-set verdict (known or unknown, the nearest known class, the kNN
// score against the calibrated threshold) and the LayerCAM map. The verdict needs a checkpoint
// written by `gradmix train` after its evaluation, which holds the open-set recogniser (gallery
// and threshold); other checkpoints get the map only. The map is GradMix's attribution: the
// gradient of a batch's SimCLR loss at layer2.1, layer3.1 and layer4.1, so the dropped image is
// put in a batch with a few context digits (the loss needs negatives). ?model=<url> picks the
// checkpoint (default model.safetensors); ?context=<url> the folder of mnist digit files.
import {
  AUGMENT_PRESETS,
  defaultOptions,
  drawPanels,
  fetchModel,
  initBrowserGpu,
  lastBlockLayers,
  loadPanels,
  modelFromCheckpoint,
  onGpuLost,
  padImages,
  parseMnistDigits,
  releasePooledMemory,
  webGpuProblem,
  type OpenSetModel,
  type OpenSetPrediction,
  type PageModel,
  type TrainOptions,
} from '../src/browser.js';

const params = new URLSearchParams(location.search);
const MODEL_URL = params.get('model') ?? 'model.safetensors';
const CONTEXT_URL = params.get('context') ?? 'data/mnist/';
const CONTEXT_DIGITS = [0, 1, 7]; // files to take context digits from
const CONTEXT_SIZE = 7;
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const state = {
  phase: 'loading' as 'loading' | 'ready' | 'working' | 'error',
  model: '',
  maps: 0,
  error: null as string | null,
  /** The last dropped image's verdict (null without a recogniser), and the 32x32 digit it was computed on. */
  verdict: null as OpenSetPrediction | null,
  digit: null as number[] | null,
};
let loaded: PageModel | null = null;
let context: Float32Array | null = null; // CONTEXT_SIZE padded 32x32 digits
/** The page has a GPU; without one (or once it is lost) drops are refused and its message stays. */
let usable = false;
/** The largest checkpoint read whole (a ResNet50 at width 64 with its optimiser state is ~300 MB). */
const MAX_CHECKPOINT_BYTES = 1 << 30;

const setStatus = (text: string) => (byId('status').textContent = text);
function fail(message: string): void {
  Object.assign(state, { phase: 'error', error: message });
  const el = byId('error');
  el.textContent = message;
  el.hidden = false;
}

/** The options that shape the attribution: the checkpoint's own (layers, tau, ...) over the arch's defaults. */
function attributionOptions(m: PageModel): TrainOptions {
  const o = { ...defaultOptions(), arch: m.arch, layers: lastBlockLayers(m.arch) };
  const keys = ['layers', 'tau', 'camNormalize', 'gammaMin', 'gammaMax', 'fill', 'seed'] as const;
  for (const k of keys) if (m.config && m.config[k] !== undefined) Object.assign(o, { [k]: m.config[k] });
  return o;
}

async function useModel(m: PageModel, source: string): Promise<void> {
  if (m.inChannels !== 1) {
    m.recogniser?.dispose();
    m.model.dispose();
    throw new Error(`${source}: this example is for one-channel (MNIST) models; the checkpoint has ${m.inChannels} input channels`);
  }
  loaded?.recogniser?.dispose();
  loaded?.model.dispose();
  if (loaded) releasePooledMemory(); // the old model's buffers, of other sizes than the new one's
  loaded = m;
  state.model = `${source} (${m.arch} width ${m.width})`;
  const r = m.recogniser;
  byId('classes').textContent = r
    ? calibration(r)
    : 'This checkpoint holds no open-set recogniser (gallery and threshold), so there is no verdict, only the map: gradmix train stores one after its evaluation.';
  showVerdict(null);
  setStatus(`Model: ${state.model}. Drop an image.`);
}

/** What the threshold means: the known classes, and the share of held-out known images it accepted. */
function calibration(r: OpenSetModel): string {
  const { tpr, calibrationImages } = r.describe();
  return `Known classes: ${r.classNames.join(', ')}. Threshold ${r.threshold.toFixed(4)} on the kNN score (k = ${r.k}), accepting ${+(100 * tpr).toFixed(2)}% of ${calibrationImages} held-out known images.`;
}

/** The verdict beside the map: known or unknown, the nearest known class, the score against the threshold. */
function showVerdict(v: OpenSetPrediction | null): void {
  const box = byId('verdict');
  box.hidden = v === null;
  if (!v) return;
  box.className = `verdict ${v.known ? 'known' : 'unknown'}`;
  byId('verdictWord').textContent = v.known ? 'known' : 'unknown';
  byId('verdictClass').textContent = v.className;
  byId('verdictScore').textContent = `${v.score.toFixed(4)} ${v.known ? '≥' : '<'} threshold ${v.threshold.toFixed(4)}`;
}

async function loadContext(): Promise<Float32Array> {
  const per = Math.ceil(CONTEXT_SIZE / CONTEXT_DIGITS.length);
  const parts = await Promise.all(
    CONTEXT_DIGITS.map(async (d) => {
      const url = new URL(`${d}.json`, new URL(CONTEXT_URL, location.href)).href;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`context digits: ${url} answered ${res.status}`);
      return parseMnistDigits(await res.text(), url).subarray(0, per * 784);
    }),
  );
  const images = new Float32Array(CONTEXT_SIZE * 784);
  for (let i = 0; i < CONTEXT_SIZE; i++) images.set(parts[i % parts.length].subarray(Math.floor(i / parts.length) * 784, (Math.floor(i / parts.length) + 1) * 784), i * 784);
  const labels = new Int32Array(CONTEXT_SIZE);
  return padImages({ images, labels, n: CONTEXT_SIZE, channels: 1, height: 28, width: 28 }, 2).images;
}

/** A picture as a 32x32 grey digit in [0, 1]: fitted into 28x28 and centred, light on dark like MNIST. */
async function toDigit(file: File): Promise<Float32Array> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name}: this browser cannot decode it as an image; drop a PNG, JPEG, GIF or WebP image, or a .safetensors checkpoint`);
  }
  const canvas = new OffscreenCanvas(32, 32);
  const ctx = canvas.getContext('2d')!;
  const scale = 28 / Math.max(bitmap.width, bitmap.height);
  const w = bitmap.width * scale;
  const h = bitmap.height * scale;
  ctx.drawImage(bitmap, (32 - w) / 2, (32 - h) / 2, w, h);
  bitmap.close(); // a 12-megapixel photo holds ~48 MB until collected otherwise
  const rgba = ctx.getImageData(0, 0, 32, 32).data;
  const grey = new Float32Array(32 * 32);
  let inside = 0;
  let see = 0; // of the box's pixels, those the image leaves (mostly) transparent
  let box = 0;
  let opaqueLight = 0; // the luminance of the opaque ones, summed
  for (let i = 0; i < grey.length; i++) {
    const light = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 765;
    grey[i] = light * (rgba[4 * i + 3] / 255);
    inside += grey[i];
    const inBox = Math.abs((i % 32) + 0.5 - 16) < w / 2 && Math.abs(Math.floor(i / 32) + 0.5 - 16) < h / 2;
    box += inBox ? 1 : 0;
    see += inBox && rgba[4 * i + 3] < 128 ? 1 : 0;
    opaqueLight += inBox && rgba[4 * i + 3] >= 128 ? light : 0;
  }
  // Dark strokes on a transparent background (a canvas or drawing app's PNG) would be 0 like the
  // background: their opacity is the ink. (Light content there, or a card with clear corners,
  // keeps the rules below.)
  if (see > 0.05 * box && opaqueLight < 0.5 * (box - see)) {
    for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i + 3] / 255;
    return grey;
  }
  // Dark strokes on a light background (most drawings and scans) are inverted into MNIST's look.
  if (inside / (w * h) > 0.5) {
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const inBox = Math.abs(x + 0.5 - 16) < w / 2 && Math.abs(y + 0.5 - 16) < h / 2;
        const clear = rgba[4 * (y * 32 + x) + 3] < 128; // a card's clear corners stay background
        grey[y * 32 + x] = inBox && !clear ? 1 - grey[y * 32 + x] : 0;
      }
  }
  return grey;
}

/**
 * A dropped checkpoint's bytes, after a look at its header: a file that is no safetensors file, is
 * too large, or holds no encoder is refused before it is read whole (a language model's
 * .safetensors can be gigabytes).
 */
async function checkpointBytes(file: File): Promise<Uint8Array> {
  if (file.size > MAX_CHECKPOINT_BYTES) throw new Error(`${file.name}: ${(file.size / 2 ** 20).toFixed(0)} MB is more than a gradmix checkpoint (at most ${MAX_CHECKPOINT_BYTES / 2 ** 20} MB here)`);
  const head = new DataView(await file.slice(0, 8).arrayBuffer());
  const headerBytes = head.byteLength === 8 ? Number(head.getBigUint64(0, true)) : -1;
  if (headerBytes <= 0 || 8 + headerBytes > file.size) throw new Error(`${file.name}: not a safetensors file (its first 8 bytes give no header length within the file)`);
  const header = await file.slice(8, 8 + Math.min(headerBytes, 16 << 20)).text();
  if (!header.includes('"encoder.conv1.weight"')) throw new Error(`${file.name}: no tensor 'encoder.conv1.weight': not a checkpoint of gradmix's (or SupContrast's) encoder`);
  setStatus(`Loading ${file.name}…`);
  return new Uint8Array(await file.arrayBuffer());
}

async function showImage(file: File): Promise<void> {
  if (!loaded) throw new Error('no model loaded yet: drop a .safetensors checkpoint first');
  state.phase = 'working';
  state.verdict = null;
  showVerdict(null);
  const digit = await toDigit(file);
  state.digit = Array.from(digit);
  if (loaded.recogniser) {
    setStatus('Scoring the image against the known classes…');
    [state.verdict] = await loaded.recogniser.predict(digit, [1, 1, 32, 32]);
    showVerdict(state.verdict);
  }
  setStatus('Computing the LayerCAM map…');
  context ??= await loadContext();
  const batch = new Float32Array((1 + CONTEXT_SIZE) * 32 * 32);
  batch.set(digit, 0);
  batch.set(context, 32 * 32);
  const augment = AUGMENT_PRESETS.mnist;
  const { attributionPanels, renderPanels } = await loadPanels(); // a chunk, fetched once
  const p = await attributionPanels(loaded.model, attributionOptions(loaded), augment, batch, [1 + CONTEXT_SIZE, 1, 32, 32], { plainView1: true });
  drawPanels(byId<HTMLCanvasElement>('map'), renderPanels(p, augment.mean, augment.std, 5, 1, { plainView1: true }));
  state.maps++;
  state.phase = 'ready';
  setStatus(`Model: ${state.model}. The map's maximum is where GradMix would paste. Drop another image.`);
}

/**
 * Drops are handled one at a time, after the page is ready (and its default model loaded): a
 * checkpoint dropped while an image is scored would otherwise free the model in use, and two
 * images at once would share the model's train/eval switch.
 */
let pending: Promise<void> = Promise.resolve();
function handle(file: File): Promise<void> {
  pending = pending
    .then(() => ready)
    .then(async () => {
      if (!usable) return; // the reason (no WebGPU, a lost GPU) stays on the page
      try {
        if (/\.safetensors$/i.test(file.name)) await useModel(await modelFromCheckpoint(await checkpointBytes(file), file.name), file.name);
        else await showImage(file);
        byId('error').hidden = true; // an earlier failure no longer holds
      } catch (e) {
        fail((e as Error).message);
      }
    });
  return pending;
}

// A file dropped beside the box must not make the browser leave the page to open it.
for (const type of ['dragover', 'drop']) document.addEventListener(type, (e) => e.preventDefault());
const drop = byId('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void handle(file);
});
byId<HTMLInputElement>('file').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = ''; // choosing the same file again fires 'change' again
  if (file) void handle(file);
});

const ready = (async () => {
  byId('modelUrl').textContent = MODEL_URL;
  const problem = webGpuProblem();
  if (problem) return fail(problem);
  try {
    const g = await initBrowserGpu();
    byId('gpu').textContent = `WebGPU adapter: ${g.describe()}.`;
  } catch (e) {
    byId('gpu').textContent = 'No WebGPU.';
    return fail((e as Error).message);
  }
  usable = true;
  onGpuLost((reason) => {
    usable = false;
    fail(`The GPU was reset (${reason}): reload the page to go on.`);
  });
  try {
    await useModel(await fetchModel(MODEL_URL), MODEL_URL);
    state.phase = 'ready';
  } catch (e) {
    state.phase = 'ready';
    setStatus(
      `${(e as Error).message}. Train one with npm run demo (npm run demo:web serves runs/demo, else runs/latest), or drop a .safetensors checkpoint here (from gradmix train, or the training demo's “Save checkpoint”, which has no verdict).`,
    );
  }
})();

(window as unknown as { gradmixEmbed: unknown }).gradmixEmbed = { state, ready };
