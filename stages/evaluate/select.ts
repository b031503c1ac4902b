/** Which grid point to evaluate: the best validation accuracy, then the lowest validation loss, then the first. */
import type { ItemIn } from "../../engine/stage-api.js";

export interface GridRow {
  id: string;
  lr: number | null;
  weight_decay: number | null;
  train_accuracy: number | null;
  validation_accuracy: number | null;
  validation_loss: number | null;
  backend: string | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function gridRows(models: ItemIn[]): GridRow[] {
  return models.map((m) => ({
    id: m.id, lr: num(m.meta["lr"]), weight_decay: num(m.meta["weight_decay"]), train_accuracy: num(m.meta["train_accuracy"]),
    validation_accuracy: num(m.meta["validation_accuracy"]), validation_loss: num(m.meta["validation_loss"]),
    backend: typeof m.meta["backend"] === "string" ? m.meta["backend"] : null,
  }));
}

export function selectBest(rows: GridRow[]): { index: number; reason: string } {
  if (rows.length === 0) throw new Error("evaluate: the models collection is empty: feed train.models");
  const scored = rows.map((r, index) => ({ r, index })).filter(({ r }) => r.validation_accuracy !== null);
  if (scored.length === 0) return { index: 0, reason: "no model has a validation accuracy (no validation samples): the first grid point" };
  scored.sort((a, b) => b.r.validation_accuracy! - a.r.validation_accuracy! || (a.r.validation_loss ?? Infinity) - (b.r.validation_loss ?? Infinity) || a.index - b.index);
  const best = scored[0]!;
  const ties = scored.filter(({ r }) => r.validation_accuracy === best.r.validation_accuracy).length;
  return {
    index: best.index,
    reason: `best validation accuracy of ${rows.length} grid point(s)${ties > 1 ? `, lowest validation loss of the ${ties} tied` : ""}`,
  };
}
