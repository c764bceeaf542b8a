// A torchvision ResNet from a .safetensors file (Node; pages decode bytes and call
// torchvisionResNetFromTensors themselves).
import type { TorchvisionResNet } from '../nn/torchvision-resnet.js';
import { readSafetensors } from './files.js';
import { torchvisionResNetFromTensors } from './torchvision.js';

/** Reads a torchvision ResNet state dict saved as .safetensors; errors name the file. */
export async function loadTorchvisionResNet(path: string): Promise<TorchvisionResNet> {
  return torchvisionResNetFromTensors((await readSafetensors(path)).tensors, path);
}
