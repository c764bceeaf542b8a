// The 15 corruptions of Hendrycks & Dietterich 2019 ("Benchmarking Neural Network Robustness to
// Common Corruptions and Perturbations") and their published severity tables: `cifar` from
// make_cifar_c.py (CIFAR-10-C, 32x32) and `tiny` from make_tinyimagenet_c.py (Tiny-ImageNet-C,
// 64x64), both in github.com/hendrycks/robustness, ImageNet-C/create_c/. Values are copied as
// published (sizes that the scripts tie to 32 or 64 pixels are generalised in ./plans.ts).

export const CORRUPTIONS = [
  'gaussian_noise',
  'shot_noise',
  'impulse_noise',
  'defocus_blur',
  'glass_blur',
  'motion_blur',
  'zoom_blur',
  'snow',
  'frost',
  'fog',
  'brightness',
  'contrast',
  'elastic_transform',
  'pixelate',
  'jpeg_compression',
] as const;
export type CorruptionName = (typeof CORRUPTIONS)[number];

/** The names the paper and the scripts print (`d['Gaussian Noise'] = gaussian_noise`, ...). */
export const CORRUPTION_LABELS: Readonly<Record<CorruptionName, string>> = {
  gaussian_noise: 'Gaussian Noise',
  shot_noise: 'Shot Noise',
  impulse_noise: 'Impulse Noise',
  defocus_blur: 'Defocus Blur',
  glass_blur: 'Glass Blur',
  motion_blur: 'Motion Blur',
  zoom_blur: 'Zoom Blur',
  snow: 'Snow',
  frost: 'Frost',
  fog: 'Fog',
  brightness: 'Brightness',
  contrast: 'Contrast',
  elastic_transform: 'Elastic',
  pixelate: 'Pixelate',
  jpeg_compression: 'JPEG',
};

export const SEVERITIES = [1, 2, 3, 4, 5] as const;

/** Which published table: CIFAR-10-C's (32x32 images) or Tiny-ImageNet-C's (64x64). */
export type ParamTable = 'cifar' | 'tiny';
export const PARAM_TABLES: readonly ParamTable[] = ['cifar', 'tiny'];

/** One severity's parameters, as the scripts' tuple `c` (a number where the script has a scalar). */
type Row = number | readonly number[];
type Table = Readonly<Record<CorruptionName, readonly Row[]>>;

const CIFAR: Table = {
  gaussian_noise: [0.04, 0.06, 0.08, 0.09, 0.1],
  shot_noise: [500, 250, 100, 75, 50],
  impulse_noise: [0.01, 0.02, 0.03, 0.05, 0.07],
  // (radius, alias_blur)
  defocus_blur: [
    [0.3, 0.4],
    [0.4, 0.5],
    [0.5, 0.6],
    [1, 0.2],
    [1.5, 0.1],
  ],
  // (sigma, max_delta, iterations)
  glass_blur: [
    [0.05, 1, 1],
    [0.25, 1, 1],
    [0.4, 1, 1],
    [0.25, 1, 2],
    [0.4, 1, 2],
  ],
  // (radius, sigma) of ImageMagick's motion blur
  motion_blur: [
    [6, 1],
    [6, 1.5],
    [6, 2],
    [8, 2],
    [9, 2.5],
  ],
  // zoom factors np.arange(1, stop, 0.01): the stops
  zoom_blur: [1.06, 1.11, 1.16, 1.21, 1.26],
  // (loc, scale, zoom, threshold, blur radius, blur sigma, blend)
  snow: [
    [0.1, 0.2, 1, 0.6, 8, 3, 0.95],
    [0.1, 0.2, 1, 0.5, 10, 4, 0.9],
    [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9],
    [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85],
    [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8],
  ],
  // (image weight, frost weight)
  frost: [
    [1, 0.2],
    [1, 0.3],
    [0.9, 0.4],
    [0.85, 0.4],
    [0.75, 0.45],
  ],
  // (fog amount, wibble decay)
  fog: [
    [0.2, 3],
    [0.5, 3],
    [0.75, 2.5],
    [1, 2],
    [1.5, 1.75],
  ],
  brightness: [0.05, 0.1, 0.15, 0.2, 0.3],
  contrast: [0.75, 0.5, 0.4, 0.3, 0.15],
  // (alpha, sigma, affine jitter) as fractions of the image size (the script's IMSIZE * c)
  elastic_transform: [
    [0, 0, 0.08],
    [0.05, 0.2, 0.07],
    [0.08, 0.06, 0.06],
    [0.1, 0.04, 0.05],
    [0.1, 0.03, 0.03],
  ],
  // resize factor
  pixelate: [0.95, 0.9, 0.85, 0.75, 0.65],
  // JPEG quality
  jpeg_compression: [80, 65, 58, 50, 40],
};

const TINY: Table = {
  gaussian_noise: [0.04, 0.08, 0.12, 0.15, 0.18],
  shot_noise: [250, 100, 50, 30, 15],
  impulse_noise: [0.01, 0.02, 0.05, 0.08, 0.14],
  defocus_blur: [
    [0.5, 0.6],
    [1, 0.1],
    [1.5, 0.1],
    [2.5, 0.01],
    [3, 0.1],
  ],
  glass_blur: [
    [0.1, 1, 1],
    [0.5, 1, 1],
    [0.6, 1, 2],
    [0.7, 2, 1],
    [0.9, 2, 2],
  ],
  motion_blur: [
    [10, 1],
    [10, 1.5],
    [10, 2],
    [10, 2.5],
    [12, 3],
  ],
  zoom_blur: [1.06, 1.11, 1.16, 1.21, 1.26],
  snow: [
    [0.1, 0.2, 1, 0.6, 8, 3, 0.8],
    [0.1, 0.2, 1, 0.5, 10, 4, 0.8],
    [0.15, 0.3, 1.75, 0.55, 10, 4, 0.7],
    [0.25, 0.3, 2.25, 0.6, 12, 6, 0.65],
    [0.3, 0.3, 1.25, 0.65, 14, 12, 0.6],
  ],
  frost: [
    [1, 0.3],
    [0.9, 0.4],
    [0.8, 0.45],
    [0.75, 0.5],
    [0.7, 0.55],
  ],
  fog: [
    [0.4, 3],
    [0.7, 3],
    [1, 2.5],
    [1.5, 2],
    [2, 1.75],
  ],
  brightness: [0.1, 0.2, 0.3, 0.4, 0.5],
  contrast: [0.4, 0.3, 0.2, 0.1, 0.05],
  elastic_transform: [
    [0, 0, 0.08],
    [0.05, 0.3, 0.06],
    [0.1, 0.08, 0.06],
    [0.1, 0.03, 0.03],
    [0.16, 0.03, 0.02],
  ],
  pixelate: [0.9, 0.8, 0.7, 0.6, 0.5],
  jpeg_compression: [65, 58, 50, 40, 25],
};

export const SEVERITY_TABLES: Readonly<Record<ParamTable, Table>> = { cifar: CIFAR, tiny: TINY };

/** The plasma fractal's side in the scripts (fog): 32 for CIFAR-10-C, 64 for Tiny-ImageNet-C. */
export const FOG_MAPSIZE: Readonly<Record<ParamTable, number>> = { cifar: 32, tiny: 64 };

export function isCorruption(name: string): name is CorruptionName {
  return (CORRUPTIONS as readonly string[]).includes(name);
}

export function checkCorruption(name: string): CorruptionName {
  if (!isCorruption(name)) throw new Error(`unknown corruption '${name}'; expected one of ${CORRUPTIONS.join(', ')}`);
  return name;
}

export function checkSeverity(severity: number): number {
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) throw new Error(`corruption severity must be an integer 1..5, got ${severity}`);
  return severity;
}

/** The published parameter tuple of a corruption at a severity (1..5). */
export function severityParams(name: CorruptionName, severity: number, table: ParamTable = 'cifar'): Row {
  checkSeverity(severity);
  if (!(table in SEVERITY_TABLES)) throw new Error(`unknown parameter table '${table}'; expected cifar or tiny`);
  return SEVERITY_TABLES[table][name][severity - 1];
}

/** The table whose image size is nearest: `tiny` from 48 pixels up, else `cifar`. */
export function tableForSize(height: number, width: number): ParamTable {
  return Math.max(height, width) >= 48 ? 'tiny' : 'cifar';
}
