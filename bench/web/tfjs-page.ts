// TF.js for the benchmark page: tfjs-core, its gradients (the training-step peer runs tf's
// autograd) and the WebGPU backend, bundled from the dev dependencies into a chunk of its own
// that page.ts imports only when a row has a TF.js peer (the page's first paint does not wait
// for it; ?tfjs=0 skips it). The backend asks navigator.gpu for an adapter by the same power
// preference as the engine's and gets a device of its own on it.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-webgpu';
import { TfjsPeer } from '../peer-tfjs.js';

export function startTfjsPage(power: GPUPowerPreference): Promise<TfjsPeer | string> {
  tf.env().set('WEBGPU_USE_LOW_POWER_GPU', power === 'low-power');
  return TfjsPeer.open(tf, null);
}
