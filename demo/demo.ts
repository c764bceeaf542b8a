// The training demo (demo/index.html): GradMix on mnist-mini split 0 in the page, one step per
// task so the page stays responsive, with a live loss curve, the attribution panels of a few fixed
// digits, and at the end the ROC curve of a kNN evaluation on a subsample.
// URL parameters preset the controls (method, width, batch, epochs, maxTrain) and set what has no
// control: lr, seed, digits (panel rows), evalTrain (train images per class for kNN), evalTest
// (known and unknown test images each), attention (the URL of a torchvision ResNet .safetensors:
// offers Attentive CutMix, whose frozen network it is; optional, as ResNet18 weighs 45 MB).
// window.gradmixDemo is the handle tests and users script.
import {
  augmentPreset,
  attentionModelFromBytes,
  encodeCheckpoint,
  evaluateSubsample,
  fetchMnistMini,
  initBrowserGpu,
  loadPanels,
  loadPlots,
  onGpuLost,
  openSet,
  releasePooledMemory,
  drawPanels,
  subsetDataset,
  TrainingSession,
  webGpuProblem,
  type AttentionModel,
  type Dataset,
  type OpenSetData,
  type TrainOptions,
} from '../src/browser.js';
import { drawLossChart } from './loss-chart.js';

const params = new URLSearchParams(location.search);
const numberParam = (name: string, fallback: number) => (params.has(name) ? Number(params.get(name)) : fallback);
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const CONTROLS = ['method', 'width', 'batch', 'epochs', 'maxTrain'] as const;
const PANEL_DIGITS = numberParam('digits', 6);
const EVAL = { trainPerClass: numberParam('evalTrain', 100), testKnown: numberParam('evalTest', 600), testUnknown: numberParam('evalTest', 600), seed: 0 };
const PANEL_INTERVAL_MS = 1500;
const augment = augmentPreset('mnist');
/** Attentive CutMix's network, loaded from ?attention=<url> at start. */
const ATTENTION_URL = params.get('attention');
let attentionModel: AttentionModel | undefined;

type Phase = 'loading' | 'ready' | 'training' | 'stopped' | 'done' | 'evaluating' | 'error';

/** What the page shows, readable by scripts (window.gradmixDemo.state). */
const state = {
  phase: 'loading' as Phase,
  adapter: '',
  kernelVariant: '',
  step: 0,
  totalSteps: 0,
  losses: [] as number[],
  panelUpdates: 0,
  auroc: null as number | null,
  error: null as string | null,
};

let data: OpenSetData | null = null;
let fixed: Dataset | null = null;
let session: TrainingSession | null = null;
let sessionKey = '';
let running = false;
/** A training loop is in flight: still true after Stop until its current step has ended. */
let busy = false;
/** A checkpoint is being read back for saving: nothing may change the weights or free the session. */
let saving = false;
let lastPanels = 0;

function config(): Partial<TrainOptions> {
  const value = (id: string) => byId<HTMLSelectElement>(id).value;
  return {
    method: value('method') as TrainOptions['method'],
    width: Number(value('width')),
    batchSize: Number(value('batch')),
    epochs: Number(value('epochs')),
    maxTrain: Number(value('maxTrain')),
    ...(params.has('lr') ? { lr: Number(params.get('lr')) } : {}),
    seed: numberParam('seed', 0),
    ...(value('method') === 'attentive-cutmix' ? { attentionModel: ATTENTION_URL ?? undefined } : {}),
  };
}

function presetControls(): void {
  for (const id of CONTROLS) {
    const v = params.get(id);
    if (v === null) continue;
    const select = byId<HTMLSelectElement>(id);
    if (!Array.from(select.options).some((o) => o.value === v)) select.add(new Option(v, v));
    select.value = v;
  }
}

function setStatus(text: string): void {
  byId('status').textContent = text;
}

/**
 * Shows an error. `fatal` (no WebGPU, no data, a lost GPU) leaves the page without controls; a
 * run's error (a NaN loss, a failed evaluation) stops that run, and Reset or other settings go on.
 */
function fail(message: string, fatal = false): void {
  if (state.phase === 'error' && !fatal) return; // a run failing after the GPU was lost: the fatal message stays
  state.phase = fatal ? 'error' : 'stopped';
  state.error = message;
  running = false;
  showError(message);
  updateButtons();
}

/** The error line under the controls (a message the page keeps until cleared). */
function showError(message: string): void {
  const el = byId('error');
  el.textContent = message;
  el.hidden = false;
}

function clearError(): void {
  state.error = null;
  byId('error').hidden = true;
}

function updateButtons(): void {
  const ready = data !== null && state.phase !== 'error' && state.phase !== 'evaluating' && !saving;
  // Stopping: nothing may touch the session until the step in flight has ended.
  const stopping = busy && !running;
  const active = running || busy;
  const start = byId<HTMLButtonElement>('start');
  start.disabled = !ready || stopping || (!running && session?.done === true && sessionKey === JSON.stringify(config()));
  start.textContent = running ? 'Stop' : stopping ? 'Stopping…' : session && !session.done && sessionKey === JSON.stringify(config()) && session.step > 0 ? 'Resume' : 'Start';
  byId<HTMLButtonElement>('reset').disabled = !ready || active || !session;
  byId<HTMLButtonElement>('evaluate').disabled = !ready || active || !session || session.step === 0;
  byId<HTMLButtonElement>('save').disabled = !ready || active || !session || session.step === 0;
  for (const id of CONTROLS) byId<HTMLSelectElement>(id).disabled = active;
}

/** Frees the session and the GPU memory its tensors left pooled (a new one of other sizes would not reuse it). */
function disposeSession(): void {
  if (!session) return;
  session.dispose();
  session = null;
  releasePooledMemory();
}

/** A fresh session for the current settings (the old one is freed), unless they are unchanged. */
function ensureSession(): TrainingSession {
  const key = JSON.stringify(config());
  if (session && key === sessionKey) return session;
  disposeSession();
  session = new TrainingSession(data!, config(), attentionModel);
  sessionKey = key;
  Object.assign(state, { step: 0, totalSteps: session.totalSteps, losses: [], auroc: null });
  byId('roc').innerHTML = '';
  byId('metrics').textContent = '';
  drawLoss();
  return session;
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function train(): Promise<void> {
  let s: TrainingSession;
  try {
    s = ensureSession();
  } catch (e) {
    return fail((e as Error).message); // e.g. Attentive CutMix without ?attention=<url>
  }
  clearError();
  running = true;
  busy = true;
  state.phase = 'training';
  updateButtons();
  const started = performance.now();
  const startStep = s.step;
  try {
    while (running && !s.done) {
      const loss = await s.next();
      state.losses.push(loss);
      state.step = s.step;
      drawLoss();
      const perStep = (performance.now() - started) / (s.step - startStep);
      setStatus(
        `Epoch ${Math.min(s.epoch + 1, s.options.epochs)}/${s.options.epochs}, step ${s.step}/${s.totalSteps}: loss ${loss.toFixed(4)} (${perStep.toFixed(0)} ms/step, batch ${s.options.batchSize})`,
      );
      if (s.step === 1 || s.done || performance.now() - lastPanels > PANEL_INTERVAL_MS) {
        // The panels only illustrate: a failure there (a chunk that no longer loads) is shown, and training goes on.
        await refreshPanels(s).catch((e: unknown) => {
          showError(`The attribution panels failed: ${(e as Error).message}`);
          lastPanels = performance.now();
        });
      }
      await nextTask(); // let the page paint and handle input between steps
    }
  } catch (e) {
    busy = false; // before fail() draws the buttons: the loop is over
    fail(`Training stopped: ${(e as Error).message}`);
    return;
  } finally {
    running = false;
    busy = false;
  }
  if ((state.phase as Phase) === 'error') return updateButtons(); // the GPU was lost between steps (onGpuLost)
  if (s.done) {
    state.phase = 'done';
    await evaluate();
  } else {
    state.phase = 'stopped';
    setStatus(`Stopped at step ${s.step}/${s.totalSteps}. Resume, evaluate now, or change the settings and start again.`);
  }
  updateButtons();
}

async function refreshPanels(s: TrainingSession): Promise<void> {
  const f = fixed!;
  const { attributionPanels, renderPanels } = await loadPanels(); // a chunk, fetched once
  const p = await attributionPanels(s.model, s.options, augment, f.images, [f.n, f.channels, f.height, f.width], { attention: s.stepper.attention, labels: f.labels });
  const caption = { epoch: Math.min(s.epoch + 1, s.options.epochs), method: s.options.method };
  drawPanels(byId<HTMLCanvasElement>('panels'), renderPanels(p, augment.mean, augment.std, 3, f.n, caption));
  state.panelUpdates++;
  lastPanels = performance.now();
}

function drawLoss(): void {
  drawLossChart(byId<HTMLCanvasElement>('loss'), state.losses, state.totalSteps);
}

async function evaluate(): Promise<void> {
  if (!session || !data) return;
  state.phase = 'evaluating';
  updateButtons();
  setStatus('Evaluating: kNN open-set scores on a subsample…');
  try {
    const e = await evaluateSubsample(session.model, data, augment, EVAL, session.options.k);
    state.auroc = e.metrics.auroc;
    const { rocSvg } = await loadPlots(); // a chunk, fetched once
    byId('roc').innerHTML = rocSvg(e.scores, e.isKnown, e.metrics.auroc, `ROC, split 0, after ${session.step} steps`);
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    byId('metrics').textContent = `AUROC ${pct(e.metrics.auroc)} · TNR at 95% TPR ${pct(e.metrics.tnr95)} · closed-set accuracy ${pct(e.metrics.closedAcc)}`;
    byId('evalNote').textContent =
      `kNN (k = ${session.options.k}) on a subsample, for speed: ${e.counts.train} training images (${EVAL.trainPerClass} per known class) as references, ` +
      `${e.counts.testKnown} known and ${e.counts.testUnknown} unknown test images. The CLI (gradmix train) scores the whole split.`;
    setStatus(`Evaluated after ${session.step} steps: AUROC ${pct(e.metrics.auroc)}.`);
    state.phase = session.done ? 'done' : 'stopped';
  } catch (err) {
    fail(`Evaluation failed: ${(err as Error).message}`);
  }
  updateButtons();
}

async function saveCheckpoint(): Promise<void> {
  if (!session || saving || running || busy) return;
  // The weights are read back tensor by tensor: Start, Reset and Save wait until that is done, so
  // the file is one step's weights and the session is not freed under the reads.
  saving = true;
  updateButtons();
  try {
    const bytes = await encodeCheckpoint({ model: session.model.stateDict(), metadata: { config: JSON.stringify(session.options), step: String(session.step) } });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    a.download = `gradmix-${session.options.method}-w${session.options.width}-step${session.step}.safetensors`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (e) {
    fail(`Saving the checkpoint failed: ${(e as Error).message}`);
  } finally {
    saving = false;
    updateButtons();
  }
}

/** `count` training digits, taking the classes in turn (the first of each class, then the second, ...). */
function fixedDigits(train: Dataset, count: number): Dataset {
  const byClass = new Map<number, number[]>();
  train.labels.forEach((label, i) => (byClass.get(label) ?? byClass.set(label, []).get(label)!).push(i));
  const lists = [...byClass.entries()].sort(([a], [b]) => a - b).map(([, list]) => list);
  const picked: number[] = [];
  for (let k = 0; picked.length < Math.min(count, train.n); k++) {
    const i = lists[k % lists.length][Math.floor(k / lists.length)];
    if (i !== undefined) picked.push(i);
  }
  return subsetDataset(train, picked);
}

/** Fetches Attentive CutMix's torchvision ResNet and offers the method. */
async function loadAttention(url: string): Promise<void> {
  setStatus(`Loading the attention model ${url}…`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`?attention=${url}: HTTP ${response.status} ${response.statusText}`);
  attentionModel = await attentionModelFromBytes(new Uint8Array(await response.arrayBuffer()), url);
  const method = byId<HTMLSelectElement>('method');
  if (![...method.options].some((o) => o.value === 'attentive-cutmix')) method.add(new Option('Attentive CutMix', 'attentive-cutmix'));
}

const ready = (async () => {
  presetControls();
  drawLoss();
  const problem = webGpuProblem();
  if (problem) return fail(problem, true);
  try {
    const g = await initBrowserGpu();
    state.adapter = g.describe();
    state.kernelVariant = g.kernelVariant;
    byId('gpu').textContent = `WebGPU adapter: ${state.adapter} (kernel variant: ${state.kernelVariant}).`;
  } catch (e) {
    byId('gpu').textContent = 'No WebGPU.';
    return fail((e as Error).message, true);
  }
  onGpuLost((reason) => fail(`The GPU was reset (${reason}): reload the page to go on (a saved checkpoint keeps the weights).`, true));
  try {
    setStatus('Loading the 10,000 mnist-mini digits…');
    data = openSet('mnist-mini', 0, await fetchMnistMini(new URL('data/mnist/', location.href).href));
    fixed = fixedDigits(data.train, PANEL_DIGITS);
  } catch (e) {
    return fail((e as Error).message, true);
  }
  // Attentive CutMix is optional: without its network the other methods stay.
  if (ATTENTION_URL) await loadAttention(ATTENTION_URL).catch((e: unknown) => fail(`Attentive CutMix is not offered: ${(e as Error).message}`));
  if (state.phase === 'error') return; // the GPU was lost while the digits loaded
  state.phase = 'ready';
  setStatus(`Ready: ${data.train.n} training images of the 6 known classes; ${data.testKnown.n} known and ${data.testUnknown.n} unknown test images.`);
  updateButtons();
})();

byId('start').addEventListener('click', (e) => {
  if (e.detail > 1) return; // the second click of a double click would stop what the first started
  if (running)
    running = false; // the loop stops after the current step (the buttons wait for it)
  else if (!busy) void train();
  updateButtons();
});
byId('reset').addEventListener('click', () => {
  disposeSession();
  sessionKey = '';
  clearError();
  Object.assign(state, { step: 0, totalSteps: 0, losses: [], auroc: null, phase: 'ready' });
  byId('roc').innerHTML = '';
  byId('metrics').textContent = '';
  drawLoss();
  setStatus('Reset.');
  updateButtons();
});
byId('evaluate').addEventListener('click', () => void evaluate());
byId('save').addEventListener('click', () => void saveCheckpoint());
for (const id of CONTROLS) byId(id).addEventListener('change', updateButtons);

/** For tests and the console. */
(window as unknown as { gradmixDemo: unknown }).gradmixDemo = {
  state,
  ready,
  /** The loss of the first step of a fresh run with these options (nothing shown or kept). */
  async firstStepLoss(options: Partial<TrainOptions>): Promise<number> {
    if (running || busy) throw new Error('stop training first');
    const s = new TrainingSession(data!, options, attentionModel);
    try {
      return await s.next();
    } finally {
      s.dispose();
    }
  },
  /** The current session's first step recomputed with its current parameters (see TrainingSession.replayLoss). */
  replayFirstStep: (): Promise<number> => {
    if (!session || running || busy) throw new Error('no stopped session to replay');
    return session.replayLoss(0);
  },
};
