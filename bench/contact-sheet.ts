/**
 * Contact sheet of the synthesize stage's default recordings: per bout type a rest frame, three
 * frames of the bout and the extraction's crop (scaled x2), labelled with recording, class, type
 * and frame.
 * Writes docs/img/synthesize-contact-sheet.png (or the path given as the first argument).
 *
 *   npm run build && node dist/bench/contact-sheet.js [out.png]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { renderRecording } from "../lib/synth/recording.js";
import { recordingParams, withDefaults } from "../lib/synth/params.js";
import { contactSheet, encodeGrayPng, type Tile } from "../lib/video/png.js";
import { cropImage, minMaxNormalize } from "../lib/image/ops.js";

function scaled(src: Uint8Array, rows: number, cols: number, s: number): Uint8Array {
  const out = new Uint8Array(rows * cols * s * s);
  for (let y = 0; y < rows * s; y++) {
    const row = Math.floor(y / s) * cols;
    for (let x = 0; x < cols * s; x++) out[y * cols * s + x] = src[row + Math.floor(x / s)]!;
  }
  return out;
}

/**
 * One row per bout type (slow swim and routine turn: spontaneous; J-turn and approach swim:
 * prey), each from the first default recording of that class that has one: a rest frame, three
 * frames of the bout, and the crop the extraction takes (bladder's end 5 px from its left
 * edge), min-max normalised, at the middle frame.
 */
export function synthesizeContactSheet(scale = 2): { pixels: Uint8Array; width: number; height: number } {
  const params = withDefaults({});
  const types = [["spontaneous", "slow_swim"], ["spontaneous", "routine_turn"], ["prey", "j_turn"], ["prey", "approach_swim"]] as const;
  const tiles: Tile[] = [];
  for (const [cls, type] of types) {
    for (let i = 0; i < 200; i++) {
      const p = recordingParams(params, i);
      if (p.class !== cls) continue;
      const r = renderRecording(p);
      const bout = r.truth.bouts.find((b) => b.type === type);
      if (!bout) continue;
      const { rows, cols } = r.video;
      const span = bout.offset - bout.onset;
      const frames = [bout.onset - 10, bout.onset + Math.round(span * 0.12), bout.onset + Math.round(span * 0.3), bout.onset + Math.round(span * 0.55)];
      const name = `rec${String(i).padStart(3, "0")}`;
      frames.forEach((f, k) => {
        const px = r.video.frames.subarray(f * rows * cols, (f + 1) * rows * cols);
        const what = k === 0 ? "rest" : type.replace("_", " ");
        tiles.push({ pixels: scaled(px, rows, cols, scale), width: cols * scale, height: rows * scale, label: `${name} ${cls} ${what} f${frames[k]}` });
      });
      const f = frames[2]!;
      const [bx, by] = r.truth.fish.bladder_end_px;
      const c = p.crop_px;
      const rect = { top: Math.round(by) - c / 2, left: Math.round(bx) - p.crop_offset_px, width: c, height: c };
      const crop = minMaxNormalize(cropImage(r.video.frames.subarray(f * rows * cols, (f + 1) * rows * cols), cols, rect));
      tiles.push({ pixels: scaled(crop, c, c, scale), width: c * scale, height: c * scale, label: `crop ${c}x${c} f${f}` });
      break;
    }
  }
  return contactSheet(tiles, 5, { gap: 3 });
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const out = process.argv[2] ?? "docs/img/synthesize-contact-sheet.png";
  const sheet = synthesizeContactSheet();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, encodeGrayPng(sheet.pixels, sheet.width, sheet.height));
  console.log(`wrote ${out} (${sheet.width} x ${sheet.height})`);
}
