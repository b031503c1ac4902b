/**
 * A worker thread that explains one part of the samples (part.ts) and sends the result back,
 * its arrays transferred rather than copied.
 */
import { parentPort, workerData } from "node:worker_threads";
import { explainPart, type PartRequest, type WorkerMessage } from "./part.js";

const port = parentPort!;
const send = (m: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const result = await explainPart(workerData as PartRequest, (done) => send({ type: "progress", done }), new AbortController().signal, (message) => send({ type: "log", message }));
const buffers = new Set<ArrayBuffer>([result.backgrounds.buffer as ArrayBuffer]);
for (const streams of Object.values(result.maps)) {
  for (const m of Object.values(streams)) for (const a of [m.stored, m.normalised, m.frames, m.evidence, m.total]) buffers.add(a.buffer as ArrayBuffer);
}
send({ type: "done", result }, [...buffers]);
