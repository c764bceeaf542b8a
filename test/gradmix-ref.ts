// Float64 references shared by the LayerCAM and mixing tests: PyTorch's bilinear resize
// (align_corners=False) and the noise hash of kernels/mix.wgsl.

/** i0, i1 and the weight of i1 for output index d of an axis resized from nIn to nOut. */
export function sourceIndex(d: number, nIn: number, nOut: number): [number, number, number] {
  const src = Math.max((d + 0.5) * (nIn / nOut) - 0.5, 0);
  const i0 = Math.min(Math.floor(src), nIn - 1);
  return [i0, Math.min(i0 + 1, nIn - 1), src - i0];
}

/** F.interpolate(plane[h, w], size=(outH, outW), mode='bilinear', align_corners=False). */
export function bilinearResize(plane: ArrayLike<number>, h: number, w: number, outH: number, outW: number): Float64Array {
  const out = new Float64Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const [y0, y1, fy] = sourceIndex(y, h, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, fx] = sourceIndex(x, w, outW);
      const top = (1 - fx) * plane[y0 * w + x0] + fx * plane[y0 * w + x1];
      const bottom = (1 - fx) * plane[y1 * w + x0] + fx * plane[y1 * w + x1];
      out[y * outW + x] = (1 - fy) * top + fy * bottom;
    }
  }
  return out;
}

function lowbias32(v: number): number {
  let z = v >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  z = Math.imul(z, 0x7feb352d) >>> 0;
  z = (z ^ (z >>> 15)) >>> 0;
  z = Math.imul(z, 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** The noise fill of pixel (y, x) of image b in an H x W batch. */
export function noiseAt(seed: number, b: number, y: number, x: number, H: number, W: number): number {
  return (lowbias32((seed ^ lowbias32((b * H + y) * W + x)) >>> 0) >>> 8) / 16777216;
}
