// The demo's loss chart: each step's loss and its moving average (0.9) over the run's steps,
// on a 2D canvas, so the curve's length shows how much of the run is done.
export function drawLossChart(canvas: HTMLCanvasElement, losses: readonly number[], totalSteps: number): void {
  const ctx = canvas.getContext('2d')!;
  const { width: W, height: H } = canvas;
  const m = { left: 52, right: 14, top: 14, bottom: 30 };
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  ctx.strokeStyle = '#333';
  ctx.strokeRect(m.left, m.top, W - m.left - m.right, H - m.top - m.bottom);
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText('step', m.left + (W - m.left - m.right) / 2, H - 6);
  if (losses.length === 0) {
    ctx.fillText('the loss of each step appears here', W / 2, H / 2);
    return;
  }
  const steps = Math.max(totalSteps, losses.length, 2);
  let lo = Math.min(...losses);
  let hi = Math.max(...losses);
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x = (i: number) => m.left + (i / (steps - 1)) * (W - m.left - m.right);
  const y = (v: number) => m.top + ((hi - v) / (hi - lo)) * (H - m.top - m.bottom);
  ctx.textAlign = 'right';
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    ctx.fillText(v.toFixed(2), m.left - 5, y(v) + 4);
  }
  ctx.textAlign = 'center';
  ctx.fillText('1', x(0), H - 16);
  ctx.fillText(String(steps), x(steps - 1), H - 16);
  const line = (values: readonly number[], colour: string, width: number) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    if (values.length === 1) ctx.arc(x(0), y(values[0]), 2, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.lineWidth = 1;
  };
  line(losses, '#9ec5e8', 1);
  let ema = losses[0];
  line(
    losses.map((v) => (ema = 0.9 * ema + 0.1 * v)),
    '#1f77b4',
    2,
  );
  ctx.textAlign = 'right';
  ctx.fillStyle = '#9ec5e8';
  ctx.fillText('each step', W - m.right - 8, m.top + 14);
  ctx.fillStyle = '#1f77b4';
  ctx.fillText('moving average', W - m.right - 8, m.top + 28);
}
