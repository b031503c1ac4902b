/**
 * Regions of a frame as a user writes them (a corner and a size, or an explicit rectangle), turned into
 * rectangles of a frame, clipped to it: `mask` blanks them, `explain` measures the relevance in them.
 */
import type { Rect } from "./ops.js";

export type Corner = "top-left" | "bottom-left" | "top-right" | "bottom-right";
export type Size = number | { width: number; height: number };
export type Region = { corner: Corner; size: Size } | Rect;

/** The paper's correction: the upper-left and lower-left 85 x 85 squares of a 256 x 256 crop. */
export const PAPER_REGIONS: Region[] = [{ corner: "top-left", size: 85 }, { corner: "bottom-left", size: 85 }];

const px = (description: string, minimum = 0) => ({ type: "integer", minimum, description }) as const;

export const REGION_SCHEMA = {
  oneOf: [
    {
      type: "object",
      additionalProperties: false,
      required: ["corner", "size"],
      properties: {
        corner: { type: "string", enum: ["top-left", "bottom-left", "top-right", "bottom-right"], description: "the frame's corner the rectangle sits in" },
        size: {
          oneOf: [
            px("side of a square (pixels of the event's frames)", 1),
            { type: "object", additionalProperties: false, required: ["width", "height"], properties: { width: px("pixels", 1), height: px("pixels", 1) } },
          ],
          description: "a square's side, or { width, height }, in pixels of the event's frames (the crop)",
        },
      },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["top", "left", "width", "height"],
      properties: { top: px("first row"), left: px("first column"), width: px("pixels", 1), height: px("pixels", 1) },
    },
  ],
} as const;

/** The region as a rectangle of a rows x cols frame, clipped to it; null when nothing is left. */
export function regionRect(region: Region, rows: number, cols: number): Rect | null {
  let rect: Rect;
  if ("corner" in region) {
    const width = typeof region.size === "number" ? region.size : region.size.width;
    const height = typeof region.size === "number" ? region.size : region.size.height;
    const top = region.corner.startsWith("top") ? 0 : rows - height;
    const left = region.corner.endsWith("left") ? 0 : cols - width;
    rect = { top, left, width, height };
  } else {
    rect = { ...region };
  }
  const top = Math.max(0, rect.top);
  const left = Math.max(0, rect.left);
  const bottom = Math.min(rows, rect.top + rect.height);
  const right = Math.min(cols, rect.left + rect.width);
  return bottom > top && right > left ? { top, left, width: right - left, height: bottom - top } : null;
}

export function describeRegion(region: Region): string {
  if ("corner" in region) return `${region.corner} ${typeof region.size === "number" ? `${region.size}x${region.size}` : `${region.size.width}x${region.size.height}`}`;
  return `{top ${region.top}, left ${region.left}, ${region.width}x${region.height}}`;
}
