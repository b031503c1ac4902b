/**
 * The regions explain measures, in the network's input pixels: the user's (or the paper's two
 * left corners) and the fish's band, from the samples' frames through the centre crop.
 */
import { frameRectToInput, type InputGeometry } from "../../lib/explain/shares.js";
import type { Rect } from "../../lib/image/ops.js";
import { describeRegion, regionRect, type Region } from "../../lib/image/regions.js";
import type { ExplainParams } from "./index.js";

export interface NamedRect {
  name: string;
  /** In input pixels; null when the network does not see any of it. */
  rect: Rect | null;
}

/** The paper's correction, at any frame size: the two left corner squares of 85/256 of the side. */
export function defaultRegions(frame: number): Region[] {
  const size = Math.floor((85 * frame) / 256);
  return [{ corner: "top-left", size }, { corner: "bottom-left", size }];
}

export function inputRegions(params: ExplainParams, g: InputGeometry): { list: Region[]; regions: NamedRect[] } {
  const list = params.regions ?? defaultRegions(g.frame);
  return {
    list,
    regions: list.map((r) => {
      const inFrame = regionRect(r, g.frame, g.frame);
      return { name: describeRegion(r), rect: inFrame ? frameRectToInput(inFrame, g) : null };
    }),
  };
}

export function fishBand(params: ExplainParams, g: InputGeometry): NamedRect {
  const top = Math.round(params.fish_band.top * g.frame);
  return { name: "fish band", rect: frameRectToInput({ top, left: 0, width: g.frame, height: Math.round(params.fish_band.bottom * g.frame) - top }, g) };
}
