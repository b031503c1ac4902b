/**
 * A 5x7 bitmap font for labels on debug images: digits, upper-case letters and a few signs.
 * Each glyph is seven rows, top first; each row one base-32 digit (0-9a-v) whose five bits are
 * its pixels, the most significant bit on the left.
 */
const GLYPHS: Record<string, string> = {
  "0": "ehjlphe", "1": "4c4444e", "2": "eh1248v", "3": "v2421he", "4": "26aiv22", "5": "vgu11he", "6": "68guhhe", "7": "v124888",
  "8": "ehhehhe", "9": "ehhf12c", A: "ehhvhhh", B: "uhhuhhu", C: "ehggghe", D: "sihhhis", E: "vgguggv", F: "vgguggg",
  G: "ehgnhhf", H: "hhhvhhh", I: "e44444e", J: "72222ic", K: "hikokih", L: "ggggggv", M: "hrllhhh", N: "hhpljhh",
  O: "ehhhhhe", P: "uhhuggg", Q: "ehhhlid", R: "uhhukih", S: "fgge11u", T: "v444444", U: "hhhhhhe", V: "hhhhha4",
  W: "hhhllla", X: "hha4ahh", Y: "hhha444", Z: "v1248gv", " ": "0000000", "-": "000v000", ".": "00000cc", ",": "0000c48",
  ":": "0cc0cc0", "/": "01248g0", "_": "000000v", "=": "00v0v00", "+": "044v440", "%": "op248j3", "(": "2488842", ")": "8422248",
  "?": "eh12404", "#": "aavavaa",
};

export const TEXT_HEIGHT = 7;
const ADVANCE = 6;

/**
 * Draws `text` into a grey image `width` wide, top-left at (x, y), in `value`; stops at
 * `maxWidth` pixels. Unknown characters draw as '?'; lower case as upper case.
 */
export function drawText(img: Uint8Array, width: number, x: number, y: number, text: string, value = 255, maxWidth = Infinity): void {
  const height = img.length / width;
  let cx = x;
  for (const ch of text.toUpperCase()) {
    if (cx - x + 5 > maxWidth) break;
    const rows = GLYPHS[ch] ?? GLYPHS["?"]!;
    for (let r = 0; r < TEXT_HEIGHT; r++) {
      const bits = parseInt(rows[r]!, 32);
      for (let c = 0; c < 5; c++) {
        const px = cx + c;
        const py = y + r;
        if (bits & (16 >> c) && px >= 0 && py >= 0 && px < width && py < height) img[py * width + px] = value;
      }
    }
    cx += ADVANCE;
  }
}

/** Width in pixels of `text` as drawText draws it. */
export function textWidth(text: string): number {
  return text.length === 0 ? 0 : [...text].length * ADVANCE - 1;
}
