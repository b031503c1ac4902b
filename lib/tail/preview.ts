/**
 * A picture of fitted tail points over frames: grey frames side by side, enlarged by `scale`
 * (nearest neighbour) so that points 2-3 px apart stay distinct, the points in red, the base in green.
 */
export interface PreviewFrame {
  pixels: Uint8Array;
  /** (x, y) pairs in frame pixels. */
  xy: ArrayLike<number>;
}

export function tailPreview(frames: PreviewFrame[], rows: number, cols: number, scale = 2, gap = 4): { pixels: Uint8Array; width: number; height: number } {
  const tileW = cols * scale;
  const tileH = rows * scale;
  const width = gap + frames.length * (tileW + gap);
  const height = tileH + 2 * gap;
  const rgb = new Uint8Array(width * height * 3).fill(40);
  const put = (x: number, y: number, r: number, g: number, b: number): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = 3 * (y * width + x);
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  };
  frames.forEach((frame, t) => {
    const x0 = gap + t * (tileW + gap);
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const v = frame.pixels[Math.floor(y / scale) * cols + Math.floor(x / scale)]!;
        put(x0 + x, gap + y, v, v, v);
      }
    }
    for (let k = 0; 2 * k + 1 < frame.xy.length; k++) {
      // Pixel centres are at integers: pixel c covers [c - 0.5, c + 0.5), i.e. [scale*c, scale*(c+1)) here.
      const x = x0 + Math.floor((frame.xy[2 * k]! + 0.5) * scale);
      const y = gap + Math.floor((frame.xy[2 * k + 1]! + 0.5) * scale);
      const [r, g, b] = k === 0 ? [0, 220, 0] : [255, 30, 30];
      put(x, y, r, g, b);
      put(x - 1, y, r, g, b);
      put(x, y - 1, r, g, b);
      put(x - 1, y - 1, r, g, b);
    }
  });
  return { pixels: rgb, width, height };
}
